"""Enterprise credit-risk classes of SAMR's classified supervision (国市监信发〔2022〕6号).

The opinion sorts enterprises into four classes, A lowest risk to D highest; inspection
frequency and sampling ratio of the double-random draw rise with the class.
"""

from __future__ import annotations

from types import MappingProxyType

RISK_CLASSES = ("A", "B", "C", "D")
"""Risk classes from lowest (A) to highest (D) risk."""

RISK_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}
)
"""Chinese label of each class (official wording: 信用风险低/一般/较高/高)."""

RISK_LABELS_EN: MappingProxyType[str, str] = MappingProxyType(
    {"A": "low", "B": "general", "C": "higher", "D": "high"}
)
"""English label of each class."""


def risk_rank(risk_class: str) -> int:
    """0 for A up to 3 for D, for ordering and comparing classes.

    Raises:
        ValueError: not one of ``RISK_CLASSES``.
    """
    if risk_class not in RISK_CLASSES:
        raise ValueError(f"unknown risk class {risk_class!r}; expected one of {RISK_CLASSES}")
    return RISK_CLASSES.index(risk_class)
