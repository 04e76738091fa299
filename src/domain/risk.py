"""Enterprise credit-risk classes of SAMR's classified supervision (国市监信发〔2022〕6号).

The opinion sorts enterprises into four classes, A lowest risk to D highest; inspection
frequency and sampling ratio of the double-random draw rise with the class.
"""

from __future__ import annotations

from itertools import pairwise
from types import MappingProxyType

import numpy as np

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


def risk_class(probability, cutoffs: dict[str, float]):
    """The class of each probability: D from `cutoffs["D"]` up, C from `cutoffs["C"]`, B from
    `cutoffs["B"]`, A below.

    Raises:
        ValueError: the cut-offs do not rise from B to D, or lie outside [0, 1].
    """
    bounds = [cutoffs[c] for c in RISK_CLASSES[1:]]
    if not all(0 <= b <= 1 for b in bounds) or any(a >= b for a, b in pairwise(bounds)):
        raise ValueError(f"risk-class cut-offs must rise within [0, 1] from B to D: {cutoffs}")
    at = np.searchsorted(bounds, probability, side="right")
    return np.asarray(RISK_CLASSES, dtype=object)[at]
