"""A city described by configuration alone: Harbour (`tests/harbour.py`), written by the test
in its own layout, through the whole flow by `riskdraw city run`; its hostile inputs named by
`riskdraw city check` and the flow refusing to start; every row accounted for."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskdraw.cities.config import load_city
from riskdraw.cities.tables import prepare
from riskdraw.cli import app
from tests.conftest import run_cli
from tests.harbour import city_file, write_harbour

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):
    """Harbour written, then run whole: (city file, data folder, reports folder)."""
    root = tmp_path_factory.mktemp("harbour")
    path = write_harbour(root / "city")
    data, reports = root / "data", root / "reports"
    run_cli("city", "run", str(path), "--data", str(data), "--reports", str(reports))
    return path, data, reports


def _read(reports, name):
    return json.loads((reports / name).read_text(encoding="utf-8"))


def test_every_row_of_every_table_is_accepted_refused_or_left_out(harbour):
    path, _, reports = harbour
    check = _read(reports, "check.json")
    assert check["status"] == "ok"
    for table, counts in check["tables"].items():
        written = len(pd.read_csv(path.parent / f"{table}.csv", dtype=str))
        assert counts["rows"] == written, table
        assert counts["accepted"] + counts["refused"] + counts["left_out"] == written, table
    visits = pd.read_csv(path.parent / "visits.csv", dtype=str)
    # Follow-ups are left out by `keep`, "nobody there" (9) by `not_counted`: nothing refused.
    left = (visits["visit_type"] != "ROUTINE") | (visits["verdict"] == "9")
    assert check["tables"]["visits"]["left_out"] == left.sum()
    assert check["events"]["inspection"] == (~left).sum()


def test_harbour_runs_end_to_end_by_its_file_alone(harbour):
    path, data, reports = harbour
    firms = pd.read_csv(path.parent / "firms.csv", dtype=str, keep_default_na=False)
    profile = data / "profile.parquet"
    assert len(list(profile.glob("as_of=*.parquet"))) == 7  # six rounds and the screening
    screening = pq.read_table(profile, filters=[("snapshot", "=", "screening")]).to_pandas()
    opened = pd.to_datetime(firms["opened"], format="%Y/%m/%d")
    closed = pd.to_datetime(firms["closed"].replace("", None), format="%Y/%m/%d")
    day = pd.Timestamp("2025-06-30")
    open_now = firms["firm_no"][(opened < day) & (closed.isna() | (closed >= day))]
    assert set(screening["entity_id"]) == set(open_now)
    metrics = _read(reports, "metrics.json")
    assert metrics["model_name"] == "harbour-risk"
    assert metrics["hit_rate_model"] > metrics["hit_rate_random"]
    scores = pq.read_table(data / "scores" / "scores.parquet").to_pandas()
    assert set(scores["entity_id"]) == set(open_now)
    assert set(scores["risk_class"]) <= {"A", "B", "C", "D"}
    explained = scores[scores["reasons"].map(len) > 0]
    assert len(explained) and all(  # in the profile's own words, not the columns' names
        not r[0].startswith(f)
        for r, f in zip(explained["reasons"], explained["reason_factors"].str[0], strict=True)
    )
    plan = _read(reports, "plan.json")
    assert plan["model_name"] == "harbour-risk" and plan["visits"] > 0
    assignments = pd.read_csv(data / "plans" / "assignments.csv", dtype=str)
    officers = set(pd.read_csv(path.parent / "officers.csv", dtype=str)["badge"])
    drawn = {i for pair in assignments["inspectors"] for i in pair.split(";")}
    assert drawn and drawn <= officers
    assert (assignments["inspectors"].str.count(";") == 1).all()  # two per visit
    experiments = {e.name for e in mlflow.search_experiments()}
    assert {f"riskdraw-harbour-{s}" for s in ("select", "model", "screen", "plan")} <= experiments
    champion = mlflow.MlflowClient().get_model_version_by_alias("harbour-risk", "champion")
    assert str(champion.version) == str(metrics["model_version"])


def test_the_factors_come_from_harbours_data(harbour):
    """What breaks Harbour's rules (complaints in the year before, food, youth) is in the
    test's generator only; selection finds it from the generic attributes."""
    _, _, reports = harbour
    factors = _read(reports, "selection.json")["factors"]
    assert any(f.startswith("complaint_count_") for f in factors), factors
    assert "industry_food" in factors
    attributes = (reports / "attributes.md").read_text(encoding="utf-8")
    for name in (
        "inspection_problem_share_365d",
        "complaint_count_days_since",
        "complaint_topic_hygiene_count_365d",
        "complaint_count_trend_365d",
    ):
        assert f"`{name}`" in attributes


def _check(path, tmp_path):
    result = CliRunner().invoke(
        app, ["city", "check", str(path), "--report", str(tmp_path / "check.json")]
    )
    return result, (
        json.loads((tmp_path / "check.json").read_text())
        if (tmp_path / "check.json").exists()
        else None
    )


def _rename_column(folder):
    visits = pd.read_csv(folder / "visits.csv", dtype=str)
    visits.rename(columns={"verdict": "result"}).to_csv(folder / "visits.csv", index=False)


def _unmapped_outcome(folder):
    visits = pd.read_csv(folder / "visits.csv", dtype=str)
    visits.loc[[4, 11], "verdict"] = "7"
    visits.to_csv(folder / "visits.csv", index=False)


