"""Notebook 04, the governance review, on the tiny city: tune, train+evaluate twice, papermill."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import MODEL_FACTORS as FACTORS
from tests.conftest import ROOT, assert_committed_clean, model_params, run_notebook
from tests.conftest import run_cli as _run

pytestmark = pytest.mark.pipeline
NOTEBOOK = ROOT / "notebooks" / "04-model-review.ipynb"
MODEL = "review-risk"


@dataclass(frozen=True)
class Reviewed:
    paths: dict[str, Path]
    metrics: dict


@pytest.fixture(scope="module")
def reviewed(tiny_profile, tmp_path_factory) -> Reviewed:
    """tune, then train and evaluate twice: two versions of MODEL, both through the gates."""
    tmp = tmp_path_factory.mktemp("review")
    paths = {
        "selection": tmp / "selection.json",
        "tuning": tmp / "tuning.json",
        "train": tmp / "train.json",
        "metrics": tmp / "metrics.json",
    }
    paths["selection"].write_text(json.dumps({"factors": FACTORS}), encoding="utf-8")
    paths["params"] = Path(
        model_params(tmp, MODEL, trials=3, max_calibration_error=1.0, slice_floor=0.0)
    )
    profile, params = str(tiny_profile.path), str(paths["params"])
    _run(
        "tune", "--profile", profile, "--selection", str(paths["selection"]),
        "--report", str(paths["tuning"]), "--storage", str(tmp / "optuna.db"), "--params", params,
    )  # fmt: skip
    for _ in range(2):
        _run(
            "train", "--profile", profile, "--tuning", str(paths["tuning"]),
            "--report", str(paths["train"]), "--params", params,
        )  # fmt: skip
        _run(
            "evaluate", "--profile", profile, "--metrics", str(paths["metrics"]),
            "--train-report", str(paths["train"]), "--plots", str(tmp / "evaluation"),
            "--params", params,
        )  # fmt: skip
    return Reviewed(paths, json.loads(paths["metrics"].read_text(encoding="utf-8")))


@pytest.mark.slow
def test_the_model_review_notebook_runs_on_the_tiny_city(reviewed, tmp_path):
    client = MlflowClient()
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert len(versions) == 2
    aliases = client.get_registered_model(MODEL).aliases
    champion = str(aliases["champion"])  # both pass the loose gates
    assert reviewed.metrics["promoted"] and str(reviewed.metrics["model_version"]) == champion
    cells = run_notebook(
        NOTEBOOK,
        tmp_path,
        {
            "metrics_path": str(reviewed.paths["metrics"]),
            "tuning_path": str(reviewed.paths["tuning"]),
            "params_path": str(reviewed.paths["params"]),
            "model_name": MODEL,
        },
    )
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 4
    text = "\n".join(o.get("text", "") for o in outputs if "text" in o)
    assert f"champion: version {champion}" in text
    assert f"challenger: version {aliases['challenger']}" in text
    cards = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert any(f"# Model card: {MODEL}" in card and FACTORS[0] in card for card in cards)


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    assert_committed_clean(NOTEBOOK)
