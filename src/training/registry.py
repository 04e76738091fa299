"""The risk model in the MLflow Model Registry: versions, aliases, gates and model cards.

`train` logs the `ScoringModel` (the calibrated model with its class cut-offs and its factors'
wording) as an MLflow pyfunc that returns probability, ranking score and risk class through
the one scoring function, with its signature, an input example and a model card, registers a
version and points the alias `challenger` at it. `evaluate` loads the version `train`
recorded, judges it on the held-out round and records each promotion gate as a tag of the
version; only when every gate passes does the alias `champion` move to it. The service loads
`models:/<name>@champion` and reports the version it serves.
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

from .scoring import SCORES, ScoringModel, score

CHALLENGER, CHAMPION = "challenger", "champion"
# A progress bar per download floods the stage logs for a model of a few files.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
MODEL_FILE = "risk_model.joblib"


class PyfuncRiskModel(mlflow.pyfunc.PythonModel):
    """The MLflow face of a `ScoringModel`: a frame of factors in; probability, ranking score
    and risk class out, by the one scoring function."""

    def load_context(self, context) -> None:
        self.model = _as_scoring_model(joblib.load(context.artifacts["risk_model"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return score(self.model, model_input)[list(SCORES)]


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "joblib")
    ]


def log_model(model: ScoringModel, example: pd.DataFrame, name: str, card: str) -> str:
    """Log `model` to the active run, register it under `name`, point `challenger` at the new
    version, store the model card and what its scores mean (`scoring.json`: factors and their
    wording, class cut-offs; also tags of the version) with it. Returns the version."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_FILE
        joblib.dump(model, path)
        example = example[list(model.factors)].head(5)
        output = score(model, example)[list(SCORES)]
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
        mlflow.log_dict(model.describe(), "scoring.json")
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.update_model_version(name, version, description=card)
    client.set_model_version_tag(name, version, "cutoffs", json.dumps(model.cutoffs))
    client.set_model_version_tag(name, version, "factors", ", ".join(model.factors))
    client.set_registered_model_alias(name, CHALLENGER, version)
    return version


def alias_version(name: str, alias: str) -> str | None:
    """The version `models:/<name>@<alias>` points at, or None if the alias is not set."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_version(name: str, version: str) -> ScoringModel:
    """The `ScoringModel` of `models:/<name>/<version>` (a pinned version, never an alias:
    stages load what `train` recorded).

    Raises:
        LookupError: the registry holds no such version.
    """
    try:
        MlflowClient().get_model_version(name, str(version))
    except MlflowException as error:
        raise LookupError(f"the registry holds no version {version} of {name}") from error
    with tempfile.TemporaryDirectory(prefix="riskdraw-model-") as tmp:
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=tmp)
        found = list(Path(local).rglob(MODEL_FILE))
        if not found:
            raise LookupError(f"models:/{name}/{version} holds no {MODEL_FILE}")
        return _as_scoring_model(joblib.load(found[0]))


def _as_scoring_model(obj) -> ScoringModel:
    if not isinstance(obj, ScoringModel):
        raise LookupError(
            f"{MODEL_FILE} holds a {type(obj).__name__}, not a ScoringModel: a version "
            "registered before models carried their classes; train a new one"
        )
    return obj


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


def make_champion(name: str, version: str, why: str) -> None:
    """Move `champion` to a version without the held-out gates, saying why on the version (the
    rounds loop: each round's model is judged on the round it plans, after the fact)."""
    client = MlflowClient()
    client.set_model_version_tag(name, version, "promoted", "true")
    client.set_model_version_tag(name, version, "promoted_because", why)
    client.set_registered_model_alias(name, CHAMPION, version)