def _key_that_never_joins(folder):
    config = yaml.safe_load((folder / "city.yaml").read_text(encoding="utf-8"))
    config["events"][1]["entity_id"] = "topic"  # the complaints keyed by the wrong column
    (folder / "city.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def _overlapping_rounds(folder):
    config = yaml.safe_load((folder / "city.yaml").read_text(encoding="utf-8"))
    config["rounds"]["periods"].append({"from": "2024-10-15", "until": "2024-12-31"})
    (folder / "city.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


@pytest.mark.parametrize(
    ("mutate", "table", "field", "rule"),
    [
        (_rename_column, "visits", "verdict", "column_missing"),
        (_unmapped_outcome, "visits", "verdict", "value_not_mapped"),
        (_key_that_never_joins, "calls", "topic", "key_not_registered"),
        (_overlapping_rounds, "(rounds)", "rounds.periods", "rounds_overlap"),
    ],
)
def test_city_check_names_the_fault_and_the_flow_refuses_to_start(
    tmp_path, mutate, table, field, rule
):
    path = write_harbour(tmp_path / "city", firms=400)
    mutate(path.parent)
    result, report = _check(path, tmp_path)
    assert result.exit_code == 3, result.output
    errors = [
        (i["table"], i["field"], i["rule"]) for i in report["issues"] if i["level"] == "error"
    ]
    assert errors == [(table, field, rule)]
    assert "Traceback" not in result.output
    out = tmp_path / "data"
    run = CliRunner().invoke(
        app, ["city", "run", str(path), "--data", str(out), "--reports", str(tmp_path / "reports")]
    )
    assert run.exit_code == 3, run.output
    assert not (out / "entities").exists() and not (out / "profile.parquet").exists()


def test_a_few_orphans_are_quarantined_and_the_flow_goes_on(tmp_path):
    path = write_harbour(tmp_path / "city", firms=400)
    calls = pd.read_csv(path.parent / "calls.csv", dtype=str)
    calls.loc[[2, 7], "firm"] = "HB999999"  # never registered
    calls.to_csv(path.parent / "calls.csv", index=False)
    city, folder = load_city(path)
    prepared = prepare(city, folder)
    assert not prepared.errors
    warned = [i for i in prepared.issues if i.rule == "key_not_registered"]
    assert [(w.level, w.count) for w in warned] == [("warning", 2)]
    q = prepared.quarantine
    assert q[q["rule"] == "key_not_registered"][["table", "row", "value"]].values.tolist() == [
        ["calls", 2, "HB999999"],
        ["calls", 7, "HB999999"],
    ]
    assert len(prepared.events["complaint"]) == len(calls) - 2


def test_a_city_file_that_breaks_the_schema_is_refused_with_its_keys(tmp_path):
    config = city_file()
    config["events"][0]["known_after_days"] = 3  # beside known_on
    config["label"]["problem"] = ["major", "serious"]  # no code maps to serious
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["city", "check", str(path)])
    assert result.exit_code == 2, result.output
    assert "exactly one of known_on and known_after_days" in result.output
    assert "Traceback" not in result.output


_CELL = st.one_of(
    st.sampled_from(["", " ", "0", "9", "20240230", "2024/13/1", "HB100003", "ROUTINE", "x" * 90]),
    st.text(st.characters(exclude_characters="\r\n"), max_size=12),
)
"""A cell's text (a line break would break the file itself: `test_a_broken_file_is_named`)."""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(
                ["visit_ref", "firm", "visit_day", "logged", "verdict", "officer", "visit_type"]
            ),
            _CELL,
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_mutation_of_a_table_is_accounted_for_and_never_raises(tmp_path, cells):
    """Whatever a department's cells hold, every row is accepted, refused with a rule or left
    out; the counts reconcile; accepted inspections are dated and known after they happened."""
    path = tmp_path / "city" / "city.yaml"
    if not path.exists():
        write_harbour(path.parent, firms=200)
        (path.parent / "visits.orig").write_bytes((path.parent / "visits.csv").read_bytes())
    visits = pd.read_csv(path.parent / "visits.orig", dtype=str, keep_default_na=False)
    for row, column, value in cells:
        visits.loc[row % len(visits), column] = value
    visits.to_csv(path.parent / "visits.csv", index=False)
    city, folder = load_city(path)
    prepared = prepare(city, folder)
    counts = prepared.counts["visits"]
    assert counts["rows"] == len(visits)
    assert counts["accepted"] + counts["refused"] + counts["left_out"] == len(visits)
    q = prepared.quarantine
    assert q[["table", "row", "field", "rule"]].notna().all().all()
    if "inspection" in prepared.events:
        accepted = prepared.events["inspection"]
        assert len(accepted) == counts["accepted"]
        assert accepted["occurred_on"].notna().all()
        assert (accepted["known_on"] >= accepted["occurred_on"]).all()
        assert accepted["outcome"].isin(["clean", "minor", "major"]).all()


def test_a_broken_file_is_named_with_its_record_and_the_flow_stops(tmp_path):
    path = write_harbour(tmp_path / "city", firms=200)
    text = (path.parent / "visits.csv").read_text(encoding="utf-8").splitlines()
    text[5] = text[5] + ',"an open quote'
    (path.parent / "visits.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    city, folder = load_city(path)
    prepared = prepare(city, folder)
    [error] = prepared.errors
    assert (error.table, error.rule) == ("visits", "table_unreadable")
    assert "visits.csv" in error.message and "record" in error.message
