"""The regulator's measures, estimated from what the draws inspected.

Labels exist only for the enterprises a round drew. Each draw records every enterprise's
inclusion probability, so any average over the whole population is estimated without bias by
weighting the inspected by the inverse of it (Horvitz-Thompson; the ratio form, Hajek, whose
weights sum to one). A uniform draw gives every enterprise the same weight and the estimates
reduce to plain means; a targeted draw does not, and the plain means are then biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def ht_mean(y: np.ndarray, inclusion: np.ndarray) -> float:
    """Population mean of `y` estimated from a draw with these inclusion probabilities
    (Hajek's ratio estimator: sum(y / pi) / sum(1 / pi)); NaN for an empty draw."""
    y, w = np.asarray(y, dtype=float), 1.0 / np.asarray(inclusion, dtype=float)
    return float(np.sum(w * y) / np.sum(w)) if len(y) else float("nan")


def ht_standard_error(y: np.ndarray, inclusion: np.ndarray) -> float:
    """Standard error of `ht_mean` for a draw in which each enterprise was drawn on its own
    (Poisson sampling; for a uniform draw without replacement it is slightly conservative):
    sqrt(sum((1 - pi) / pi^2 * (y - mean)^2)) / sum(1 / pi)."""
    y, pi = np.asarray(y, dtype=float), np.asarray(inclusion, dtype=float)
    if not len(y):
        return float("nan")
    residual = y - ht_mean(y, pi)
    return float(np.sqrt(np.sum((1 - pi) / pi**2 * residual**2)) / np.sum(1 / pi))


def effective_size(inclusion: np.ndarray) -> float:
    """Kish's effective sample size of a weighted draw, (sum w)^2 / sum(w^2) with w = 1 / pi:
    how many visits of a uniform draw the weighted ones are worth."""
    w = 1.0 / np.asarray(inclusion, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2)) if len(w) else 0.0


def weighted_wilson_interval(
    y: np.ndarray, inclusion: np.ndarray, z: float = 1.96
) -> tuple[float, float]:
    """A confidence interval for a population share estimated by `ht_mean` from 0/1 outcomes:
    Wilson's score interval around the estimate, with Kish's effective sample size in place of
    the number of visits. Where a few heavily weighted visits (a plan's low-risk floor) carry
    the estimate, the normal interval of `ht_standard_error` collapses when they happen to
    find nothing; this one stays as wide as what those few visits can tell."""
    p, n = ht_mean(y, inclusion), effective_size(inclusion)
    if not n:
        return float("nan"), float("nan")
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def capacity_threshold(population_scores: np.ndarray, capacity: float) -> float:
    """The score at or above which an enterprise is among the `capacity` share of the
    population scored highest (the enterprises the inspectors can visit)."""
    scores = np.asarray(population_scores, dtype=float)
    k = max(1, round(capacity * len(scores)))
    return float(np.sort(scores)[::-1][k - 1])


def hit_rate_at_capacity(
    population_scores: np.ndarray,
    scores: np.ndarray,
    y: np.ndarray,
    inclusion: np.ndarray,
    capacity: float,
) -> tuple[float, int]:
    """The hit rate the inspectors would have if they visited the `capacity` share of the
    population the scores rank highest, estimated from the inspected enterprises among them.

    Args:
        population_scores: the scores of every enterprise open in the round.
        scores, y, inclusion: score, outcome and inclusion probability of the inspected.
        capacity: the share of the population that can be visited.

    Returns:
        The estimated hit rate, and how many inspected enterprises it rests on.
    """
    picked = np.asarray(scores) >= capacity_threshold(population_scores, capacity)
    return ht_mean(np.asarray(y)[picked], np.asarray(inclusion)[picked]), int(picked.sum())


