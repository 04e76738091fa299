"""The one scoring function on a small fitted model: scores, the model's own classes, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskdraw.training.models import RiskModel, lightgbm_model
from riskdraw.training.scoring import REASONS, SCORES, ScoringModel, Wording, explain, score

CUTOFFS = {"B": 0.10, "C": 0.30, "D": 0.60}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Four rounds of 1,500 inspections whose risk rises with complaints and falls with age."""
    rng = np.random.default_rng(3)
    n = 6000
    complaints = rng.poisson(1.0, n).astype(float)
    age = rng.uniform(0, 20, n)
    noise = rng.normal(size=n)  # no effect
    logit = -2.0 + 0.9 * complaints - 0.12 * age
    return pd.DataFrame(
        {
            "entity_id": [f"E{i:05d}" for i in range(n)],
            "as_of_date": pd.to_datetime("2024-01-01"),
            "complaints_365d": complaints,
            "years_in_existence": age,
            "noise": noise,
            "problem": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
            "round": np.repeat(pd.date_range("2020-01-01", periods=4, freq="YS"), n // 4),
        }
    )


@pytest.fixture(scope="module")
def model(rows) -> ScoringModel:
    factors = ["complaints_365d", "years_in_existence", "noise"]
    fitted = RiskModel(lightgbm_model({"n_estimators": 60, "num_leaves": 8}), factors, 2).fit(
        rows, rows["problem"].to_numpy(), rounds=rows["round"].to_numpy()
    )
    wording = {
        "complaints_365d": Wording(en="complaints in the last 365 days", zh="近365天投诉次数"),
        "years_in_existence": Wording(en="years in existence", zh="成立年限"),
    }
    return ScoringModel(fitted, CUTOFFS, wording)


def test_scores_carry_the_keys_and_the_models_own_classes(model, rows):
    out = score(model, rows)
    assert list(out.columns) == ["entity_id", "as_of_date", *SCORES]
    assert (out["entity_id"] == rows["entity_id"]).all()
    p = out["probability"].to_numpy()
    expected = np.select([p >= 0.6, p >= 0.3, p >= 0.1], ["D", "C", "B"], "A")
    assert (out["risk_class"].to_numpy() == expected).all()
    # Another model with other cut-offs classes the same probabilities otherwise.
    strict = ScoringModel(model.model, {"B": 0.5, "C": 0.7, "D": 0.9})
    assert (score(strict, rows)["risk_class"] <= out["risk_class"]).all()
    assert (score(strict, rows)["risk_class"] != out["risk_class"]).any()


def test_a_missing_factor_is_an_error_never_a_zero(model, rows):
    with pytest.raises(ValueError, match=r"lacks the model's factors.*years_in_existence"):
        score(model, rows.drop(columns=["years_in_existence"]))


@pytest.mark.parametrize("cutoffs", [{"B": 0.3, "C": 0.2, "D": 0.6}, {"C": 0.3, "D": 0.6}])
def test_cutoffs_that_do_not_rise_or_miss_a_class_are_refused(model, cutoffs):
    with pytest.raises(ValueError, match="cut-offs"):
        ScoringModel(model.model, cutoffs)


def test_reasons_are_the_largest_contributions_in_plain_words(model, rows):
    out = score(model, rows.head(200), reasons=2)
    assert set(REASONS) <= set(out.columns)
    contributions = model.model.contributions(rows.head(200))
    many = rows.head(200)["complaints_365d"].to_numpy() >= 4
    assert many.any()
    for i in np.flatnonzero(many):
        assert out["reason_factors"].iloc[i][0] == "complaints_365d"
        n = int(rows["complaints_365d"].iloc[i])
        assert out["reasons"].iloc[i][0] == f"complaints in the last 365 days: {n}"
        assert out["reasons_zh"].iloc[i][0] == f"近365天投诉次数: {n}"
    for i in range(200):
        given = out["reason_contributions"].iloc[i]
        assert len(given) <= 2 and all(c > 0 for c in given)
        assert given == sorted(given, reverse=True)
        positive = np.sort(contributions[i][contributions[i] > 0])[::-1][:2]
        assert np.allclose(given, positive, atol=1e-4)


def test_a_factor_without_wording_is_named_and_unknown_values_said_so(model, rows):
    frame = rows.head(50).assign(noise=np.nan)
    reasons = explain(model, frame, top=3)
    texts = [t for row in reasons["reasons"] for t in row]
    assert all(": " in t for t in texts)
    assert not any(t.startswith("noise: ") and not t.endswith("none on record") for t in texts)


@pytest.mark.parametrize(
    ("value", "text"),
    [(3.0, "x: 3"), (1234567.0, "x: 1,234,567"), (0.456, "x: 0.46"), (np.nan, "x: none on record")],
)
def test_a_reason_writes_its_value_as_a_person_does(value, text):
    from riskdraw.training.scoring import _text

    assert _text("x", value) == text


def test_describe_lists_factors_with_their_words_and_the_cutoffs(model):
    described = model.describe()
    assert described["cutoffs"] == CUTOFFS
    assert [f["name"] for f in described["factors"]] == model.factors
    assert described["factors"][2] == {"name": "noise", "en": "noise", "zh": "noise"}


def test_a_version_from_before_models_carried_their_classes_is_named_not_scored(model):
    from riskdraw.training.registry import _as_scoring_model

    assert _as_scoring_model(model) is model
    with pytest.raises(LookupError, match=r"RiskModel, not a ScoringModel.*train a new one"):
        _as_scoring_model(model.model)
