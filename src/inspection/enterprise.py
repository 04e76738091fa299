"""One enterprise's file, as a supervisor reads it: who it is, what the profile holds about it in
plain words, its score, class and reasons, and its latest inspections.

Nothing personal is in it: the registry columns screening carries (name, credit code, district,
industry, type), the profile's attributes, and the inspections' date, task, result and unit (not
the inspectors).
"""

from __future__ import annotations

import pandas as pd

from riskdraw.domain.inspections import PROBLEM_RESULTS
from riskdraw.features.profile import catalogued
from riskdraw.training.scoring import ScoringModel, as_text, score

from .screening import ENTITY_COLUMNS, explanation

HISTORY_COLUMNS = ("occurred_on", "task", "result", "authority")
"""What an enterprise's file shows of each inspection (never who inspected)."""


def enterprise_file(
    model: ScoringModel,
    row: pd.DataFrame,
    record: dict,
    inspections: pd.DataFrame | None,
    reasons: int,
    history: int,
) -> dict:
    """Everything the service and the page show about one enterprise.

    Args:
        model: the version that scores it.
        row: its screening row of the profile (one row: entity_id, as_of_date, attributes).
        record: its registry record (entity_id and `ENTITY_COLUMNS` where known).
        inspections: its inspection events (resolve's `inspection` kind), or None.
        reasons: how many reasons its score gives.
        history: how many of the latest inspections to list.

    Returns:
        entity (the registry columns), as_of_date, score (probability, rank_score, risk_class,
        reasons in English and Chinese), factors (every factor: its words, value and
        contribution, largest first), on_record (the profile's attributes that hold something),
        inspections (the latest, newest first: date, task, result, whether it found a problem)
        and inspections_total.
    """
    scored = score(model, row, reasons).iloc[0]
    detail = explanation(model, row)
    facts = on_record(row.iloc[0])
    past = _history(inspections, history)
    return {
        "entity": {k: _plain(record.get(k)) for k in ("entity_id", *ENTITY_COLUMNS)},
        "as_of_date": str(pd.Timestamp(row["as_of_date"].iloc[0]).date()),
        "score": {
            "probability": float(scored["probability"]),
            "rank_score": float(scored["rank_score"]),
            "risk_class": str(scored["risk_class"]),
            "reasons": list(scored["reasons"]),
            "reasons_zh": list(scored["reasons_zh"]),
        },
        "factors": [
            {
                "factor": r.factor,
                "en": r.description,
                "zh": r.description_zh,
                "value": None if pd.isna(r.value) else float(r.value),
                "contribution": float(r.contribution),
            }
            for r in detail.itertuples()
        ],
        "on_record": facts,
        "attributes_on_record": len(facts),
        "inspections": past,
        "inspections_total": 0 if inspections is None else len(inspections),
    }


def on_record(row: pd.Series) -> list[dict]:
    """What one profile row holds about its enterprise, in plain words: every catalogued
    attribute whose value is something on record (not its value for "no record", not unknown),
    by family, with its value as a person writes it.

    Returns:
        Records of name, family, en, zh, value and text (`description: value`).
    """
    out = []
    for name, attribute in catalogued(list(row.index)).items():
        value = row.get(name)
        if value is None or pd.isna(value) or value == attribute.empty:
            continue
        out.append({"name": name, "family": attribute.family, "en": attribute.en,
                    "zh": attribute.zh, "value": float(value),
                    "text": as_text(attribute.en, float(value))})  # fmt: skip
    return sorted(out, key=lambda r: (r["family"], r["name"]))


def _history(inspections: pd.DataFrame | None, latest: int) -> list[dict]:
    if inspections is None or inspections.empty:
        return []
    shown = inspections.sort_values("occurred_on", ascending=False).head(latest)
    return [
        {
            "date": str(pd.Timestamp(r["occurred_on"]).date()),
            **{c: _plain(r.get(c)) for c in HISTORY_COLUMNS[1:]},
            "problem": r.get("result") in PROBLEM_RESULTS,
        }
        for r in shown.to_dict(orient="records")
    ]


def _plain(value):
    """A JSON value: None for missing, text otherwise."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
