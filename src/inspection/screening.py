"""Screening: every open enterprise at the screening date scored, classed and, where it matters,
explained.

The screening snapshot of the profile (one row per enterprise open at the screening date) goes
through the one scoring function with the champion: probability, ranking score and class A-D;
the reasons (the largest contributions, in plain words) for every enterprise in the classes
params name (`screen.explained_classes`: C and D, the ones a plan draws most). Any other
enterprise is explained on demand (`explanation`), and the plan adds the reasons of every
enterprise it draws.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES
from riskdraw.errors import DATA, UserError
from riskdraw.training.scoring import REASONS, ScoringModel, explain, score

ENTITY_COLUMNS = ("name", "credit_code", "district_code", "industry_code", "entity_type")
"""What the scores carry of each enterprise's registry record (none of it personal)."""


class ScreeningError(UserError):
    """A screening snapshot that cannot be scored as it is (exit status 3)."""

    exit_code = DATA


def screen(
    model: ScoringModel,
    snapshot: pd.DataFrame,
    entities: pd.DataFrame,
    reasons: int,
    explained: tuple[str, ...],
    part_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Score the screening snapshot.

    Args:
        model: the champion (its classes and wording are its own).
        snapshot: the profile's screening rows (entity_id, as_of_date, the factors).
        entities: resolve's entities (entity_id and `ENTITY_COLUMNS`).
        reasons: reasons per explained enterprise (`screen.reasons` in params).
        explained: the classes whose enterprises get reasons (`screen.explained_classes`).
        part_rows: score this many enterprises at a time (None: all at once); the result is
            the same.
        progress: called with (enterprises scored, enterprises) after each part.

    Returns:
        One row per enterprise, riskiest first: entity_id, the registry columns, as_of_date,
        probability, rank_score, risk_class and the columns of `REASONS` (empty lists outside
        the explained classes).

    Raises:
        ScreeningError: an enterprise appears twice, or the snapshot lacks a factor (a missing
            factor is never filled in).
    """
    twice = snapshot["entity_id"].duplicated()
    if twice.any():
        shown = snapshot.loc[twice, "entity_id"].head(5).tolist()
        raise ScreeningError(f"screen: the screening snapshot holds enterprises twice: {shown}")
    missing = [f for f in model.factors if f not in snapshot.columns]
    if missing:
        raise ScreeningError(
            f"screen: the screening snapshot lacks the model's factors {missing}: the profile "
            "was built without them; rebuild it with the attributes the champion was trained on"
        )
    step = part_rows or max(len(snapshot), 1)
    parts = []
    for start in range(0, len(snapshot), step):
        parts.append(_scored(model, snapshot.iloc[start : start + step], reasons, explained))
        if progress is not None:
            progress(min(start + step, len(snapshot)), len(snapshot))
    out = pd.concat(parts, ignore_index=True) if parts else _scored(model, snapshot, 0, ())
    registry = entities[["entity_id", *[c for c in ENTITY_COLUMNS if c in entities.columns]]]
    out = out.merge(registry, on="entity_id", how="left", validate="one_to_one")
    order = ["entity_id", *registry.columns[1:], "as_of_date", "probability", "rank_score",
             "risk_class", *REASONS]  # fmt: skip
    return out[order].sort_values(["rank_score", "entity_id"], ascending=[False, True],
                                  ignore_index=True)  # fmt: skip


def _scored(model: ScoringModel, part: pd.DataFrame, reasons: int, explained) -> pd.DataFrame:
    """Scores of snapshot rows, with the reasons of those in the explained classes (empty lists
    for the rest)."""
    scores = score(model, part)
    wanted = np.flatnonzero(scores["risk_class"].isin(explained).to_numpy())
    words = {}
    found = explain(model, part.iloc[wanted], reasons) if len(wanted) and reasons else None
    for column in REASONS:
        words[column] = np.empty(len(scores), dtype=object)
        words[column].fill([])  # one empty list, shared: no reasons (never mutated)
        if found is not None:
            words[column][wanted] = found[column].to_numpy()
    return scores.assign(**words)


def summary(scores: pd.DataFrame) -> dict:
    """Per class: enterprises, share, expected problems (sum of probabilities) and mean
    probability; and the city's totals."""
    by_class = {}
    for c in RISK_CLASSES:
        p = scores.loc[scores["risk_class"] == c, "probability"].to_numpy(dtype=float)
        by_class[c] = {
            "enterprises": len(p),
            "share": len(p) / len(scores) if len(scores) else 0.0,
            "expected_problems": float(p.sum()),
            "mean_probability": float(p.mean()) if len(p) else None,
        }
    return {
        "enterprises": len(scores),
        "expected_problems": float(scores["probability"].sum()),
        "expected_hit_rate_random": float(scores["probability"].mean()),
        "by_class": by_class,
        "explained": int(scores["reasons"].map(len).gt(0).sum()),
    }


def write_scores(scores: pd.DataFrame, folder: Path) -> None:
    """scores.parquet (lists as lists) and scores.csv (reasons joined by "; ", for people)."""
    from riskdraw.io import write_csv

    scores.to_parquet(folder / "scores.parquet", index=False)
    flat = scores.drop(columns=["reason_factors", "reason_contributions"]).assign(
        reasons=scores["reasons"].map("; ".join), reasons_zh=scores["reasons_zh"].map("; ".join)
    )
    write_csv(flat, folder / "scores.csv", index=False)


def explanation(model: ScoringModel, row: pd.DataFrame) -> pd.DataFrame:
    """One enterprise's score in full: every factor, its value, its wording and its
    contribution to the log-odds, largest first (negative ones lower the risk).

    Args:
        row: the enterprise's profile row (one row with the model's factors).
    """
    contributions = model.model.contributions(row)[0]
    factors = model.factors
    return pd.DataFrame(
        {
            "factor": factors,
            "description": [model.words(f).en for f in factors],
            "description_zh": [model.words(f).zh for f in factors],
            "value": row[factors].to_numpy(dtype=float)[0],
            "contribution": contributions,
        }
    ).sort_values("contribution", ascending=False, ignore_index=True)


def add_reasons(plan, model: ScoringModel, rows: pd.DataFrame, reasons: int):
    """The plan with reasons for its visits that screening left unexplained.

    Args:
        plan: a `planning.Plan`.
        model: the model version that made the scores.
        rows: the profile's screening rows of those visits (entity_id and the factors).
        reasons: reasons per enterprise (`screen.reasons` in params).
    """
    from dataclasses import replace

    found = (
        explain(model, rows.reset_index(drop=True), reasons)
        .assign(entity_id=rows["entity_id"].to_numpy())
        .set_index("entity_id")
    )
    visits = plan.visits.copy()
    for column in REASONS:
        filled = visits["entity_id"].map(found[column])
        keep = visits[column].map(len) > 0
        visits[column] = visits[column].where(keep, filled)
    return replace(plan, visits=visits)
