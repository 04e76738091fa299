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
from riskdraw.errors import DATA, UserError

KEYS = ("entity_id", "as_of_date")
"""The profile's key columns, passed through to the scores where present."""
SCORES = ("probability", "rank_score", "risk_class")
"""The columns every score has."""
REASONS = ("reasons", "reasons_zh", "reason_factors", "reason_contributions")
"""The columns `score(..., reasons=k)` adds: lists of up to k per row, largest first."""


class RowError(UserError):
    """Rows that cannot be scored as they are: each problem names the row, the field and the
    rule (exit status 3; the service answers 422)."""

    exit_code = DATA

    def __init__(self, problems: list[str], rows: int) -> None:
        shown = problems[:20]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__(f"{len(problems)} problems in {rows:,} rows{more}: " + "; ".join(shown))
        self.problems = problems


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
    if profile.empty:  # nothing to score (the learner refuses an empty table)
        columns = [k for k in KEYS if k in profile.columns] + list(SCORES)
        return pd.DataFrame(columns=columns + (list(REASONS) if reasons else []))
    rank = model.model.raw_score(profile)  # the learner runs once: probability calibrates it
    probability = model.model.calibrate(rank)
    out = profile[[k for k in KEYS if k in profile.columns]].reset_index(drop=True)
    out = out.assign(
        probability=probability, rank_score=rank, risk_class=risk_class(probability, model.cutoffs)
    )
    if reasons:
        out = out.join(explain(model, profile, reasons))
    return out


def check_rows(
    model: ScoringModel,
    rows: pd.DataFrame,
    bounds: dict[str, tuple[float, float]],
    passed: tuple[str, ...] = KEYS,
) -> pd.DataFrame:
    """Rows as `score` takes them from outside the pipeline (a file, a request), checked.

    The rules: every factor of the model is a column (a missing factor is never filled in: an
    empty cell or null means "none on record", as in the profile); no column beyond the factors
    and `passed`; every value a finite number (or empty) within the factor's `bounds`.

    Args:
        model: the version that will score them.
        rows: the rows as delivered (any dtypes).
        bounds: factor -> (lowest, highest) value (`features.profile.attribute_bounds`); a
            factor without bounds is only checked finite.
        passed: columns passed through unscored (the keys).

    Returns:
        The rows with the factors as floats (the passed columns as they came).

    Raises:
        RowError: naming, for each problem, the row (counted from 0), the field and the rule.
    """
    factors = model.factors
    problems = [
        f"field {f!r}: missing (a factor of the model: send null, or an empty CSV cell, for "
        "none on record)"
        for f in factors
        if f not in rows.columns
    ]
    problems += [
        f"field {c!r}: not a factor of the model (its factors: {', '.join(factors)})"
        for c in rows.columns
        if c not in factors and c not in passed
    ]
    if problems:
        raise RowError(problems, len(rows))
    checked = {}
    for f in factors:
        raw = rows[f]
        if pd.api.types.is_bool_dtype(raw):
            problems.append(f"field {f!r}: true/false, not a number")
            continue
        if pd.api.types.is_numeric_dtype(raw):
            values = raw.astype(float)
        else:  # text, as a CSV's mixed column or JSON gives it: empty is none on record
            values = pd.to_numeric(raw, errors="coerce").astype(float)
            bad = values.isna() & raw.notna() & raw.astype(str).str.strip().ne("")
            problems += [f"row {i}, field {f!r}: {raw.iloc[i]!r} is not a number"
                         for i in np.flatnonzero(bad.to_numpy())[:5]]  # fmt: skip
        low, high = bounds.get(f, (-np.inf, np.inf))
        v = values.to_numpy()
        with np.errstate(invalid="ignore"):
            wrong = np.isinf(v) | (v < low) | (v > high)
        for i in np.flatnonzero(wrong)[:5]:
            rule = "is not finite" if np.isinf(v[i]) else f"is outside [{low:g}, {high:g}]"
            problems.append(f"row {i}, field {f!r}: {v[i]:g} {rule}")
        checked[f] = values.to_numpy()
    if problems:
        raise RowError(problems, len(rows))
    return rows.reset_index(drop=True).assign(**checked)


def check_records(
    model: ScoringModel,
    records: list[dict],
    bounds: dict[str, tuple[float, float]],
    passed: tuple[str, ...] = (),
) -> pd.DataFrame:
    """JSON rows (one mapping each) as `check_rows` takes them: every row must name every
    factor itself (a row that leaves one out is refused, never completed from the others).

    Raises:
        RowError: naming each row that lacks a factor or holds a field beyond the factors.
    """
    factors = set(model.factors)
    problems = []
    for i, record in enumerate(records):
        for f in sorted(factors - record.keys()):
            problems.append(f"row {i}, field {f!r}: missing (a factor of the model: send null "
                            "for none on record)")  # fmt: skip
        for f in sorted(record.keys() - factors - set(passed)):
            problems.append(f"row {i}, field {f!r}: not a factor of the model")
        if len(problems) > 50:
            break
    if problems:
        raise RowError(problems, len(records))
    return check_rows(model, pd.DataFrame.from_records(records, columns=model.factors), bounds,
                      passed)  # fmt: skip


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
            said[key] = (as_text(words[j].en, value), as_text(words[j].zh, value))
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


def as_text(description: str, value: float) -> str:
    """`description: value`, the value as a person writes it."""
    if np.isnan(value):
        shown = "none on record"
    elif float(value).is_integer():
        shown = f"{int(value):,}"
    else:
        shown = f"{value:,.2f}"
    return f"{description}: {shown}"
