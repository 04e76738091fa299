"""The one scoring function on a small fitted model: scores, the model's own classes, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    from riskdraw.training.scoring import as_text

    assert as_text("x", value) == text


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


# ---- rows from outside the pipeline (the service's batch scoring) -------------------------------

BOUNDS = {"complaints_365d": (0.0, float("inf")), "years_in_existence": (0.0, 200.0)}


def test_checked_rows_score_as_the_rows_do(model, rows):
    from riskdraw.training.scoring import check_rows

    sent = rows[["entity_id", *model.factors]].head(50).astype({"noise": str})  # as a CSV gives
    checked = check_rows(model, sent, BOUNDS, ("entity_id",))
    pd.testing.assert_frame_equal(score(model, checked), score(model, rows.head(50).drop(
        columns=["as_of_date"])))  # fmt: skip


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda f: f.drop(columns=["noise"]), "field 'noise': missing"),
        (lambda f: f.assign(colour=1), "field 'colour': not a factor"),
        (lambda f: f.assign(complaints_365d=[1.0, -1.0, 2.0]), "row 1, field 'complaints_365d'"),
        (lambda f: f.assign(years_in_existence=[1.0, 2.0, 201.0]), "201 is outside [0, 200]"),
        (lambda f: f.assign(noise=["1", "x", ""]), "row 1, field 'noise': 'x' is not a number"),
        (lambda f: f.assign(noise=[1.0, np.inf, 0.0]), "inf is not finite"),
        (lambda f: f.assign(noise=[True, False, True]), "true/false, not a number"),
    ],
    ids=["missing", "extra", "negative", "above", "text", "infinite", "boolean"],
)
def test_a_row_outside_the_rules_is_refused_by_row_field_and_rule(model, rows, change, named):
    from riskdraw.training.scoring import RowError, check_rows

    sent = change(rows[model.factors].head(3).reset_index(drop=True))
    with pytest.raises(RowError, match=named.replace("[", r"\[").replace("]", r"\]")):
        check_rows(model, sent, BOUNDS)


def test_an_empty_cell_is_none_on_record_never_a_zero(model, rows):
    from riskdraw.training.scoring import check_rows

    sent = rows[model.factors].head(2).astype(str).assign(complaints_365d=["", " "])
    checked = check_rows(model, sent, BOUNDS)
    assert checked["complaints_365d"].isna().all()


def test_a_json_row_that_leaves_a_factor_out_is_refused_not_completed(model, rows):
    from riskdraw.training.scoring import RowError, check_records

    records = rows[model.factors].head(3).to_dict(orient="records")
    del records[2]["noise"]
    records[1]["extra"] = 1.0
    with pytest.raises(RowError) as raised:
        check_records(model, records, BOUNDS)
    assert raised.value.problems == [
        "row 1, field 'extra': not a factor of the model",
        "row 2, field 'noise': missing (a factor of the model: send null for none on record)",
    ]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.floats(0, 50), st.floats(0, 200), st.floats(-5, 5)), min_size=1, max_size=20
    ),
    bad=st.integers(0, 19),
    factor=st.sampled_from(["complaints_365d", "years_in_existence"]),
    wrong=st.sampled_from([-0.5, -1e9, float("inf"), float("-inf"), 1e6]),
)
def test_any_value_in_range_passes_and_any_outside_is_named(model, values, bad, factor, wrong):
    from riskdraw.training.scoring import RowError, check_rows

    frame = pd.DataFrame(values, columns=model.factors)
    assert len(check_rows(model, frame, BOUNDS)) == len(frame)
    if factor == "complaints_365d" and wrong == 1e6:
        return  # no upper bound: a large count is a count
    row = bad % len(frame)
    frame.loc[row, factor] = wrong
    with pytest.raises(RowError, match=f"row {row}, field '{factor}'"):
        check_rows(model, frame, BOUNDS)
