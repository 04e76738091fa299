"""The reference a model version is monitored against: the whole city as of its latest training
round (every open enterprise of that snapshot, not only the inspected), with the scores the
version gives it. `train` stores it with the version (an MLflow artifact of its run), so that
every later screening is compared with the city the model learnt from, whatever has been
rebuilt since."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scoring import ScoringModel, score

REFERENCE_ARTIFACT = "monitoring/reference.parquet"
KEYS = ("entity_id", "as_of_date", "snapshot", "task", "inspected", "problem")
"""Profile columns that are not attributes (labels and keys): never compared."""
SCORE_COLUMNS = ("probability", "risk_class")


def normed_wasserstein(reference: pd.DataFrame, current: pd.DataFrame, columns) -> pd.Series:
    """Per column, the Wasserstein distance between the two sides' values over the reference's
    standard deviation (at least 0.001), empty values left out: Evidently's `wasserstein`
    drift score, computed at once for many columns (NaN where a side has no value)."""
    from scipy.stats import wasserstein_distance

    out = {}
    for c in columns:
        a = reference[c].dropna().to_numpy(dtype=float)
        b = current[c].dropna().to_numpy(dtype=float)
        out[c] = (wasserstein_distance(a, b) / max(float(np.std(a)), 0.001)
                  if len(a) and len(b) else np.nan)  # fmt: skip
    return pd.Series(out, dtype=float)


def attribute_columns(frame: pd.DataFrame) -> list[str]:
    """The profile attributes a frame holds (numeric columns that are not keys or labels)."""
    skip = set(KEYS) | set(SCORE_COLUMNS) | {"rank_score", "inclusion_probability"}
    return [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]


def reference_frame(
    snapshot: pd.DataFrame, model: ScoringModel, rows: int, seed: int
) -> pd.DataFrame:
    """A model version's reference.

    Args:
        snapshot: one profile snapshot (every enterprise as of one training round).
        model: the version, to score it.
        rows: at most this many enterprises, drawn at random (all if fewer).
        seed: the draw's seed.

    Returns:
        The snapshot's `as_of_date`, the attributes (float32), `probability` and `risk_class`
        of each enterprise kept; no enterprise id (a reference describes the city, not anyone
        in it).
    """
    if snapshot.empty:
        raise ValueError("a reference needs at least one enterprise")
    if len(snapshot) > rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(snapshot), rows, replace=False))
        snapshot = snapshot.iloc[keep]
    scored = score(model, snapshot)
    attrs = attribute_columns(snapshot)
    return (
        snapshot[attrs]
        .astype("float32")
        .reset_index(drop=True)
        .assign(
            as_of_date=snapshot["as_of_date"].to_numpy(),
            probability=scored["probability"].to_numpy(),
            risk_class=scored["risk_class"].astype(str).to_numpy(),
        )
    )
