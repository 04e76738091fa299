"""Evaluation of entity resolution against the simulated city's truth (evaluation code only).

The resolver never imports this module; only this module (and tests) read `data/truth/`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def true_identities(truth: Path, source_ids: list[str]) -> pd.DataFrame:
    """(source_id, row) -> the true enterprise behind each delivered row."""
    frames = []
    for source_id in source_ids:
        path = Path(truth) / "identities" / f"{source_id}.parquet"
        if path.exists():
            ident = pd.read_parquet(path, columns=["row", "entity_uid"])
            frames.append(ident.assign(source_id=source_id))
    return pd.concat(frames, ignore_index=True)


def linkage_quality(crosswalk: pd.DataFrame, entities: pd.DataFrame, truth: Path) -> dict:
    """Precision and recall of the crosswalk, overall and by method.

    An entity is the true enterprise whose credit code it carries. Precision: linked records
    whose entity is their true enterprise, over linked records. Recall: correctly linked records
    over every accepted record (unmatched ones count against it).
    """
    truth_entities = pd.read_parquet(
        Path(truth) / "entities.parquet", columns=["entity_uid", "credit_code"]
    )
    uid_of_entity = (
        entities[["entity_id", "credit_code"]]
        .merge(truth_entities, on="credit_code", how="left")
        .set_index("entity_id")["entity_uid"]
    )
    ident = true_identities(truth, sorted(crosswalk["source_id"].unique()))
    frame = crosswalk.merge(ident, on=["source_id", "row"], how="left")
    frame["linked_uid"] = frame["entity_id"].map(uid_of_entity)
    linked = frame["entity_id"].notna()
    correct = linked & (frame["linked_uid"] == frame["entity_uid"])
    by_method = {}
    for method, group in frame.groupby("method"):
        ok = (group["linked_uid"] == group["entity_uid"]) & group["entity_id"].notna()
        by_method[str(method)] = {
            "records": len(group),
            "precision": float(ok.sum() / max(group["entity_id"].notna().sum(), 1)),
        }
    return {
        "records": len(frame),
        "linked": int(linked.sum()),
        "unmatched": int((~linked).sum()),
        "precision": round(float(correct.sum() / max(linked.sum(), 1)), 6),
        "recall": round(float(correct.sum() / max(len(frame), 1)), 6),
        "by_method": by_method,
    }
