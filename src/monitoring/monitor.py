"""The `monitor` stage: every check on one screening, and the verdict."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskdraw.training.reference import attribute_columns
from riskdraw.training.scoring import ScoringModel

from .checks import (
    Check,
    MonitorError,
    families_report,
    model_report,
    new_categories,
    performance_frame,
    performance_report,
    tolerances,
)
from .deliveries import delivery_checks
from .verdict import verdict

log = logging.getLogger(__name__)


@dataclass
class Monitored:
    """What a monitor run found.

    Attributes:
        summary: the verdict (`verdict.verdict`) with what was compared.
        checks: every check.
        snapshots: report name -> its Evidently snapshot (model, families, performance).
        constant: attributes left out of the family drift (the same value everywhere).
    """

    summary: dict
    checks: list[Check]
    snapshots: dict = field(default_factory=dict)
    constant: list[str] = field(default_factory=list)


def monitor(
    model: ScoringModel,
    reference: pd.DataFrame,
    snapshot: pd.DataFrame,
    scores: pd.DataFrame,
    families: dict[str, str],
    bounds: dict[str, tuple[float, float]],
    settings,
    deliveries: tuple[pd.DataFrame, pd.DataFrame, dict, dict] | None = None,
    results: pd.DataFrame | None = None,
    validated: pd.DataFrame | None = None,
    about: dict | None = None,
) -> Monitored:
    """Check one screening against the version's reference.

    Args:
        model: the version that scored the screening.
        reference: its reference (`reference.reference_frame`).
        snapshot: the profile's screening snapshot (every attribute).
        scores: the screening's scores (`entity_id`, `probability`, `risk_class`, ...).
        families: attribute -> family.
        bounds: attribute -> the values it can take.
        settings: the `monitor` section.
        deliveries: (summary, codes, ingest's quality report, source -> department) for the
            source checks (`deliveries.delivery_tables`), or None.
        results: the round's recorded results (`entity_id`, `problem`, `risk_class`), or None.
        validated: the profile's snapshots of the rounds the version was calibrated and judged
            on: how far they moved is tolerated (`checks.tolerances`).
        about: what the snapshots' metadata name (model version, screening date).
    """
    factors = model.factors
    keep = ["entity_id", "probability", "risk_class"]
    if scores["entity_id"].duplicated().any() or snapshot["entity_id"].duplicated().any():
        raise MonitorError("monitor: an enterprise twice in the scores or the snapshot")
    current = snapshot.merge(scores[keep], on="entity_id", how="inner")
    if len(current) != len(snapshot) or len(current) != len(scores):
        raise MonitorError(
            f"the scores ({len(scores):,} enterprises) are not of this screening snapshot "
            f"({len(snapshot):,}): {len(current):,} in both; screen this profile again"
        )
    checks: list[Check] = []
    if deliveries is not None:
        checks += delivery_checks(*deliveries, settings.deliveries)
    attrs = attribute_columns(snapshot)
    tolerance = tolerances(reference, validated, [a for a in attrs if a in reference.columns])
    start = time.perf_counter()
    model_snap, found = model_report(reference, current, factors, bounds, settings, tolerance,
                                     about)  # fmt: skip
    checks += found
    log.info("model report: %d checks in %.1f s", len(found), time.perf_counter() - start)
    checks.append(new_categories(reference, current, attrs))
    start = time.perf_counter()
    n = settings.drift.family_sample_rows
    sample = current.sample(n, random_state=settings.seed) if len(current) > n else current
    family_snap, found, constant = families_report(
        reference, sample, {a: families[a] for a in attrs if a in families}, settings,
        tolerance, about,
    )  # fmt: skip
    checks += found
    log.info("families report: %d families in %.1f s", len(found), time.perf_counter() - start)
    snapshots = {"model": model_snap, "families": family_snap}
    if results is not None and len(results):
        frame = performance_frame(results, scores)
        snapshots["performance"], found = performance_report(frame, settings, about)
        checks += found
    summary = verdict(checks) | {
        "compared": {
            "reference_enterprises": len(reference),
            "screened_enterprises": len(current),
            "family_sample": len(sample),
            "results": 0 if results is None else len(results),
            "validated_rounds": [] if validated is None else sorted(
                str(pd.Timestamp(d).date()) for d in validated["as_of_date"].unique()),
            "sources": None if deliveries is None else int(deliveries[0]["source_id"].nunique())
            if len(deliveries[0]) else 0,
        },
    }  # fmt: skip
    return Monitored(summary, checks, snapshots, constant)


def validated_snapshots(
    profile: Path, dates: list[str], columns: list[str], rows: int, seed: int
) -> pd.DataFrame | None:
    """The profile's snapshots of the rounds a version was calibrated and judged on: only
    `columns` (the reference's), and at most `rows` enterprises of each round, drawn at random
    (a round is a whole city); None when the version names no round. Each date's file of the
    profile (`as_of=YYYY-MM-DD.parquet`) is read whole when it is there: a filter over the
    whole profile reads every file's values to test them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not dates:
        return None
    rng = np.random.default_rng(seed)
    wanted = list(dict.fromkeys([*columns, "snapshot", "as_of_date"]))
    parts = []
    for date in dates:
        when = pd.Timestamp(date)
        file = Path(profile) / f"as_of={when.date()}.parquet"
        table = pq.read_table(file if file.is_file() else profile, columns=wanted)
        when_ = pa.scalar(when.to_pydatetime(), table["as_of_date"].type)
        mask = pc.and_(pc.equal(table["snapshot"], "round"), pc.equal(table["as_of_date"], when_))
        keep = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if len(keep) > rows:
            keep = np.sort(rng.choice(keep, rows, replace=False))
        table = table.take(pa.array(keep))  # one copy of the rows kept, not of the round
        parts.append(table.select([c for c in wanted if c in columns]).to_pandas())
    return pd.concat(parts, ignore_index=True)
