"""A plan judged against the simulated city's truth (evaluation code: the only reader of it).

The expected hit rate of a plan's draw is the mean true probability of what it visits,
weighted by the inclusion probabilities: sum(pi * p) / sum(pi), over every possible draw
(the visits outside the draw are not the draw's choice and are left out). The **plan oracle
ratio** divides that by the expected hit rate of the same policy, at the same capacity, with the
same visits outside the draw and the same cool-off, applied to the best probabilities knowable
from the records (`p_known`). Beside it, the model's picks at capacity (the highest-ranked,
as many as the capacity) against the best knowable picks: the figures Foshan reports for its
high-risk targets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskdraw.domain.risk import risk_class
from riskdraw.training.metrics import compliant_reduction

from .allocation import by_policy
from .planning import DRAWN, NOT_DRAWN


def _expected(pi: np.ndarray, p: np.ndarray) -> float:
    return float(pi @ p / pi.sum())


def _inclusion(policy: str, frame: pd.DataFrame, settings, rank: np.ndarray, classes) -> np.ndarray:
    """The draw's inclusion probabilities under `policy` with the ranking `rank` and classes
    `classes`, among the enterprises the plan put in the draw (0 elsewhere)."""
    in_draw = frame["status"].isin([NOT_DRAWN, DRAWN]).to_numpy()
    left = settings.capacity.visits(len(frame))
    pi = np.zeros(len(frame))
    pi[in_draw] = by_policy(policy, rank[in_draw], classes[in_draw], left, settings).inclusion
    return pi


def plan_against_truth(
    inclusion: pd.DataFrame,
    truth: pd.DataFrame,
    settings,
    cutoffs: dict[str, float],
) -> dict:
    """The plan's expected hit rate and compliant reduction from the truth, its plan oracle
    ratio for each policy, and the model's picks at capacity against the best knowable.

    Args:
        inclusion: the plan's `inclusion` table.
        truth: per entity_id, `p_known` and `p_full` at the screening date.
        settings: the `plan` section.
        cutoffs: the model's class cut-offs (the oracle's classes are cut on `p_known` alike).
    """
    frame = inclusion.merge(truth[["entity_id", "p_known", "p_full"]], on="entity_id",
                            how="inner", validate="one_to_one")  # fmt: skip
    p = frame["p_full"].to_numpy()
    drawable = frame["status"].isin([NOT_DRAWN, DRAWN]).to_numpy()
    random_rate = float(p[drawable].mean())
    pi = np.where(drawable, frame["inclusion_probability"].to_numpy(), 0.0)
    plan = _expected(pi, p)
    rank = frame["rank_score"].to_numpy(dtype=float)
    known = frame["p_known"].to_numpy()
    model_classes = frame["risk_class"].to_numpy()
    oracle_classes = risk_class(known, cutoffs)
    by_policy = {}
    for policy in ("ratios", "optimal"):
        ours = _expected(_inclusion(policy, frame, settings, rank, model_classes), p)
        best = _expected(_inclusion(policy, frame, settings, known, oracle_classes), p)
        by_policy[policy] = {
            "expected_hit_rate": ours,
            "expected_hit_rate_oracle": best,
            "plan_oracle_ratio": ours / best,
            "expected_compliant_reduction": compliant_reduction(ours, random_rate),
        }
    k = settings.capacity.visits(len(frame))
    picks = float(p[np.argsort(-rank, kind="stable")[:k]].mean())
    best_picks = float(p[np.argsort(-known, kind="stable")[:k]].mean())
    random_rate_all = float(p.mean())
    return {
        "matched_enterprises": len(frame),
        "expected_hit_rate_random": random_rate,
        "expected_hit_rate_random_all_open": random_rate_all,
        "expected_hit_rate_plan": plan,
        "expected_compliant_reduction_plan": compliant_reduction(plan, random_rate),
        "plan_oracle_ratio": by_policy[settings.policy]["plan_oracle_ratio"],
        "by_policy": by_policy,
        "picks_at_capacity": {
            "picks": k,
            "expected_hit_rate": picks,
            "expected_compliant_reduction": compliant_reduction(picks, random_rate_all),
            "expected_hit_rate_oracle": best_picks,
            "oracle_ratio": picks / best_picks,
        },
    }
