"""Chicago's real food inspections, as a configured city: the city's evaluation reproduced by
our code, riskdraw's model beside it, its own commands run by its file, and bad rows refused
with their reasons."""

from __future__ import annotations

import gzip
import json

import mlflow
import pandas as pd
import pytest
import yaml

from riskdraw.cities.config import load_city
from riskdraw.cities.tables import prepare
from riskdraw.training.metrics import days_earlier
from tests.conftest import ROOT, assert_committed_clean, run_cli, run_notebook

pytestmark = pytest.mark.pipeline
CITY = ROOT / "cities" / "chicago" / "city.yaml"
DATA_FILE = ROOT / "cities" / "chicago" / "data" / "30_xgboost_data.csv.gz"
NOTEBOOK = ROOT / "notebooks" / "08-chicago.ipynb"


def city_copy(folder, table=None, **params) -> str:
    """Chicago's city file written into `folder` (its table where it is, or `table`), with
    `params` sections' keys replaced; returns its path."""
    config = yaml.safe_load(CITY.read_text(encoding="utf-8"))
    config["tables"]["model"]["path"] = str(table or DATA_FILE)
    for section, keys in params.items():
        config["params"][section] = config["params"].get(section, {}) | keys
    path = folder / "city.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def chicago_out(tmp_path_factory):
    """`riskdraw chicago` with the city's file, fewer resamples and two trials (quicker)."""
    out = tmp_path_factory.mktemp("chicago")
    params = city_copy(out, select={"l1_resamples": 5, "perm_repeats": 1})
    run_cli(
        "chicago", "--trials", "2", "--report", str(out / "chicago.json"),
        "--quarantine", str(out / "quarantine.csv"), "--scores", str(out / "scores.csv"),
        "--storage", str(out / "optuna.db"), "--params", params,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def chicago_run(chicago_out):
    return json.loads((chicago_out / "chicago.json").read_text())


def test_the_citys_published_evaluation_is_reproduced_by_our_code(chicago_run):
    r = chicago_run
    assert r["rows_in"] == r["rows_accepted"] == 18_712 and r["rows_quarantined"] == 0
    assert r["test_period"] == ["2014-09-02", "2014-10-31"]
    city = r["city_with_inspector"]
    assert city["inspections"] == 1_637 and city["problems_found"] == 258
    # Published: 7.44 days earlier; 0.5465 of the critical violations in the first half as the
    # work was done, 0.6822 re-ordered by the city's model; 2.20 days without the inspector.
    assert abs(r["reproduced_days_earlier"] - 7.44) <= 0.3
    assert abs(r["reproduced_first_half_share"] - 0.6822) <= 0.01
    assert r["reproduced_first_half_share_business_as_usual"] == pytest.approx(0.5465, abs=1e-4)
    assert abs(r["reproduced_days_earlier_without_inspector"] - 2.20) <= 0.3
    assert r["reproduced"]


def test_riskdraw_reports_both_ways_beside_the_city(chicago_run, chicago_out):
    r = chicago_run
    assert 1 <= len(r["factors"]) <= 12
    assert not any(f.startswith("inspector_") for f in r["factors"])
    for way in ("with_inspector", "without_inspector"):
        m = r[f"riskdraw_{way}"]
        assert set(m["top_share_hit_rates"]) == {"5%", "10%", "20%"}
        assert m["inspections"] == 1_637
        # Whatever it learned, it re-orders the work sooner than as it was done (0 days).
        assert r[f"riskdraw_days_earlier_{way}"] > 0
    scores = pd.read_csv(chicago_out / "scores.csv")
    assert len(scores) == 1_637 and scores["inspection_id"].is_unique
    assert set(scores["inspector_group"]) == {"blue", "brown", "green", "orange", "purple",
                                              "yellow"}  # fmt: skip
    for key in ("city_with_inspector", "riskdraw_without_inspector"):
        assert days_earlier(
            scores["inspection_date"].to_numpy("datetime64[D]"), scores[key], scores["problem"]
        ) == pytest.approx(r[key]["days_earlier"])
    runs = mlflow.search_runs(experiment_names=["riskdraw-chicago-reproduction"])
    names = set(runs["tags.mlflow.runName"])
    assert {"chicago", "city model, with inspector", "riskdraw, without inspector"} <= names
    assert (runs["tags.role"] == "trial").sum() >= 4  # two trials each way


def _mutated(tmp_path, change) -> str:
    frame = pd.read_csv(DATA_FILE, dtype=str, keep_default_na=False)
    change(frame)
    table = tmp_path / "model.csv.gz"
    with gzip.open(table, "wt") as f:
        frame.to_csv(f, index=False)
    return city_copy(tmp_path, table)


def test_bad_rows_are_quarantined_with_field_and_rule_and_the_counts_reconcile(tmp_path):
    def change(frame):
        frame.loc[13, "Inspection_Date"] = "2014-02-30"
        frame.loc[21, "pastCritical"] = "many"
        frame.loc[34, "License"] = ""
        frame.loc[55, "Inspection_ID"] = frame.loc[54, "Inspection_ID"]

    city, folder = load_city(_mutated(tmp_path, change))
    prepared = prepare(city, folder)
    assert not prepared.errors  # four rows of 18,712: within the city's checks
    counts = prepared.counts["model"]
    assert counts["rows"] == 18_712 and counts["accepted"] + counts["refused"] == 18_712
    by_row = prepared.quarantine.set_index("row")
    assert set(by_row.index) == {13, 21, 34, 55}
    assert by_row.loc[13, ["field", "rule"]].tolist() == ["Inspection_Date", "date_impossible"]
    assert by_row.loc[21, ["field", "rule", "value"]].tolist() == [
        "pastCritical", "number_unparseable", "many"]  # fmt: skip
    assert by_row.loc[34, ["field", "rule"]].tolist() == ["License", "missing_value"]
    assert by_row.loc[55, ["field", "rule"]].tolist() == ["Inspection_ID", "duplicate_id"]
    assert len(prepared.events["inspection"]) == len(prepared.features) == 18_708


def test_an_outcome_nobody_mapped_stops_the_city_by_name(tmp_path):
    def change(frame):
        frame.loc[[3, 9], "criticalFound"] = "2.0"

    path = _mutated(tmp_path, change)
    from typer.testing import CliRunner

    from riskdraw.cli import app

    result = CliRunner().invoke(app, ["city", "check", path, "--report",
                                      str(tmp_path / "check.json")])  # fmt: skip
    assert result.exit_code == 3, result.output
    report = json.loads((tmp_path / "check.json").read_text())
    errors = [i for i in report["issues"] if i["level"] == "error"]
    assert [(i["field"], i["rule"], i["count"]) for i in errors] == [
        ("criticalFound", "value_not_mapped", 2)]  # fmt: skip
    assert "'2.0'" in errors[0]["message"] and "first at row 3" in errors[0]["message"]


@pytest.mark.slow
def test_the_chicago_notebook_runs_on_the_stages_outputs(chicago_out, chicago_run, tmp_path):
    cells = run_notebook(
        NOTEBOOK,
        tmp_path,
        {
            "report_path": str(chicago_out / "chicago.json"),
            "scores_path": str(chicago_out / "scores.csv"),
            "city_path": str(CITY),
        },
    )
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = "\n".join(o.get("text", "") for o in outputs if "text" in o)
    assert "reproduced: True" in text and ", ".join(chicago_run["factors"]) in text


def test_the_committed_chicago_notebook_has_no_outputs_and_a_parameters_cell():
    assert_committed_clean(NOTEBOOK)


def test_riskdraws_own_commands_run_on_the_city_by_its_file(tmp_path):
    """`riskdraw city run` on Chicago's file: the same profile, select, tune, train and
    evaluate commands, evaluate adding the city's measure; its experiments and model its own."""
    params = city_copy(tmp_path, tune={"trials": 2}, train={"model_name": "chicago-test"},
                       select={"l1_resamples": 5, "perm_repeats": 1})  # fmt: skip
    data, reports = tmp_path / "data", tmp_path / "reports"
    run_cli("city", "run", params, "--data", str(data), "--reports", str(reports))
    profile = data / "profile.parquet"
    assert len(list(profile.glob("as_of=*.parquet"))) == 12  # 11 training rounds and the test
    selection = json.loads((reports / "selection.json").read_text())
    assert selection["attributes"] == 28 and 1 <= len(selection["factors"]) <= 12
    tuning = json.loads((reports / "tuning.json").read_text())
    assert {"rule scorecard", "LightGBM (all attributes)"} <= set(tuning["compared"])
    metrics = json.loads((reports / "metrics.json").read_text())
    assert metrics["round"] == "2014-09-02" and metrics["inspections"] == 1_637
    assert metrics["model_name"] == "chicago-test"
    assert metrics["first_half_share_business_as_usual"] == pytest.approx(0.5465, abs=1e-4)
    assert metrics["days_earlier"] > 0 and set(metrics["top_share_hit_rates"]) == {
        "5%", "10%", "20%"
    }  # fmt: skip
    experiments = {e.name for e in mlflow.search_experiments()}
    assert {"riskdraw-chicago-select", "riskdraw-chicago-model"} <= experiments
    assert not (data / "scores").exists()  # no registry: judged, never screened
