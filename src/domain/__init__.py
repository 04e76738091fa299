"""Domain primitives shared by the simulator and the ingestion code.

Identifiers (``codes``: credit codes, organisation codes, registration numbers, resident IDs),
enterprise names (``names``), Foshan's districts (``regions``), industry classes and licence
domains (``industries``), credit-risk classes (``risk``) and record date formats (``dates``).
Depends only on the standard library, numpy and pandas; import the submodule you need.
"""
