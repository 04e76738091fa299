"""The `riskdraw` command as a user runs it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from riskdraw.cli import app
from tests.conftest import PARAMS

pytestmark = pytest.mark.pipeline
runner = CliRunner()


def test_help_explains_each_stage():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "simulate" in result.output and "summary" in result.output
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    for option in ("--entities", "--seed", "--config", "--out", "--truth"):
        assert option in result.output


def test_simulate_then_summary(tmp_path):
    other = tmp_path / "other-city.yaml"
    other.write_text(
        "simulate:\n  drivers: [{name: changes_365, effect: 2.0}]\n  interactions: []\n",
        encoding="utf-8",
    )
    report = tmp_path / "simulate.json"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--entities",
            "400",
            "--seed",
            "11",
            "--config",
            str(other),
            "--out",
            str(tmp_path / "raw"),
            "--truth",
            str(tmp_path / "truth"),
            "--report",
            str(report),
            "--params",
            str(PARAMS),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    rep = json.loads(report.read_text())
    assert rep["entities"] == 400 and rep["seed"] == 11 and rep["sources"] == 142
    for key in ("entities", "sources", "records", "formats", "random_hit_rate"):
        assert key in rep
    drivers = json.loads((tmp_path / "truth" / "drivers.json").read_text())
    assert [d["name"] for d in drivers["drivers"]] == ["changes_365"]
    # The run is in MLflow with its figures and the data version it describes.
    from mlflow.tracking import MlflowClient

    from riskdraw.tracking import file_digest

    client = MlflowClient()
    experiment = client.get_experiment_by_name("riskdraw-simulate")
    runs = client.search_runs([experiment.experiment_id], filter_string="params.seed = '11'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.metrics["random_hit_rate"] == rep["random_hit_rate"]
    assert run.data.tags["data_version"] == file_digest(tmp_path / "raw" / "manifest.json")
    assert {a.path for a in client.list_artifacts(run.info.run_id, "city")} == {
        "city/manifest.json",
        "city/simulate.json",
    }
    assert "drivers.json" not in str(client.list_artifacts(run.info.run_id))
    result = runner.invoke(app, ["summary", "--simulate-report", str(report)])
    assert result.exit_code == 0
    assert "records by kind" in result.output and "hit rate" in result.output


def test_a_bad_parameter_stops_before_any_compute(tmp_path):
    result = runner.invoke(
        app,
        [
            "simulate",
            "--entities",
            "-5",
            "--out",
            str(tmp_path / "raw"),
            "--truth",
            str(tmp_path / "truth"),
            "--params",
            str(PARAMS),
        ],
    )
    assert result.exit_code == 2
    assert "simulate.entities" in result.output
    assert not (tmp_path / "raw").exists()
