"""Real cities whose records reach riskdraw through an adapter of their own.

`CITIES` names, for each `profile.city` value, the adapter module; each has
`write_profile(settings, out) -> report`, reading the city's section of the params.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

CITIES = {"chicago": "riskdraw.cities.chicago"}
"""profile.city -> the city's adapter module."""


def adapter(city: str) -> ModuleType:
    """The adapter module of `city` (imported on demand).

    Raises:
        KeyError: no adapter for that city.
    """
    if city not in CITIES:
        raise KeyError(f"no adapter for city {city!r}; known: {sorted(CITIES)}")
    return import_module(CITIES[city])