def calibration_error(y: np.ndarray, p: np.ndarray, weight: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the weighted mean gap between predicted and observed
    rates over equal-count bins of the prediction."""
    y, p, w = (np.asarray(a, dtype=float) for a in (y, p, weight))
    order = np.argsort(p, kind="stable")
    gap = 0.0
    for part in np.array_split(order, min(bins, len(p))):
        if len(part):
            observed = np.average(y[part], weights=w[part])
            gap += w[part].sum() * abs(observed - np.average(p[part], weights=w[part]))
    return float(gap / w.sum())


def calibration_table(
    y: np.ndarray, p: np.ndarray, weight: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Per equal-count bin of the prediction: mean predicted and observed rate, and size."""
    y, p, w = (np.asarray(a, dtype=float) for a in (y, p, weight))
    order = np.argsort(p, kind="stable")
    rows = [
        {
            "predicted": float(np.average(p[part], weights=w[part])),
            "observed": float(np.average(y[part], weights=w[part])),
            "inspections": len(part),
        }
        for part in np.array_split(order, min(bins, len(p)))
        if len(part)
    ]
    return pd.DataFrame(rows)


def gains_table(
    population_scores: np.ndarray,
    scores: np.ndarray,
    y: np.ndarray,
    inclusion: np.ndarray,
    shares: np.ndarray | None = None,
) -> pd.DataFrame:
    """The gains chart: for each share of the population visited (highest scores first), the
    estimated share of all problems found and the hit rate of those visits."""
    shares = np.linspace(0.05, 1.0, 20) if shares is None else np.asarray(shares)
    y, w = np.asarray(y, dtype=float), 1.0 / np.asarray(inclusion, dtype=float)
    total = np.sum(w * y)
    rows = []
    for share in shares:
        picked = np.asarray(scores) >= capacity_threshold(population_scores, float(share))
        rows.append(
            {
                "share_visited": float(share),
                "share_of_problems_found": float(np.sum(w[picked] * y[picked]) / total)
                if total
                else float("nan"),
                "hit_rate": ht_mean(y[picked], 1.0 / w[picked]),
            }
        )
    return pd.DataFrame(rows)


def ranking_metrics(y: np.ndarray, p: np.ndarray, weight: np.ndarray) -> dict[str, float | None]:
    """AUC, PR-AUC (average precision), Brier score and log-loss, weighted; AUC and PR-AUC are
    None where `y` holds one outcome only."""
    y = np.asarray(y, dtype=int)
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p, sample_weight=weight)) if both else None,
        "pr_auc": float(average_precision_score(y, p, sample_weight=weight)) if both else None,
        "brier": float(brier_score_loss(y, p, sample_weight=weight)),
        "log_loss": float(
            log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), sample_weight=weight, labels=[0, 1])
        ),
    }


def compliant_reduction(plan_hit_rate: float, random_hit_rate: float) -> float:
    """The share of visits to law-abiding enterprises a plan saves at equal volume:
    1 - (1 - plan hit rate) / (1 - random hit rate). Foshan: 86% vs 17.6% gives 83%."""
    return float(1.0 - (1.0 - plan_hit_rate) / (1.0 - random_hit_rate))


def reordered_dates(dates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The date each inspection would get if the same work were re-ordered by score: the days
    and the number of inspections on each stay as they were, the earliest slots go to the
    highest scores (ties keep their order). Chicago's evaluation of its own model.

    Args:
        dates: each inspection's date.
        scores: each inspection's score (higher: sooner).
    """
    dates = np.asarray(dates)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    out = np.empty_like(dates)
    out[order] = np.sort(dates, kind="stable")
    return out


def days_earlier(dates: np.ndarray, scores: np.ndarray, found: np.ndarray) -> float:
    """Mean days earlier an inspection that found a problem would have been done had the same
    work been re-ordered by score (`reordered_dates`)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    found = np.asarray(found).astype(bool)
    shift = (dates - reordered_dates(dates, scores)) / np.timedelta64(1, "D")
    return float(shift[found].mean())


def first_half_share(
    dates: np.ndarray, found: np.ndarray, scores: np.ndarray | None = None
) -> float:
    """Share of the problems found in the first half of a period's inspections: the days whose
    running count of inspections stays under half the total (a day straddling the middle is in
    neither half, as in Chicago's evaluation). With `scores`, the work re-ordered by score;
    without, as it was done."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    found = np.asarray(found).astype(bool)
    when = dates if scores is None else reordered_dates(dates, scores)
    days, per_day = np.unique(dates, return_counts=True)
    first = days[np.cumsum(per_day) < per_day.sum() / 2]
    return float(found[np.isin(when, first)].sum() / found.sum())


def top_share_hit_rates(scores: np.ndarray, found: np.ndarray, shares: list[float]) -> dict:
    """Hit rate among the top `share` of inspections by score, for each share."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    found = np.asarray(found).astype(bool)[order]
    return {f"{s:.0%}": float(found[: max(1, int(s * len(found)))].mean()) for s in shares}


def reordering_measures(
    dates: np.ndarray, scores: np.ndarray, found: np.ndarray, shares: list[float]
) -> dict:
    """A period's work re-ordered by score (Chicago's evaluation): mean days earlier a problem
    is found, share of the problems found in the first half (re-ordered, and as done), AUC,
    and the hit rate in the top shares of the ranking."""
    found = np.asarray(found, dtype=int)
    scores = np.asarray(scores, dtype=float)
    return {
        "days_earlier": days_earlier(dates, scores, found),
        "first_half_share": first_half_share(dates, found, scores),
        "first_half_share_business_as_usual": first_half_share(dates, found),
        "auc": ranking_metrics(found, scores, np.ones(len(found)))["auc"],
        "top_share_hit_rates": top_share_hit_rates(scores, found, shares),
        "inspections": len(found),
        "problems_found": int(found.sum()),
    }
