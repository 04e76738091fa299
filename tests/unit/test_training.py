"""The model's measures, splits and learners on small inline frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.risk import risk_class
from riskdraw.training.evaluation import oracle_ratios
from riskdraw.training.metrics import (
    calibration_error,
    capacity_threshold,
    compliant_reduction,
    days_earlier,
    first_half_share,
    gains_table,
    hit_rate_at_capacity,
    ht_mean,
    ranking_metrics,
    reordered_dates,
    top_share_hit_rates,
)
from riskdraw.training.models import RiskModel, RuleScorecard, lightgbm_model
from riskdraw.training.rounds import RoundSplit, inspected
from riskdraw.training.tuning import objective_value

RATIOS = {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}


def test_foshan_figures_give_its_compliant_reduction():
    # 86% against 17.6%: 83% fewer visits to law-abiding enterprises at equal volume.
    assert compliant_reduction(0.86, 0.176) == pytest.approx(0.83, abs=0.005)
    assert compliant_reduction(0.176, 0.176) == pytest.approx(0.0)


def test_horvitz_thompson_undoes_a_targeted_draw():
    rng = np.random.default_rng(0)
    n = 200_000
    risky = rng.random(n) < 0.2
    y = rng.random(n) < np.where(risky, 0.6, 0.1)  # population rate 0.2 * 0.6 + 0.8 * 0.1 = 0.2
    pi = np.where(risky, 0.3, 0.02)  # the draw targets the risky
    drawn = rng.random(n) < pi
    assert y[drawn].mean() > 0.4  # the plain mean of a targeted draw is far off
    assert ht_mean(y[drawn], pi[drawn]) == pytest.approx(y.mean(), abs=0.01)
    assert np.isnan(ht_mean(np.array([]), np.array([])))


@pytest.mark.parametrize(
    ("capacity", "expected"), [(0.1, 9.0), (0.25, 8.0), (1.0, 0.0), (0.001, 9.0)]
)
def test_capacity_threshold_picks_the_highest_share(capacity, expected):
    assert capacity_threshold(np.arange(10, dtype=float)[::-1], capacity) == expected


def test_hit_rate_at_capacity_counts_only_the_inspected_among_the_picks():
    population = np.arange(100, dtype=float)  # the top 10% score 90..99
    scores = np.array([99, 95, 91, 50, 10], dtype=float)  # five inspected
    y = np.array([1, 0, 1, 1, 0])
    rate, n = hit_rate_at_capacity(population, scores, y, np.full(5, 0.05), 0.1)
    assert n == 3 and rate == pytest.approx(2 / 3)


def test_gains_reach_every_problem_when_everyone_is_visited():
    rng = np.random.default_rng(1)
    pop = rng.random(1000)
    idx = rng.choice(1000, 100, replace=False)
    y = (rng.random(100) < pop[idx]).astype(int)
    g = gains_table(pop, pop[idx], y, np.full(100, 0.1))
    assert g["share_of_problems_found"].iloc[-1] == pytest.approx(1.0)
    assert g["share_of_problems_found"].is_monotonic_increasing
    assert g["hit_rate"].iloc[0] > g["hit_rate"].iloc[-1]  # the riskiest first


def test_calibration_error_is_zero_for_honest_probabilities_and_large_for_overconfident():
    rng = np.random.default_rng(2)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(int)
    w = np.ones_like(p)
    assert calibration_error(y, p, w) < 0.01
    assert calibration_error(y, np.clip(p * 2, 0, 1), w) > 0.15


def test_risk_classes_follow_the_cutoffs_and_refuse_disorder():
    cut = {"B": 0.1, "C": 0.3, "D": 0.6}
    assert list(risk_class([0.0, 0.1, 0.29, 0.3, 0.6, 1.0], cut)) == ["A", "B", "B", "C", "D", "D"]
    with pytest.raises(ValueError, match="must rise"):
        risk_class([0.5], {"B": 0.3, "C": 0.2, "D": 0.6})


def _profile(rounds: int = 5, n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for r in range(rounds):
        x = rng.normal(size=n)
        frames.append(
            pd.DataFrame(
                {
                    "entity_id": [f"E{i:05d}" for i in range(n)],
                    "as_of_date": pd.Timestamp(f"{2019 + r}-09-01"),
                    "snapshot": "round",
                    "inspected": rng.random(n) < 0.5,
                    "x": x,
                    "noise": rng.normal(size=n),
                    "problem": (rng.random(n) < 1 / (1 + np.exp(-(2 * x - 1.5)))).astype(int),
                    "inclusion_probability": 0.5,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_rounds_split_by_time_and_never_hand_out_the_held_out():
    frame = _profile(rounds=5)
    split = RoundSplit.of(frame, holdout_rounds=1)
    assert len(split.training) == 4 and split.holdout == (pd.Timestamp("2023-09-01"),)
    for fit, valid in split.validation_folds(2):
        assert max(fit) < valid and valid not in split.holdout
    assert [v for _, v in split.validation_folds(10)] == list(split.training[1:])
    rows = inspected(frame, split.training)
    assert rows["inspected"].all() and not rows["as_of_date"].isin(split.holdout).any()
    with pytest.raises(ValueError, match="fewer than two"):
        RoundSplit.of(_profile(rounds=2), holdout_rounds=1)


def test_the_risk_model_is_calibrated_on_later_rounds_and_refuses_missing_factors():
    frame = _profile(rounds=4, n=3000)
    split = RoundSplit.of(frame, holdout_rounds=1)
    fit = inspected(frame, split.training)
    model = RiskModel(lightgbm_model({"n_estimators": 50}), ["x", "noise"], 3).fit(
        fit, fit["problem"], rounds=fit["as_of_date"]
    )
    # Three training rounds: the two later ones are scored by models of the rounds before them.
    assert model.calibrated_on_ == list(split.training[1:])
    assert len(model.out_of_time_[0]) == fit["as_of_date"].isin(split.training[1:]).sum()
    with pytest.raises(ValueError, match="later than the rounds"):
        RiskModel(lightgbm_model(), ["x"]).fit(fit, fit["problem"], rounds=np.zeros(len(fit)))
    test = inspected(frame, split.holdout)
    p = model.predict_proba(test)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    assert calibration_error(test["problem"], p, np.ones(len(p))) < 0.06
    assert np.corrcoef(model.raw_score(test), test["x"])[0, 1] > 0.8
    with pytest.raises(ValueError, match="lacks the model's factors"):
        model.predict_proba(test.drop(columns="noise"))


def test_the_rule_scorecard_adds_capped_points_and_names_missing_attributes():
    X = pd.DataFrame({"listed": [1, 0, 0], "penalties": [0, 1, 5], "age": [0.5, 3, 10]})
    card = RuleScorecard(
        {
            "listed": {"points": 30},
            "penalties": {"points": 15, "cap": 45},
            "age": {"points": 10, "below": 1},
        }
    )
    assert list(card.points(X)) == [40, 15, 45]
    card.fit(X, np.array([1, 0, 1]))
    assert card.predict_proba(X).shape == (3, 2)
    with pytest.raises(ValueError, match="missing from the profile"):
        card.points(X.drop(columns="age"))


def test_the_study_ranks_by_hit_rate_and_breaks_ties_by_log_loss():
    # One inspection more among 500 picks (rounds here pick fewer) outweighs any log-loss...
    assert objective_value(0.802, 3.0) > objective_value(0.800, 0.0)
    # ...and where the hit rates tie (a certain top), the better probabilities win.
    assert objective_value(1.0, 0.05) > objective_value(1.0, 0.30)
    y, p = np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])
    honest = ranking_metrics(y, p, np.ones(4))["log_loss"]
    assert honest < ranking_metrics(y, 1 - p, np.ones(4))["log_loss"]
    assert ranking_metrics(np.zeros(3, int), np.full(3, 0.2), np.ones(3))["auc"] is None


def test_oracle_ratios_put_the_models_plan_beside_the_oracles():
    scored = pd.DataFrame(
        {"entity_id": range(4), "rank_score": [0.9, 0.2, 0.8, 0.1], "risk_class": list("DADA")}
    )
    truth = pd.DataFrame({"entity_id": range(4), "p_known": [0.9, 0.08, 0.7, 0.05]})
    truth["p_full"] = truth["p_known"]
    out = oracle_ratios(scored, truth, 0.5, {"B": 0.1, "C": 0.3, "D": 0.6}, RATIOS)
    assert out["oracle_ratio"] == pytest.approx(1.0)
    # Both plans draw D at 30% and A at 1%: (0.3*(0.9+0.7) + 0.01*(0.08+0.05)) / (0.6+0.02).
    assert out["expected_hit_rate_plan"] == pytest.approx((0.48 + 0.0013) / 0.62)
    assert out["expected_hit_rate_plan_oracle"] == pytest.approx(out["expected_hit_rate_plan"])
    worse = scored.assign(risk_class=list("DDAA"))
    assert (
        oracle_ratios(worse, truth, 0.5, {"B": 0.1, "C": 0.3, "D": 0.6}, RATIOS)[
            "expected_compliant_reduction"
        ]
        < out["expected_compliant_reduction"]
    )


def test_reordering_the_same_work_by_score_keeps_the_days_and_moves_problems_earlier():
    dates = np.array(["2014-09-02", "2014-09-02", "2014-09-03", "2014-09-05"], "datetime64[D]")
    found = np.array([0, 0, 0, 1])
    scores = np.array([0.2, 0.1, 0.3, 0.9])
    moved = reordered_dates(dates, scores)
    assert sorted(moved) == sorted(dates)  # the same slots, day by day
    assert moved[3] == np.datetime64("2014-09-02") and moved[1] == np.datetime64("2014-09-05")
    assert days_earlier(dates, scores, found) == 3.0
    assert days_earlier(dates, -scores, found) == 0.0
    # One a day: the first half is the day whose running count stays under 2 of 4.
    daily = np.array(["2014-09-01", "2014-09-02", "2014-09-03", "2014-09-04"], "datetime64[D]")
    assert first_half_share(daily, found) == 0.0
    assert first_half_share(daily, found, scores) == 1.0
    assert top_share_hit_rates(scores, found, [0.25, 0.5]) == {"25%": 1.0, "50%": 0.5}


def test_the_effective_size_is_the_visits_of_a_uniform_draw_and_shrinks_with_unequal_weights():
    from riskdraw.training.metrics import effective_size

    assert effective_size(np.full(100, 0.05)) == pytest.approx(100)
    # 90 visits at 0.5 and 10 at the floor 0.005: the ten carry the weight
    lopsided = effective_size(np.r_[np.full(90, 0.5), np.full(10, 0.005)])
    assert 10 < lopsided < 13


def test_the_weighted_wilson_interval_is_wilsons_for_a_uniform_draw():
    from riskdraw.training.metrics import weighted_wilson_interval

    y = np.r_[np.ones(10), np.zeros(90)]
    low, high = weighted_wilson_interval(y, np.full(100, 0.1))
    assert (low, high) == pytest.approx((0.0552, 0.1744), abs=1e-4)  # Wilson, 10 of 100
    none_found = weighted_wilson_interval(np.zeros(5), np.full(5, 0.005))
    assert none_found[0] == 0 and none_found[1] > 0.4  # five visits cannot say "none"
