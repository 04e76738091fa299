"""tune, train and evaluate on the tiny city: MLflow runs, the registry, the gates."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow import MlflowClient

from riskdraw.tracking import use_experiment
from tests.conftest import MODEL_FACTORS as FACTORS
from tests.conftest import model_params as _params
from tests.conftest import run_cli as _run


@pytest.fixture(scope="module")
def tuned(tiny_profile, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    selection = tmp / "selection.json"
    selection.write_text(json.dumps({"factors": FACTORS}), encoding="utf-8")
    params = _params(tmp, "tiny-risk")
    report = tmp / "tuning.json"
    _run(
        "tune", "--profile", str(tiny_profile.path), "--selection", str(selection),
        "--report", str(report), "--storage", str(tmp / "optuna.db"), "--params", params,
    )  # fmt: skip
    return tmp, json.loads(report.read_text()), params


def test_tuning_logs_every_trial_under_one_parent_beside_the_baselines(tuned):
    _, report, _ = tuned
    assert sum(report["trials"].values()) == 4
    assert set(report["best_params"]) >= {"num_leaves", "learning_rate", "subsample_freq"}
    assert set(report["compared"]) == {
        "LightGBM tuned (best trial)",
        "random draw",
        "rule scorecard",
        f"logistic ({len(FACTORS)} factors)",
        "LightGBM (all attributes)",
        f"LightGBM ({len(FACTORS)} factors)",
    }
    random = report["compared"]["random draw"]
    assert random["val_auc"] == pytest.approx(0.5)
    runs = mlflow.search_runs([use_experiment("model")])
    trials = runs[runs["tags.mlflow.parentRunId"] == report["run_id"]]
    assert len(trials) == report["trials"].get("complete", 0)
    assert (trials["tags.role"] == "trial").all()
    baselines = runs[runs["tags.tuning_run"] == report["run_id"]]
    assert len(baselines) == 5 and baselines["metrics.val_hit_rate_at_capacity"].notna().all()


def test_a_rerun_resumes_the_study(tuned, tiny_profile):
    tmp, _, params = tuned
    report = tmp / "tuning-2.json"
    _run(
        "tune", "--profile", str(tiny_profile.path), "--selection", str(tmp / "selection.json"),
        "--report", str(report), "--storage", str(tmp / "optuna.db"), "--params", params,
        "--trials", "6",
    )  # fmt: skip
    assert sum(json.loads(report.read_text())["trials"].values()) == 6  # 4 kept, 2 added


def test_promotion_to_champion_goes_only_through_the_gates(tuned, tiny_profile):
    tmp, _, _ = tuned
    client = MlflowClient()

    def train_and_evaluate(name: str, **gates) -> dict:
        params = _params(tmp, name, **gates)
        _run(
            "train", "--profile", str(tiny_profile.path), "--tuning", str(tmp / "tuning.json"),
            "--report", str(tmp / f"train-{name}.json"), "--params", params,
        )  # fmt: skip
        metrics = tmp / f"metrics-{name}.json"
        _run(
            "evaluate", "--profile", str(tiny_profile.path), "--metrics", str(metrics),
            "--train-report", str(tmp / f"train-{name}.json"),
            "--plots", str(tmp / f"plots-{name}"), "--params", params,
        )  # fmt: skip
        return json.loads(metrics.read_text())

    # A calibration bound no model meets: the challenger stays a challenger.
    strict = train_and_evaluate("tiny-strict", max_calibration_error=1e-9)
    version = client.get_model_version_by_alias("tiny-strict", "challenger")
    assert not strict["promoted"] and not strict["gates"]["calibration"]
    assert version.tags["gate.calibration"] == "fail" and version.tags["promoted"] == "false"
    assert "champion" not in client.get_registered_model("tiny-strict").aliases
    card = version.description
    assert "Intended use" in card and FACTORS[0] in card

    # Bounds it meets: champion. The next version must then beat it to move the alias.
    loose = dict(max_calibration_error=1.0, slice_floor=0.0)
    first = train_and_evaluate("tiny-loose", **loose)
    assert first["promoted"]
    champion = client.get_model_version_by_alias("tiny-loose", "champion")
    assert str(champion.version) == str(first["model_version"])
    second = train_and_evaluate("tiny-loose", **loose)
    assert second["model_version"] != first["model_version"]
    assert second["gates"]["beats_champion"] == (
        second["hit_rate_model"] >= first["hit_rate_model"]
    )
    moved = str(client.get_model_version_by_alias("tiny-loose", "champion").version)
    assert moved == str(second["model_version"] if second["promoted"] else champion.version)
    for key in ("hit_rate_random", "hit_rate_by_class", "hit_rate_plan", "compliant_reduction"):
        assert key in second
    assert set(second["hit_rate_by_class"]) == {"A", "B", "C", "D"}
    assert all(type(ok) is bool for ok in second["gates"].values())  # true JSON booleans

    # The champion serves scores through MLflow's own loader (as the service will), by the
    # one scoring function, with the classes registered with it.
    import pandas as pd

    from riskdraw.training.registry import load_version
    from riskdraw.training.scoring import score

    served = mlflow.pyfunc.load_model("models:/tiny-loose@champion")
    rows = pd.read_parquet(tiny_profile.path).head(50)
    out = served.predict(rows[FACTORS])
    assert list(out.columns) == ["probability", "rank_score", "risk_class"]
    assert out["probability"].between(0, 1).all()
    model = load_version("tiny-loose", str(champion.version if not second["promoted"] else moved))
    pd.testing.assert_frame_equal(out, score(model, rows)[list(out.columns)])
    assert model.cutoffs == second["cutoffs"]
    assert json.loads(client.get_model_version("tiny-loose", moved).tags["cutoffs"]) == (
        model.cutoffs
    )


def test_evaluate_judges_the_version_train_recorded_not_the_moving_alias(tuned, tiny_profile):
    """Another version registered after train (the alias moves to it) is not the one judged."""
    tmp, _, _ = tuned
    params = _params(tmp, "tiny-pinned", max_calibration_error=1.0, slice_floor=0.0)
    for report in ("train-pinned-1.json", "train-pinned-2.json"):
        _run(
            "train", "--profile", str(tiny_profile.path), "--tuning", str(tmp / "tuning.json"),
            "--report", str(tmp / report), "--params", params,
        )  # fmt: skip
    first = json.loads((tmp / "train-pinned-1.json").read_text())
    assert MlflowClient().get_model_version_by_alias("tiny-pinned", "challenger").version != (
        int(first["version"])
    )
    metrics = tmp / "metrics-pinned.json"
    _run(
        "evaluate", "--profile", str(tiny_profile.path), "--train-report",
        str(tmp / "train-pinned-1.json"), "--metrics", str(metrics), "--plots",
        str(tmp / "plots-pinned"), "--params", params,
    )  # fmt: skip
    assert json.loads(metrics.read_text())["model_version"] == first["version"]
