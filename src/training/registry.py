"""The risk model in the MLflow Model Registry: versions, aliases, gates and model cards.

`train` logs the calibrated model as an MLflow pyfunc (it returns probabilities, not labels),
with its signature, an input example and a model card, registers a version and points the
alias `challenger` at it. `evaluate` judges the challenger on the held-out round and records
each promotion gate as a tag of the version; only when every gate passes does the alias
`champion` move to it. Serving and screening load `models:/<name>@champion`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

CHALLENGER, CHAMPION = "challenger", "champion"
# A progress bar per download floods the stage logs for a model of a few files.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
MODEL_FILE = "risk_model.joblib"


class PyfuncRiskModel(mlflow.pyfunc.PythonModel):
    """The MLflow face of a `RiskModel`: a frame of factors in, a frame of probabilities out."""

    def load_context(self, context) -> None:
        self.model = joblib.load(context.artifacts["risk_model"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predictions(self.model, model_input)


def predictions(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The calibrated probability and the (finer) ranking score of each row."""
    return pd.DataFrame(
        {"probability": model.predict_proba(frame)[:, 1], "rank_score": model.raw_score(frame)}
    )


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "joblib")
    ]


def log_model(model, example: pd.DataFrame, name: str, card: str) -> str:
    """Log `model` to the active run, register it under `name`, point `challenger` at the new
    version, store the model card with it. Returns the version."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        joblib.dump(model, path)
        example = example[list(model.factors)].head(5)
        output = predictions(model, example)
        info = mlflow.pyfunc.log_model(
            name="risk_model",
            python_model=PyfuncRiskModel(),
            artifacts={"risk_model": str(path)},
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=_requirements(),
            registered_model_name=name,
        )
        card_path = Path(tmp) / "model_card.md"
        card_path.write_text(card, encoding="utf-8")
        mlflow.log_artifact(str(card_path))
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.update_model_version(name, version, description=card)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return version


def load(name: str, alias: str):
    """The `RiskModel` behind `models:/<name>@<alias>`, or None if the alias is not set."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None, None
    with tempfile.TemporaryDirectory(prefix="riskdraw-model-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            f"models:/{name}/{version.version}", dst_path=tmp
        )
        found = list(Path(local).rglob(MODEL_FILE))
        if not found:
            raise FileNotFoundError(f"models:/{name}/{version.version} holds no {MODEL_FILE}")
        return joblib.load(found[0]), str(version.version)


def record_gates(name: str, version: str, gates: dict[str, dict]) -> bool:
    """Tag the version with every gate (`gate.<name>` = pass/fail, `gate.<name>.detail`) and
    move `champion` to it if all pass. Returns whether it was promoted."""
    client = MlflowClient()
    passed = all(g["passed"] for g in gates.values())
    for gate, result in gates.items():
        verdict = "pass" if result["passed"] else "fail"
        client.set_model_version_tag(name, version, f"gate.{gate}", verdict)
        detail = json.dumps(result["detail"], default=str)
        client.set_model_version_tag(name, version, f"gate.{gate}.detail", detail)
    client.set_model_version_tag(name, version, "promoted", str(passed).lower())
    if passed:
        client.set_registered_model_alias(name, CHAMPION, version)
    return passed
