"""Yearly double-random rounds: who breaks the rules, who is drawn, who inspects, what is found.

At every round the true violation probability of each open enterprise is
`sigmoid(b0 + sum(effect * driver) + sum(interaction) + latent)`, the latent risk drawn afresh
each round so that no record can reveal it. `b0` is set per round so that a uniform draw finds
problems at the configured rate (17.6% by default). Two probabilities go to the truth: the full
one, and the best one knowable from the records (the full one averaged over the latent risk).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .activity import (
    CLEAN_RESULTS,
    CLEAN_WEIGHTS,
    NAT,
    PROBLEM_RESULTS,
    PROBLEM_WEIGHTS,
    World,
    _penalties,
    add_abnormal_listings,
    derive_dishonesty,
    lag,
)
from .drivers import driver_values

# Gauss-Hermite nodes for averaging over the latent risk (normal on the log-odds scale).
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(24)


def expected_probability(eta: np.ndarray, latent_sd: float) -> np.ndarray:
    """E[sigmoid(eta + u)] for u ~ N(0, latent_sd^2): the best probability the records allow."""
    if latent_sd == 0:
        return 1.0 / (1.0 + np.exp(-eta))
    out = np.zeros_like(eta, dtype=float)
    for x, w in zip(_GH_X, _GH_W, strict=True):
        out += w / (1.0 + np.exp(-(eta + np.sqrt(2.0) * latent_sd * x)))
    return out / np.sqrt(np.pi)


def calibrate_intercept(
    eta: np.ndarray,
    latent_sd: float,
    target: float,
    rng: np.random.Generator,
    sample: int = 200_000,
) -> float:
    """The b0 making the mean knowable probability equal `target` (bisection on a sample)."""
    if len(eta) > sample:
        eta = rng.choice(eta, sample, replace=False)
    lo, hi = -20.0, 20.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if expected_probability(eta + mid, latent_sd).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def linear_predictor(world: World, as_of: np.datetime64) -> tuple[np.ndarray, dict]:
    """Sum of driver effects and interactions for every enterprise as of a date."""
    p = world.params
    names = [d.name for d in p.drivers]
    values = driver_values(world, names, as_of)
    eta = np.zeros(len(world.entities))
    for spec in p.drivers:
        eta += spec.effect * values[spec.name]
    for inter in p.interactions:
        a, b = inter.drivers
        eta += inter.effect * values[a] * values[b]
    return eta, values


def is_open(world: World, as_of: np.datetime64) -> np.ndarray:
    ent = world.entities
    return (ent["founded_on"].to_numpy() < as_of) & ~(ent["deregistered_on"].to_numpy() <= as_of)


def targeted_inclusion(risk: np.ndarray, size: int) -> np.ndarray:
    """Inclusion probabilities proportional to `risk` that sum to `size`, none above 1 (the
    enterprises that would exceed 1 are drawn for sure and the rest share what is left)."""
    pi = np.zeros(len(risk))
    sure = np.zeros(len(risk), dtype=bool)
    for _ in range(len(risk)):
        rest = ~sure
        pi[rest] = risk[rest] * (size - sure.sum()) / risk[rest].sum()
        pi[sure] = 1.0
        over = rest & (pi > 1)
        if not over.any():
            break
        sure |= over
    return pi


def inspector_pools(rng: np.random.Generator, world: World) -> dict[str, np.ndarray]:
    """Per district (and the city bureau), the ids of its sworn inspectors."""
    p = world.params
    ent = world.entities
    first = np.datetime64(p.rounds[0], "D")
    open_ = is_open(world, first)
    pools = {}
    from riskdraw.domain.regions import DISTRICTS

    for code, _district in DISTRICTS.items():
        size = max(
            3,
            int(
                np.ceil(
                    p.inspectors_per_1000
                    * np.sum(open_ & (ent["district_code"].to_numpy() == code))
                    / 1000
                )
            ),
        )
        pools[code] = np.array([f"44{code[-2:]}{i:05d}" for i in range(1, size + 1)])
    return pools


def run_rounds(
    rng: np.random.Generator, world: World, listing_rng: np.random.Generator
) -> pd.DataFrame:
    """Run every double-random round in order; returns the truth per (entity, round).

    Each round's consequences (penalties, abnormal listings and the dishonesty listings that
    follow from them) are added before the next round, so every mechanism acts in every round
    it precedes. `listing_rng` draws the dishonesty decisions: a stream of their own, so that a
    city whose drivers ignore the dishonesty list runs the same rounds however it is derived.
    """
    p = world.params
    ent = world.entities
    n = len(ent)
    pools = inspector_pools(rng, world)
    district = ent["district_code"].to_numpy()
    truth = []
    for number, day in enumerate(p.rounds, start=1):
        as_of = np.datetime64(day, "D")
        open_ = is_open(world, as_of)
        eta, _ = linear_predictor(world, as_of)
        b0 = calibrate_intercept(eta[open_], p.latent_sd, p.random_hit_rate, rng)
        p_known = expected_probability(b0 + eta, p.latent_sd)
        latent = rng.normal(0.0, p.latent_sd, n)
        p_full = 1.0 / (1.0 + np.exp(-(b0 + eta + latent)))
        violates = rng.random(n) < p_full

        frame = np.flatnonzero(open_)
        truth.append(
            pd.DataFrame(
                {
                    "entity_uid": frame.astype(np.int32),
                    "round": number,
                    "as_of_date": as_of,
                    "p_full": p_full[frame],
                    "p_known": p_known[frame],
                    "violates": violates[frame],
                    "intercept": b0,
                }
            )
        )
        if number in p.planned_rounds:
            # After the reform the product draws the round (`riskdraw simulate-rounds`): the
            # truth is set, the visits and what follows from them come from its plan.
            continue
        size = round(p.draw_rate * len(frame))
        if number in p.targeted_rounds:
            # A risk-targeted draw (Poisson sampling): each enterprise drawn on its own, with a
            # probability proportional to the risk its records show, and that probability kept.
            pi = targeted_inclusion(p_known[frame], size)
            hit = rng.random(len(frame)) < pi
            drawn, inclusion = frame[hit], pi[hit]
            size = len(drawn)
        else:
            drawn = np.sort(rng.choice(frame, size, replace=False))
            inclusion = np.full(size, size / len(frame))
        inspected_on = as_of + rng.integers(3, p.round_days, size).astype("timedelta64[D]")
        problem = violates[drawn]
        result = np.where(
            problem,
            PROBLEM_RESULTS[rng.choice(len(PROBLEM_RESULTS), size, p=PROBLEM_WEIGHTS)],
            CLEAN_RESULTS[rng.choice(len(CLEAN_RESULTS), size, p=CLEAN_WEIGHTS)],
        )
        inspectors = np.empty(size, dtype=object)
        for code, pool in pools.items():
            mask = district[drawn] == code
            k = min(p.inspectors_per_visit, len(pool))
            picks = np.argsort(rng.random((int(mask.sum()), len(pool))), axis=1)[:, :k]
            inspectors[mask] = [";".join(row) for row in pool[picks]]
        world.add_events(
            "inspection",
            pd.DataFrame(
                {
                    "entity_uid": drawn.astype(np.int32),
                    "round": number,
                    "round_as_of": as_of,
                    "occurred_on": inspected_on,
                    "known_on": lag(rng, inspected_on, 1, 20),  # published within 20 days
                    "result": result,
                    "problem": problem,
                    "inspectors": inspectors,
                    "inclusion_probability": inclusion,
                }
            ),
        )
        # Consequences the next rounds can see: penalties, and the unreachable listed abnormal.
        found = drawn[problem]
        fined = found[rng.random(len(found)) < p.conduct.penalty_after_problem]
        fined_on = inspected_on[problem][np.isin(found, fined)] + rng.integers(
            15, 120, len(fined)
        ).astype("timedelta64[D]")
        keep = fined_on < np.datetime64(p.history_end, "D")
        world.add_events(
            "penalty", _penalties(rng, fined[keep], fined_on[keep], origin="inspection")
        )
        lost = np.char.startswith(result.astype(str), "通过登记的住所")
        unreachable = add_abnormal_listings(
            rng,
            world,
            pd.DataFrame(
                {
                    "entity_uid": drawn[lost].astype(np.int32),
                    "occurred_on": inspected_on[lost]
                    + rng.integers(1, 30, int(lost.sum())).astype("timedelta64[D]"),
                    "removed_on": np.full(int(lost.sum()), NAT),
                    "reason": "通过登记的住所或者经营场所无法联系",
                }
            ),
        )
        derive_dishonesty(listing_rng, world, unreachable)
    return pd.concat(truth, ignore_index=True)


def screening_truth(rng: np.random.Generator, world: World) -> pd.DataFrame:
    """The truth at the screening date: what a perfect model would know about everyone open."""
    p = world.params
    as_of = np.datetime64(p.screening_date, "D")
    open_ = is_open(world, as_of)
    eta, _ = linear_predictor(world, as_of)
    b0 = calibrate_intercept(eta[open_], p.latent_sd, p.random_hit_rate, rng)
    latent = rng.normal(0.0, p.latent_sd, len(eta))
    frame = np.flatnonzero(open_)
    return pd.DataFrame(
        {
            "entity_uid": frame.astype(np.int32),
            "round": 0,
            "as_of_date": as_of,
            "p_full": 1.0 / (1.0 + np.exp(-(b0 + eta + latent)))[frame],
            "p_known": expected_probability(b0 + eta, p.latent_sd)[frame],
            "violates": pd.array([pd.NA] * len(frame), dtype="boolean"),  # not drawn yet
            "intercept": b0,
        }
    )
