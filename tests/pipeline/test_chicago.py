"""Chicago's real food inspections: the city's evaluation reproduced by our code, riskdraw's
model beside it, and bad rows refused with their reasons."""

from __future__ import annotations

import gzip
import json

import mlflow
import pandas as pd
import pytest
import yaml

from riskdraw.cities.chicago import DATA_FILE, read_inspections
from riskdraw.training.metrics import days_earlier
from tests.conftest import ROOT, assert_committed_clean, run_cli, run_notebook

pytestmark = pytest.mark.pipeline
DATA = ROOT / "catalogue" / "chicago"
NOTEBOOK = ROOT / "notebooks" / "08-chicago.ipynb"
CONFIG = ROOT / "configs" / "chicago.yaml"


@pytest.fixture(scope="module")
def chicago_out(tmp_path_factory):
    """`riskdraw chicago` with the city's config, fewer resamples and two trials (quicker)."""
    out = tmp_path_factory.mktemp("chicago")
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["select"] |= {"l1_resamples": 5, "perm_repeats": 1}
    config["chicago"]["data"] = str(DATA)
    params = out / "chicago.yaml"
    params.write_text(yaml.safe_dump(config), encoding="utf-8")
    run_cli(
        "chicago", "--trials", "2", "--report", str(out / "chicago.json"),
        "--quarantine", str(out / "quarantine.csv"), "--scores", str(out / "scores.csv"),
        "--storage", str(out / "optuna.db"), "--params", str(params),
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
    for key in ("city_with_inspector", "riskdraw_without_inspector"):
        assert days_earlier(
            scores["inspection_date"].to_numpy("datetime64[D]"), scores[key], scores["problem"]
        ) == pytest.approx(r[key]["days_earlier"])
    runs = mlflow.search_runs(experiment_names=["riskdraw-chicago"])
    names = set(runs["tags.mlflow.runName"])
    assert {"chicago", "city model, with inspector", "riskdraw, without inspector"} <= names
    assert (runs["tags.role"] == "trial").sum() >= 4  # two trials each way


def test_bad_rows_are_quarantined_with_field_and_rule_and_the_counts_reconcile(tmp_path):
    frame = pd.read_csv(DATA / DATA_FILE)
    frame.loc[3, "criticalFound"] = 2
    frame.loc[5, "Inspector_Assigned"] = "grey"
    frame.loc[8, ["Test", "Train"]] = True
    frame.loc[13, "Inspection_Date"] = "2014-02-30"
    with gzip.open(tmp_path / DATA_FILE, "wt") as f:
        frame.to_csv(f, index=False)
    accepted, refused = read_inspections(tmp_path)
    assert len(accepted) + refused["row"].nunique() == len(frame)
    assert set(refused["row"]) == {3, 5, 8, 13}
    by_row = refused.set_index("row")
    assert by_row.loc[3, "field"] == "criticalFound" and "isin" in by_row.loc[3, "rule"]
    assert by_row.loc[5, "field"] == "Inspector_Assigned"
    assert "exactly one of Test, Train" in by_row.loc[8, "rule"]
    assert by_row.loc[13, "field"] == "Inspection_Date"


def test_a_file_without_a_needed_column_is_refused_by_name(tmp_path):
    frame = pd.read_csv(DATA / DATA_FILE).drop(columns=["pastCritical"])
    with gzip.open(tmp_path / DATA_FILE, "wt") as f:
        frame.head(50).to_csv(f, index=False)
    with pytest.raises(ValueError, match=r"columns missing: \['pastCritical'\]"):
        read_inspections(tmp_path)


@pytest.mark.slow
def test_the_chicago_notebook_runs_on_the_stages_outputs(chicago_out, chicago_run, tmp_path):
    cells = run_notebook(
        NOTEBOOK,
        tmp_path,
        {
            "report_path": str(chicago_out / "chicago.json"),
            "scores_path": str(chicago_out / "scores.csv"),
            "data_path": str(DATA),
        },
    )
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = "\n".join(o.get("text", "") for o in outputs if "text" in o)
    assert "reproduced: True" in text and ", ".join(chicago_run["factors"]) in text


def test_the_committed_chicago_notebook_has_no_outputs_and_a_parameters_cell():
    assert_committed_clean(NOTEBOOK)


def test_riskdraws_own_commands_run_on_the_city_chosen_in_config(tmp_path):
    """`profile.city: chicago` swaps the simulated city's events for the city's adapter; select,
    tune, train and evaluate are the same commands, and evaluate adds the city's measure."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["tune"]["trials"] = 2
    config["train"]["model_name"] = "chicago-test"
    config["chicago"]["data"] = str(DATA)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(config), encoding="utf-8")
    profile, p = tmp_path / "profile.parquet", str(params)
    run_cli("profile", "--params", p, "--out", str(profile), "--report", str(tmp_path / "p.json"))
    assert len(list(profile.glob("as_of=*.parquet"))) == 12  # 11 training rounds and the test
    run_cli(
        "select", "--params", p, "--profile", str(profile), "--report", str(tmp_path / "s.json"),
        "--scores", str(tmp_path / "s.csv"), "--plot", str(tmp_path / "s.png"), "--no-track",
    )  # fmt: skip
    selection = json.loads((tmp_path / "s.json").read_text())
    assert selection["attributes"] == 28 and 1 <= len(selection["factors"]) <= 12
    run_cli(
        "tune", "--params", p, "--profile", str(profile), "--selection", str(tmp_path / "s.json"),
        "--report", str(tmp_path / "t.json"), "--storage", str(tmp_path / "optuna.db"),
    )  # fmt: skip
    tuning = json.loads((tmp_path / "t.json").read_text())
    assert {"rule scorecard", "LightGBM (all attributes)"} <= set(tuning["compared"])
    run_cli(
        "train", "--params", p, "--profile", str(profile), "--tuning", str(tmp_path / "t.json"),
        "--report", str(tmp_path / "tr.json"),
    )  # fmt: skip
    run_cli(
        "evaluate", "--params", p, "--profile", str(profile), "--train-report",
        str(tmp_path / "tr.json"), "--metrics", str(tmp_path / "m.json"), "--plots",
        str(tmp_path / "ev"),
    )  # fmt: skip
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["round"] == "2014-09-02" and metrics["inspections"] == 1_637
    assert metrics["first_half_share_business_as_usual"] == pytest.approx(0.5465, abs=1e-4)
    assert metrics["days_earlier"] > 0 and set(metrics["top_share_hit_rates"]) == {
        "5%", "10%", "20%"
    }  # fmt: skip
