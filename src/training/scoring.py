"""The one scoring function: profile rows in; probability, ranking score, risk class and, on
request, the reasons out.

Every place that turns a profile into scores calls `score`: `riskdraw evaluate`, the MLflow
pyfunc a registered version serves, and the screening stage, the service and the notebooks to
come. What a score means travels with the model: a `ScoringModel` holds the fitted risk model,
the class cut-offs (the calibrated probability at which each class begins) and the wording of
each factor (from the attribute catalogue), and it is what `train` registers. A champion
therefore carries its own classes and its own reasons.

Reasons are each row's largest contributions to the model's log-odds (LightGBM's TreeSHAP,
`pred_contrib`), in plain words: the factor's description and the enterprise's value, e.g.
"number of complaints and reports in the last 365 days: 3".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES, risk_class

KEYS = ("entity_id", "as_of_date")
"""The profile's key columns, passed through to the scores where present."""
SCORES = ("probability", "rank_score", "risk_class")
"""The columns every score has."""
REASONS = ("reasons", "reasons_zh", "reason_factors", "reason_contributions")
"""The columns `score(..., reasons=k)` adds: lists of up to k per row, largest first."""


@dataclass(frozen=True)
class Wording:
    """What a factor is, in the regulator's words."""

    en: str
    zh: str = ""


@dataclass
class ScoringModel:
    """What a registered model version is: the fitted model and what its scores mean.

    Attributes:
        model: a fitted `RiskModel` (`raw_score` for ranking, `calibrate` for probabilities,
            `contributions` for reasons).
        cutoffs: class -> the calibrated probability at which it begins (B, C, D; A below B).
        wording: factor -> its `Wording`; a factor without one is described by its name.
    """

    model: object
    cutoffs: dict[str, float]
    wording: dict[str, Wording] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.cutoffs) != set(RISK_CLASSES[1:]):
            raise ValueError(f"cut-offs are needed for classes {RISK_CLASSES[1:]}: {self.cutoffs}")
        risk_class(np.array([0.5]), self.cutoffs)  # rising cut-offs within [0, 1], or an error

    @property
    def factors(self) -> list[str]:
        return list(self.model.factors)

    def describe(self) -> dict:
        """The scoring model as JSON: factors with their wording, and the class cut-offs."""
        return {
            "factors": [
                {"name": f, "en": self.words(f).en, "zh": self.words(f).zh} for f in self.factors
            ],
            "cutoffs": dict(self.cutoffs),
        }

    def words(self, factor: str) -> Wording:
        return self.wording.get(factor) or Wording(en=factor, zh=factor)


def score(model: ScoringModel, profile: pd.DataFrame, reasons: int = 0) -> pd.DataFrame:
    """Score profile rows.

    Args:
        model: the scoring model (a registered version, loaded).
        profile: rows with at least the model's factors; `entity_id` and `as_of_date` are
            passed through where present. A missing factor is an error, never a zero.
        reasons: how many reasons to give per row (0: none).

    Returns:
        One row per profile row, in order: the keys present, `probability` (calibrated),
        `rank_score` (the finer, uncalibrated ranking), `risk_class` (A-D by the model's own
        cut-offs), and with `reasons` the columns of `REASONS`.
    """
    rank = model.model.raw_score(profile)  # the learner runs once: probability calibrates it
    probability = model.model.calibrate(rank)
    out = profile[[k for k in KEYS if k in profile.columns]].reset_index(drop=True)
    out = out.assign(
        probability=probability, rank_score=rank, risk_class=risk_class(probability, model.cutoffs)
    )
    if reasons:
        out = out.join(explain(model, profile, reasons))
    return out


def explain(model: ScoringModel, profile: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Each row's `top` largest contributions that raise its risk, in plain words.

    Returns:
        The columns of `REASONS`, one row per profile row: the English and Chinese texts, the
        factors and their contributions to the log-odds (largest first; only those above 0).
    """
    contributions = model.model.contributions(profile)
    factors = model.factors
    values = profile[factors].to_numpy(dtype=float)
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    rows = np.arange(len(order))[:, None]
    picked = contributions[rows, order]
    shown = values[rows, order]
    raising = picked > 0
    words = [model.words(f) for f in factors]
    said: dict[tuple[int, float], tuple[str, str]] = {}  # few distinct (factor, value) pairs

    def text(j: int, value: float) -> tuple[str, str]:
        key = (j, value)
        if key not in said:
            said[key] = (_text(words[j].en, value), _text(words[j].zh, value))
        return said[key]

    texts, texts_zh, names, amounts = [], [], [], []
    for row, up, vals, amount in zip(order.tolist(), raising.tolist(), shown.tolist(),
                                     picked.tolist(), strict=True):  # fmt: skip
        keep = [k for k in range(len(row)) if up[k]]
        pairs = [text(row[k], vals[k]) for k in keep]
        texts.append([p[0] for p in pairs])
        texts_zh.append([p[1] for p in pairs])
        names.append([factors[row[k]] for k in keep])
        amounts.append([round(amount[k], 4) for k in keep])
    return pd.DataFrame(
        {
            "reasons": texts,
            "reasons_zh": texts_zh,
            "reason_factors": names,
            "reason_contributions": amounts,
        }
    )


def _text(description: str, value: float) -> str:
    """`description: value`, the value as a person writes it."""
    if np.isnan(value):
        shown = "none on record"
    elif float(value).is_integer():
        shown = f"{int(value):,}"
    else:
        shown = f"{value:,.2f}"
    return f"{description}: {shown}"
