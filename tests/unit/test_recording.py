"""A round's results recorded against its plan: every refusal by name, nothing lost, the
delivery the next ingest reads, and the public disclosure without personal data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdraw.domain.codes import make_usccs
from riskdraw.inspection.disclosure import PublicationError, disclosure, overdue
from riskdraw.inspection.recording import (
    RESULT_COLUMNS,
    ResultsError,
    check_results,
    delivery,
    read_results,
    results_report,
)

PLAN_DATE = pd.Timestamp("2025-06-30")
TODAY = pd.Timestamp("2025-10-01")
CODES = [str(c) for c in make_usccs(np.random.default_rng(0), np.array(["440606"] * 5), "1")]


def _visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": [f"E{i}" for i in range(1, 5)],
            "credit_code": CODES[:4],
            "name": ["甲店", "乙店", "丙店", "丁店"],
            "status": ["drawn", "drawn", "drawn", "outside draw: complaint"],
            "inclusion_probability": [0.5, 0.95, 0.01, 1.0],
            "risk_class": ["C", "D", "A", "B"],
            "inspectors": [["440600001", "440600002"]] * 4,
            "inspector_units": [["佛山市顺德区市场监督管理局"]] * 4,
        }
    )


def _row(i: int = 0, **change) -> dict:
    row = {
        "credit_code": CODES[i], "name": "甲店", "task": "FSSJ-2025-08",
        "inspected_on": "2025-07-10", "inspectors": "440600001;440600002",
        "items_checked": "36", "items_failed": "0", "result": "未发现问题",
        "recorded_on": "2025-07-20",
    }  # fmt: skip
    return row | change


def _check(rows: list[dict]):
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS).assign(row=range(len(rows)))
    return check_results(frame, _visits(), "FSSJ-2025-08", PLAN_DATE, TODAY, "results.csv")


def test_good_results_are_accepted_with_what_the_plan_knew():
    recorded = _check(
        [
            _row(0),
            _row(
                1,
                items_failed="2",
                result="发现问题，已责令改正",
                inspected_on="2025年7月3日",
                recorded_on="2025/7/9",
            ),
        ]
    )
    assert recorded.quarantine.empty and len(recorded.accepted) == 2
    second = recorded.accepted.set_index("entity_id").loc["E2"]
    assert second["problem"] and second["inclusion_probability"] == 0.95
    assert second["inspected_on"] == pd.Timestamp("2025-07-03")  # the bureau's own date style
    assert second["unit"] == "佛山市顺德区市场监督管理局"
    assert list(recorded.unreported["entity_id"]) == ["E3", "E4"]


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"credit_code": CODES[4]}, "credit_code", "not_drawn"),
        ({"credit_code": "91440606MA4X"}, "credit_code", "credit_code_invalid"),
        ({"inspectors": "440600001;449999999"}, "inspectors", "inspector_not_assigned"),
        ({"inspected_on": "2025-06-01"}, "inspected_on", "before_plan"),
        ({"inspected_on": "soon"}, "inspected_on", "date_unparseable"),
        ({"task": "FSSJ-2024-07"}, "task", "other_task"),
        ({"recorded_on": "2025-07-01"}, "recorded_on", "recorded_before_inspection"),
        ({"recorded_on": "2025-12-01"}, "recorded_on", "after_recording"),
        ({"items_checked": "many"}, "items_checked", "whole_number"),
        ({"items_failed": "40"}, "items_failed", "more_than_checked"),
        ({"result": "fine"}, "result", "unknown_result"),
        ({"result": "发现问题，待后续处理"}, "result", "result_items_disagree"),
        ({"items_failed": "3"}, "result", "result_items_disagree"),
    ],
)
def test_each_refusal_is_named_with_its_field_and_value(change, field, rule):
    recorded = _check([_row(0, **change)])
    assert recorded.accepted.empty
    found = recorded.quarantine.set_index("rule").loc[[rule]]
    assert (found["field"] == field).all() and (found["source"] == "results.csv").all()
    assert found["reason"].str.len().min() > 5


def test_the_refusals_name_the_enterprise_and_the_inspector():
    recorded = _check([_row(0, credit_code=CODES[4], name="戊店"),
                       _row(1, inspectors="440600001;449999999")])  # fmt: skip
    reasons = " ".join(recorded.quarantine["reason"])
    assert CODES[4] in reasons and "戊店" in reasons and "449999999" in reasons


def test_a_visit_reported_twice_keeps_the_first_recorded():
    recorded = _check([_row(0, recorded_on="2025-07-25", items_checked="30"), _row(0)])
    assert len(recorded.accepted) == 1 and recorded.accepted["items_checked"].iat[0] == 36
    assert recorded.quarantine["rule"].tolist() == ["reported_twice"]
    assert recorded.quarantine["row"].tolist() == [0]


def test_a_missing_column_or_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame([_row(0)]).drop(columns=["inspectors"]).to_csv(path, index=False)
    with pytest.raises(ResultsError, match=r"columns \['inspectors'\] missing"):
        read_results(path)
    with pytest.raises(ResultsError, match="not found"):
        read_results(tmp_path / "none.csv")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "i": st.integers(0, 4),
                "inspected_on": st.sampled_from(["2025-07-10", "2025-06-01", "x", "", "20250711"]),
                "inspectors": st.sampled_from(["440600001;440600002", "449999999", ""]),
                "items_checked": st.sampled_from(["36", "0", "-1", "a"]),
                "items_failed": st.sampled_from(["0", "1", "99"]),
                "result": st.sampled_from(["未发现问题", "发现问题，已责令改正", "?"]),
            }
        ),
        max_size=12,
    )
)
def test_every_row_is_accepted_or_quarantined_and_the_counts_reconcile(cases):
    rows = [_row(c.pop("i"), **c) for c in cases]
    recorded = _check(rows)
    report = results_report(recorded, _visits())
    refused = set(recorded.quarantine["row"])
    assert set(recorded.accepted["row"]).isdisjoint(refused)
    assert len(recorded.accepted) + len(refused) == len(rows) and report["reconciles"]
    assert recorded.accepted["credit_code"].is_unique


def test_the_delivery_is_one_inspection_source_in_the_kinds_columns():
    from riskdraw.governance.catalogue import SourceCatalogue, load_kinds

    recorded = _check([_row(0), _row(1, recorded_on="2025-07-30")])
    extract, manifest, sources = delivery(recorded.accepted, "FSSJ-2025-08", "佛山市市场监督管理局")
    kinds = load_kinds("catalogue/kinds.yaml")
    catalogue = SourceCatalogue.model_validate(sources)
    spec = kinds.kinds["inspection"]
    wanted = {f.column for f in spec.fields.values() if f.required} | {spec.name}
    assert wanted <= set(extract.columns) and "统一社会信用代码" in extract.columns
    assert manifest["sources"][0] == {"source_id": catalogue.sources[0].source_id,
                                      "records": 2, "delivered_on": "2025-07-30"}  # fmt: skip
    assert extract["入选概率"].tolist() == ["0.5", "0.95"]


def test_the_disclosure_flags_late_results_and_holds_nothing_personal():
    recorded = _check([_row(0), _row(1, inspected_on="2025-07-01", recorded_on="2025-08-15"),
                       _row(2, inspected_on="2025-07-02", recorded_on="2025-09-20")])  # fmt: skip
    published = disclosure(recorded.accepted, pd.Timestamp("2025-09-01"), 20)
    assert published["credit_code"].tolist() == [CODES[0], CODES[1]]  # recorded by then
    assert published.set_index("credit_code")["late"].to_dict() == {CODES[0]: False, CODES[1]: True}
    assert "inspectors" not in published.columns
    waiting = overdue(recorded.accepted, recorded.unreported, pd.Timestamp("2025-09-01"), 20)
    assert CODES[2] in set(waiting["credit_code"])  # inspected 2 months ago, not yet published
    assert CODES[3] in set(waiting["credit_code"])  # a planned visit with no result


def test_a_disclosure_with_a_persons_number_is_refused():
    recorded = _check([_row(0)])
    accepted = recorded.accepted.assign(name="张三 13912345678 的店")
    with pytest.raises(PublicationError, match="row 0, column name: a mobile number"):
        disclosure(accepted, TODAY, 20)


def test_the_weighted_estimate_is_unbiased_over_draws_and_the_plain_share_is_not():
    """Over many draws of one city by a risk-targeted plan (riskdraw's own allocation and
    draw), the weighted estimate of the violation rate centres on the truth and its 95%
    interval holds it about 95% of the time; the plain share of the visits does not."""
    from riskdraw.inspection.allocation import optimal
    from riskdraw.inspection.draw import draw
    from riskdraw.inspection.recording import violation_rate

    rng = np.random.default_rng(7)
    n = 4000
    p = rng.beta(0.6, 3.0, n)  # a city whose risk is skewed, as the simulated one
    y = rng.random(n) < p
    truth = y.mean()
    pi = optimal(p + rng.normal(0, 0.05, n), 400, 0.03, 0.95).inclusion
    ids = np.array([f"E{i:05d}" for i in range(n)])
    estimates, covered, plain = [], 0, []
    for seed in range(200):
        taken = draw(ids, pi, f"{seed:064x}")
        rate = violation_rate(
            pd.DataFrame({"problem": y[taken], "inclusion_probability": pi[taken]})
        )
        estimates.append(rate["estimate"])
        plain.append(rate["plain_share"])
        covered += rate["ci95"][0] <= truth <= rate["ci95"][1]
    spread = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - truth) < 3 * spread + 0.002
    assert 0.88 <= covered / len(estimates) <= 0.99
    assert np.mean(plain) > truth + 0.15


def test_the_interval_holds_when_a_few_floor_visits_carry_the_estimate():
    """A small city whose plan visits a handful of low-risk enterprises at the floor, each
    standing for ~200: when they happen to find nothing the normal interval of the Poisson
    variance collapses (it covers the truth about half the time); Wilson's interval with Kish's
    effective sample size stays as wide as those visits can tell."""
    from riskdraw.inspection.allocation import optimal
    from riskdraw.inspection.draw import draw
    from riskdraw.inspection.recording import violation_rate

    rng = np.random.default_rng(7)
    n = 1000
    p = rng.beta(0.6, 3.0, n)
    y = rng.random(n) < p
    truth = y.mean()
    pi = optimal(p + rng.normal(0, 0.05, n), 35, 0.005, 0.95).inclusion
    ids = np.array([f"E{i:05d}" for i in range(n)])
    wilson = normal = 0
    draws = 200
    for seed in range(draws):
        taken = draw(ids, pi, f"{seed:064x}")
        rate = violation_rate(
            pd.DataFrame({"problem": y[taken], "inclusion_probability": pi[taken]})
        )
        wilson += rate["ci95"][0] <= truth <= rate["ci95"][1]
        e, se = rate["estimate"], rate["standard_error"]
        normal += e - 1.96 * se <= truth <= e + 1.96 * se
        assert rate["effective_size"] < len(taken)
    assert wilson / draws >= 0.9
    assert normal / draws < 0.75
