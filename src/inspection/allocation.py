"""How many visits each enterprise gets in expectation: the inclusion probabilities of a plan.

A plan draws every open enterprise with its own inclusion probability (none is exempt, none is
certain). Two policies set them:

- `ratios`: every enterprise of a risk class with the class's sampling ratio, as the
  provinces publish them (`PRESETS`: 1/2/10/30% for A-D; another city's 5/15/30/50%), scaled
  down as a whole if the ratios ask for more visits than the capacity holds;
- `optimal`: the probabilities that find the most problems in expectation within the
  capacity, subject to a floor for every enterprise, a cap below 1 and probabilities that
  never fall as risk rises. It is a linear programme whose solution is the greedy one: every
  enterprise at the floor, then the highest-ranked raised to the cap in ranking order until
  the capacity is spent (one enterprise, or a tie, sharing what is left).

Expected problems are the sum over enterprises of inclusion probability times the calibrated
probability of a problem; the expected hit rate is that over the expected visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES
from riskdraw.errors import DATA, UserError
from riskdraw.training.metrics import compliant_reduction

PRESETS: dict[str, dict[str, float]] = {
    "provincial-1-2-10-30": {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30},
    "city-5-15-30-50": {"A": 0.05, "B": 0.15, "C": 0.30, "D": 0.50},
}
"""The published sampling ratios per class, by name (params: `plan.ratios: <name>`)."""


class PlanError(UserError):
    """A plan that cannot be made as asked (infeasible capacity, floor or ratios): exit 3."""

    exit_code = DATA


@dataclass(frozen=True)
class Allocation:
    """Inclusion probabilities of one plan and what they are expected to find.

    Attributes:
        inclusion: per enterprise, its probability of being drawn.
        policy: `ratios` or `optimal`.
        scale: ratios only: the factor the ratios were scaled by to fit the capacity (1: none).
    """

    inclusion: np.ndarray
    policy: str
    scale: float = 1.0

    def expected(self, probability: np.ndarray) -> dict:
        """Expected visits, problems found and hit rate of the plan, for these probabilities."""
        visits = float(self.inclusion.sum())
        problems = float(self.inclusion @ probability)
        return {
            "expected_visits": visits,
            "expected_problems": problems,
            "expected_hit_rate": problems / visits if visits else float("nan"),
        }


def resolve_ratios(ratios: str | dict[str, float]) -> dict[str, float]:
    """The ratios per class: a preset's by name, or the given ones checked.

    Raises:
        PlanError: an unknown preset, a class that is not A-D, a class missing, or a ratio
            outside [0, 1].
    """
    if isinstance(ratios, str):
        if ratios not in PRESETS:
            raise PlanError(f"plan: unknown ratio preset {ratios!r}; known: {sorted(PRESETS)}")
        return dict(PRESETS[ratios])
    unknown = sorted(set(ratios) - set(RISK_CLASSES))
    if unknown:
        raise PlanError(f"plan: unknown risk class {unknown} in the ratios; classes: A-D")
    missing = [c for c in RISK_CLASSES if c not in ratios]
    if missing:
        raise PlanError(f"plan: the ratios give no ratio for class {missing}")
    for c, r in ratios.items():
        if not 0 <= r <= 1:
            raise PlanError(f"plan: the ratio of class {c} is {r}: a ratio lies in [0, 1]")
    return {c: float(ratios[c]) for c in RISK_CLASSES}


def by_ratios(classes: np.ndarray, ratios: dict[str, float], capacity: float | None) -> Allocation:
    """Each enterprise at its class's ratio; all scaled down alike if they exceed `capacity`.

    Args:
        classes: the risk class of each enterprise.
        ratios: class -> sampling ratio (`resolve_ratios`).
        capacity: the visits available (None: as many as the ratios ask).
    """
    unknown = sorted({str(c) for c in pd.unique(classes)} - set(RISK_CLASSES))
    if unknown:
        raise PlanError(f"plan: scores hold unknown risk class {unknown}; classes: A-D")
    pi = pd.Series(classes).map(ratios).to_numpy(dtype=float)
    total = pi.sum()
    scale = 1.0
    if capacity is not None and total > capacity:
        scale = capacity / total
        pi = pi * scale
    return Allocation(pi, "ratios", scale)


def optimal(rank: np.ndarray, capacity: float, floor: float, cap: float) -> Allocation:
    """The most expected problems within `capacity`: floor for all, then the cap in ranking order.

    Raising the highest-ranked first is optimal for any calibrated probability that rises with
    the ranking (the LP's greedy solution), and keeps probabilities that never fall as risk
    rises; enterprises tied in rank share alike, so ties never split.

    Args:
        rank: the ranking score of each enterprise (higher: riskier).
        capacity: the visits available (the probabilities sum to it).
        floor: every enterprise's least probability (> 0: none is exempt).
        cap: every enterprise's greatest probability (< 1: every draw stays random).

    Raises:
        PlanError: floor or cap outside (0, 1), floor above cap, or a capacity the floor
            exceeds or the cap cannot reach.
    """
    n = len(rank)
    if not 0 < floor <= cap < 1:
        raise PlanError(
            f"plan: floor {floor} and cap {cap} must satisfy 0 < floor <= cap < 1 (none exempt, "
            "none certain)"
        )
    slack = 1e-9 * max(1.0, capacity)  # sums of the same visits added in another order
    if floor * n > capacity + slack:
        raise PlanError(
            f"plan: a floor of {floor} for each of {n:,} open enterprises asks {floor * n:,.1f} "
            f"visits, above the capacity of {capacity:,.1f}: lower the floor or raise the capacity"
        )
    if cap * n < capacity - slack:
        raise PlanError(
            f"plan: a cap of {cap} for each of {n:,} enterprises reaches {cap * n:,.1f} visits, "
            f"below the capacity of {capacity:,.1f}"
        )
    pi = np.full(n, floor)
    left = max(0.0, capacity - floor * n)
    order = np.argsort(-rank, kind="stable")
    ranked = rank[order]
    # Groups of equal rank, highest first: each raised to the cap whole, in order, until the
    # capacity is spent; the group where it runs out shares the rest alike.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, n])
    room = cap - floor
    need = np.cumsum(sizes * room)
    full = int(np.searchsorted(need, left, side="right"))  # groups raised to the cap
    raise_by = np.zeros(len(sizes))
    raise_by[:full] = room
    if full < len(sizes):
        spent = need[full - 1] if full else 0.0
        raise_by[full] = (left - spent) / sizes[full]
    pi[order] += np.repeat(raise_by, sizes)
    return Allocation(pi, "optimal")


def by_policy(
    policy: str, rank: np.ndarray, classes: np.ndarray, capacity: float, settings
) -> Allocation:
    """The allocation of `capacity` by the policy named `policy` (`ratios` or `optimal`), with
    the ratios, floor and cap of the `plan` section `settings`: the one place a policy's name
    becomes its probabilities (the plan's and the evaluation's alike)."""
    if policy == "ratios":
        return by_ratios(classes, resolve_ratios(settings.ratios), capacity)
    return optimal(rank, capacity, settings.floor, settings.cap)


def frontier(
    rank: np.ndarray,
    probability: np.ndarray,
    capacity: float,
    floors: list[float],
    cap: float,
    random_rate: float,
    low_risk: np.ndarray,
) -> pd.DataFrame:
    """What each floor costs: the optimal plan at every floor of `floors` that is feasible.

    Args:
        rank, probability: each enterprise's ranking score and calibrated probability.
        capacity, cap: as for `optimal`.
        floors: the floors to try.
        random_rate: the expected hit rate of a uniform draw (the mean probability).
        low_risk: which enterprises are low risk (class A), for the share of them visited.

    Returns:
        One row per feasible floor: `floor`, `expected_hit_rate`, `compliant_reduction`
        (1 - (1 - h) / (1 - random)), `low_risk_visited_share` (expected share of class A
        visited) and `expected_problems`.
    """
    rows = []
    for f in floors:
        if f * len(rank) > capacity or f > cap:
            continue
        plan = optimal(rank, capacity, f, cap)
        e = plan.expected(probability)
        rows.append(
            {
                "floor": f,
                "expected_hit_rate": e["expected_hit_rate"],
                "compliant_reduction": compliant_reduction(e["expected_hit_rate"], random_rate),
                "low_risk_visited_share": (
                    float(plan.inclusion[low_risk].mean()) if low_risk.any() else float("nan")
                ),
                "expected_problems": e["expected_problems"],
            }
        )
    return pd.DataFrame(rows)
