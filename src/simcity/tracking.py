"""Log a simulated city to MLflow: its parameters, its figures, and its data version."""

from __future__ import annotations

from pathlib import Path

from riskdraw.config import SimulateParams
from riskdraw.tracking import file_digest, flatten, git_commit, log_stage_run, use_experiment


def log_simulation(params: SimulateParams, report: dict, manifest: Path, report_path: Path) -> str:
    """One MLflow run per simulated city; returns its run id.

    Logged: the scalar parameters and mess rates, the report's figures, the manifest and report
    as artifacts, and tags `data_version` (sha256 of the manifest) and `git_commit`. The truth
    is not logged: it stays in its own folder for evaluation.
    """
    import mlflow

    experiment = use_experiment("simulate")
    scalars = {
        k: v for k, v in params.model_dump(mode="json").items() if not isinstance(v, list | dict)
    }
    scalars.update(flatten("mess", params.mess.model_dump()))
    scalars["drivers"] = len(params.drivers)
    with log_stage_run(
        experiment,
        "simulate",
        file_digest(report_path),
        f"city-{params.entities}-seed-{params.seed}",
    ) as run:
        mlflow.log_params(scalars)
        mlflow.log_metrics(
            {
                k: float(report[k])
                for k in (
                    "entities",
                    "sources",
                    "records",
                    "inspections",
                    "random_hit_rate",
                    "seconds",
                )
            }
        )
        mlflow.log_metrics({f"records.{k}": float(v) for k, v in report["records_by_kind"].items()})
        mlflow.set_tags({"data_version": file_digest(manifest), "git_commit": git_commit()})
        mlflow.log_artifact(str(manifest), artifact_path="city")
        mlflow.log_artifact(str(report_path), artifact_path="city")
        return run.info.run_id
