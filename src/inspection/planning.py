"""The plan of a round: who is visited outside the draw, who may not be drawn, every open
enterprise's inclusion probability, the draw, and what the plan is expected to find.

- **Outside the draw**: an enterprise with a record of a kind params name (a complaint, a
  mandatory check) known in the days before the screening date is visited for sure, on top of
  the draw: the law requires those visits whatever the draw, so the capacity is the draw's.
- **Cool-off**: an enterprise inspected in the last `cool_off_days` is not drawn (inclusion
  probability 0), unless it is visited outside the draw.
- **The draw**: every other open enterprise gets an inclusion probability by the policy
  (`allocation`), and the draw (`draw`) takes each with exactly that probability.

Every enterprise's status and probability is kept (`inclusion`), so every estimate downstream
is weighted by the inverse of the probability it was drawn with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES
from riskdraw.training.metrics import compliant_reduction

from .allocation import PlanError, by_policy, frontier, resolve_ratios
from .draw import draw

DRAWN, NOT_DRAWN, COOL_OFF = "drawn", "not drawn", "cool-off"
OUTSIDE = "outside draw: "
"""Statuses in `inclusion`: drawn, not drawn, not drawable (cool-off), `outside draw: <kind>`."""
INCLUSION_COLUMNS = ["entity_id", "risk_class", "probability", "rank_score", "status",
                     "inclusion_probability"]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """A drawn plan.

    Attributes:
        inclusion: every open enterprise (`INCLUSION_COLUMNS`), in entity_id order.
        visits: the enterprises visited (drawn or outside the draw), riskiest first, with the
            scores' columns.
        report: capacity, policy, per class visits and expected hit rate, the frontier (as
            records) and the totals.
        frontier: the frontier table.
    """

    inclusion: pd.DataFrame
    visits: pd.DataFrame
    report: dict
    frontier: pd.DataFrame


def recent(events: Path, kind: str, before: pd.Timestamp, days: int, column: str) -> set[str]:
    """The enterprises with a record of `kind` whose `column` date lies in the `days` before
    `before` (none if the kind was not delivered)."""
    path = Path(events) / f"{kind}.parquet"
    if not path.exists():
        return set()
    import pyarrow.parquet as pq

    start = before - pd.Timedelta(days=days)
    table = pq.read_table(
        path,
        columns=["entity_id", column],
        filters=[(column, ">=", start.to_pydatetime()), (column, "<", before.to_pydatetime())],
    )
    return set(table.column("entity_id").to_pylist())


def statuses(entity_ids: pd.Series, outside: dict[str, set[str]], cooled: set[str]) -> pd.Series:
    """Each enterprise's status before the draw: `outside draw: <kind>` (the first kind that
    brings it, in params order), `cool-off`, or `not drawn` (in the draw, not yet drawn)."""
    status = pd.Series(NOT_DRAWN, index=entity_ids.index, dtype=object)
    status[entity_ids.isin(cooled).to_numpy()] = COOL_OFF
    for kind, ids in reversed(list(outside.items())):
        status[entity_ids.isin(ids).to_numpy()] = OUTSIDE + kind
    return status


def allocate(scores: pd.DataFrame, status: pd.Series, settings, capacity: int):
    """The inclusion probability of every enterprise (1 outside the draw, 0 cooled off, the
    policy's in the draw), and the policy's allocation of the draw's `capacity`.

    Raises:
        PlanError: the policy cannot fit the capacity (a floor too high, a cap too low).
    """
    outside = status.str.startswith(OUTSIDE).to_numpy()
    in_draw = (status == NOT_DRAWN).to_numpy()
    pool = scores[in_draw]
    allocation = by_policy(settings.policy, pool["rank_score"].to_numpy(dtype=float),
                           pool["risk_class"].to_numpy(), capacity, settings)  # fmt: skip
    pi = np.zeros(len(scores))
    pi[outside] = 1.0
    pi[in_draw] = allocation.inclusion
    return pi, allocation


PLAN_COLUMNS = ("entity_id", "as_of_date", "probability", "rank_score", "risk_class")
"""The columns of the scores a plan is drawn from (its visits carry whatever else they hold)."""


def make_plan(
    scores: pd.DataFrame,
    settings,
    seed: str,
    outside: dict[str, set[str]],
    cooled: set[str],
) -> Plan:
    """Draw a plan from the screening's scores.

    Args:
        scores: the screening (`screening.screen`): one row per open enterprise.
        settings: the `plan` section (`PlanParams`).
        seed: the draw's seed (`draw.derive_seed`).
        outside: kind -> the enterprises its records bring outside the draw.
        cooled: the enterprises inspected too recently to be drawn.

    Raises:
        PlanError: duplicate enterprises, an unknown class, or a plan that cannot fit.
    """
    twice = scores["entity_id"].duplicated()
    if twice.any():
        shown = scores.loc[twice, "entity_id"].head(5).tolist()
        raise PlanError(f"plan: the scores hold enterprises twice: {shown}")
    unknown = sorted({str(c) for c in scores["risk_class"]} - set(RISK_CLASSES))
    if unknown:
        raise PlanError(f"plan: the scores hold unknown risk class {unknown}; classes: A-D")
    scores = scores.sort_values("entity_id", ignore_index=True)
    capacity = settings.capacity.visits(len(scores))
    status = statuses(scores["entity_id"], outside, cooled)
    pi, allocation = allocate(scores, status, settings, capacity)
    in_draw = (status == NOT_DRAWN).to_numpy()
    taken = np.zeros(len(scores), dtype=bool)
    taken[in_draw] = draw(scores.loc[in_draw, "entity_id"].to_numpy(), pi[in_draw], seed)
    status[taken] = DRAWN
    inclusion = scores[["entity_id", "risk_class", "probability", "rank_score"]].assign(
        status=status.to_numpy(), inclusion_probability=pi
    )
    visited = taken | status.str.startswith(OUTSIDE).to_numpy()
    visits = (
        scores[visited]
        .assign(status=status[visited].to_numpy(), inclusion_probability=pi[visited])
        .sort_values(["rank_score", "entity_id"], ascending=[False, True], ignore_index=True)
    )
    table = plan_frontier(scores, in_draw, settings, capacity)
    report = plan_report(inclusion, capacity, settings, allocation.scale, table)
    return Plan(inclusion, visits, report, table)


def plan_frontier(scores: pd.DataFrame, in_draw: np.ndarray, settings, left: int) -> pd.DataFrame:
    """The frontier of the draw: the optimal plan at each of `plan.frontier_floors` (and at the
    plan's own floor, under the optimal policy)."""
    pool = scores[in_draw]
    p = pool["probability"].to_numpy(dtype=float)
    floors = set(settings.frontier_floors) | ({settings.floor} if settings.policy == "optimal"
                                               else set())  # fmt: skip
    return frontier(
        pool["rank_score"].to_numpy(dtype=float), p, left, sorted(floors),
        settings.cap, float(scores["probability"].mean()),
        (pool["risk_class"] == "A").to_numpy(),
    )  # fmt: skip


def plan_report(
    inclusion: pd.DataFrame, capacity: int, settings, scale: float, table: pd.DataFrame
) -> dict:
    """The draw's expectations by the model's probabilities (the enterprises in the draw):
    visits, problems and hit rate per class and in all, the compliant reduction against a
    uniform draw of the same enterprises, the realised draw; the visits outside it beside."""
    status = inclusion["status"]
    drawable = status.isin([DRAWN, NOT_DRAWN]).to_numpy()
    frame = inclusion[drawable]
    pi = frame["inclusion_probability"].to_numpy()
    p = frame["probability"].to_numpy(dtype=float)
    drawn = (frame["status"] == DRAWN).to_numpy()
    random_rate = float(p.mean()) if len(p) else float("nan")
    by_class = {}
    for c in RISK_CLASSES:
        here = (frame["risk_class"] == c).to_numpy()
        visits = float(pi[here].sum())
        by_class[c] = {
            "enterprises": int(here.sum()),
            "expected_visits": visits,
            "drawn": int((here & drawn).sum()),
            "inclusion_probability_mean": float(pi[here].mean()) if here.any() else None,
            "expected_hit_rate": float(pi[here] @ p[here] / visits) if visits else None,
        }
    hit = float(pi @ p / pi.sum()) if pi.sum() else float("nan")
    outside = status.str.startswith(OUTSIDE)
    low = (frame["risk_class"] == "A").to_numpy()
    return {
        "capacity": capacity,
        "policy": settings.policy,
        "ratios": resolve_ratios(settings.ratios) if settings.policy == "ratios" else None,
        "ratios_scaled_by": scale if settings.policy == "ratios" else None,
        "floor": settings.floor if settings.policy == "optimal" else None,
        "cap": settings.cap if settings.policy == "optimal" else None,
        "enterprises": len(inclusion),
        "in_draw": int(drawable.sum()),
        "drawn": int(drawn.sum()),
        "visits": int(drawn.sum() + outside.sum()),
        "expected_visits": float(pi.sum()),
        "visits_outside_draw": {
            s.removeprefix(OUTSIDE): int(n)
            for s, n in inclusion.loc[outside, "status"].value_counts().items()
        },
        "cooled_off": int((status == COOL_OFF).sum()),
        "expected_hit_rate": hit,
        "expected_hit_rate_random": random_rate,
        "expected_compliant_reduction": compliant_reduction(hit, random_rate),
        "low_risk_visited_share": float(pi[low].mean()) if low.any() else None,
        "by_class": by_class,
        "frontier": table.to_dict(orient="records"),
    }


def screening_date(scores: pd.DataFrame) -> pd.Timestamp:
    """The screening date of a scores table (its one `as_of_date`)."""
    dates = pd.to_datetime(scores["as_of_date"]).unique()
    if len(dates) != 1:
        raise PlanError(f"plan: the scores hold {len(dates)} as-of dates, not one screening date")
    return pd.Timestamp(dates[0])
