"""`riskdraw select` on the tiny city's profile: the report, MLflow's comparison, notebook 03."""

from __future__ import annotations

import json
from dataclasses import dataclass

import mlflow
import pytest
from typer.testing import CliRunner

from riskdraw.cli import app
from riskdraw.config import load_section
from riskdraw.tracking import use_experiment
from tests.conftest import PARAMS, ROOT, assert_committed_clean, profile_folder, run_notebook

pytestmark = pytest.mark.pipeline
NOTEBOOK = ROOT / "notebooks" / "03-factor-selection.ipynb"


@dataclass(frozen=True)
class Selected:
    report: dict
    paths: dict


@pytest.fixture(scope="module")
def selected(tiny_city, tiny_profile, tmp_path_factory) -> Selected:
    out = tmp_path_factory.mktemp("select")
    paths = {
        "report": out / "selection.json",
        "scores": out / "scores.csv",
        "plot": out / "selection.png",
    }
    result = CliRunner().invoke(
        app,
        [
            "select",
            "--profile",
            str(tiny_profile.path),
            "--params",
            str(PARAMS),
            *[arg for key, path in paths.items() for arg in (f"--{key}", str(path))],
        ],
    )
    assert result.exit_code == 0, result.output
    truth = out / "selection-truth.json"
    judged = CliRunner().invoke(
        app,
        [
            "evaluate-selection", "--selection", str(paths["report"]), "--truth",
            str(tiny_city.truth), "--report", str(truth),
        ],
    )  # fmt: skip
    assert judged.exit_code == 0, judged.output
    paths["truth"] = truth
    return Selected(json.loads(paths["report"].read_text()), paths)


def test_the_report_names_the_factors_and_how_they_were_chosen(selected, tiny_profile):
    report = selected.report
    n = load_section("select", PARAMS).n_factors
    attrs = {a.name: a.family for a in tiny_profile.attributes}
    assert len(report["factors"]) == n and len(set(report["factors"])) == n
    assert set(report["factors"]) <= set(attrs)
    assert report["attributes"] == len(attrs)
    families = [attrs[f] for f in report["factors"]]
    assert len(set(families)) == n  # one factor per family
    assert {"iv", "gbm", "l1", "perm", "consensus"} == set(report["methods"])
    assert "true_drivers_recovered" not in report  # selection never reads the truth
    truth = json.loads(selected.paths["truth"].read_text())
    assert 0 <= truth["true_drivers_recovered"] <= truth["true_drivers"]
    assert truth["true_drivers_recovered"] == len(truth["recovered"])
    assert set(truth["methods"]) == set(report["methods"])
    # The held-out round is never read.
    rounds = sorted(tiny_profile.frame.loc[tiny_profile.frame["snapshot"] == "round", "as_of_date"])
    assert max(report["rounds"]) < str(rounds[-1].date())
    assert selected.paths["plot"].stat().st_size > 10_000


def test_mlflow_holds_one_parent_run_with_a_child_per_method(selected):
    runs = mlflow.search_runs([use_experiment("select")], order_by=["start_time DESC"])
    parent = runs[runs["tags.stage"] == "select"].iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    assert set(children["params.method"]) == {"iv", "gbm", "l1", "perm", "consensus"}
    assert children["metrics.val_auc_lightgbm"].notna().all()
    assert parent["params.factor_01"] == selected.report["factors"][0]
    judged = runs[runs["tags.stage"] == "selection-evaluation"].iloc[0]
    truth = json.loads(selected.paths["truth"].read_text())
    assert judged["metrics.true_drivers_recovered"] == truth["true_drivers_recovered"]


@pytest.mark.slow
def test_the_factor_selection_notebook_runs_on_the_tiny_city(selected, tiny_profile, tmp_path):
    cells = run_notebook(
        NOTEBOOK,
        tmp_path,
        {
            "selection_report": str(selected.paths["report"]),
            "scores_path": str(selected.paths["scores"]),
            "truth_report": str(selected.paths["truth"]),
            "profile_path": str(tiny_profile.path),
        },
    )
    images = sum(
        "image/png" in output.get("data", {}) for c in cells for output in c.get("outputs", [])
    )
    assert images >= 3
    text = "\n".join(o.get("text", "") for c in cells for o in c.get("outputs", []) if "text" in o)
    assert f"{len(selected.report['factors'])} factors chosen" in text
    assert "true drivers recovered" in text


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    assert_committed_clean(NOTEBOOK)


def test_select_refuses_a_profile_without_enough_rounds(tiny_profile, tmp_path):
    import pandas as pd

    frame = pd.read_parquet(tiny_profile.path)
    last = frame.loc[frame["snapshot"] == "round", "as_of_date"].max()
    thin = profile_folder(
        frame[(frame["snapshot"] != "round") | (frame["as_of_date"] == last)],
        tmp_path / "profile.parquet",
    )
    result = CliRunner().invoke(app, ["select", "--profile", str(thin), "--no-track"])
    assert result.exit_code != 0
    assert "at least two rounds" in str(result.exception) + result.output
