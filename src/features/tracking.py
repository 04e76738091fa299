"""The profile and the factor selection in MLflow (experiment `riskdraw-select`)."""

from __future__ import annotations

from pathlib import Path

from riskdraw.tracking import flatten, git_commit, log_stage_run, use_experiment


def log_selection(
    settings, report: dict, artifacts: list[Path], data_version: str, report_digest: str
) -> str:
    """One parent run with the consensus and a child run per method compared; returns the
    parent's id.

    Args:
        settings: the `select` section it ran with.
        report: `reports/selection.json`.
        artifacts: files logged with the parent (report, scores, plot).
        data_version: the profile's digest.
        report_digest: the report's digest (how `riskdraw track` knows it is logged).
    """
    import mlflow

    experiment = use_experiment("select")
    with log_stage_run(experiment, "select", report_digest) as parent:
        mlflow.log_params(flatten("select", settings.model_dump()))
        mlflow.set_tags({"data_version": data_version, "git_commit": git_commit()})
        for method, m in report["methods"].items():
            with mlflow.start_run(
                experiment_id=experiment,
                run_name=method,
                nested=True,
                parent_run_id=parent.info.run_id,
            ):
                mlflow.log_param("method", method)
                mlflow.log_param("factors", ", ".join(m["factors"]))
                mlflow.log_metrics(_numbers(m))
        mlflow.log_metrics(
            {
                "attributes": report["attributes"],
                "rows": report["rows"],
                **_numbers(report["methods"]["consensus"]),
            }
        )
        for i, name in enumerate(report["factors"], 1):
            mlflow.log_param(f"factor_{i:02d}", name)
        for path in artifacts:
            if Path(path).exists():
                mlflow.log_artifact(str(path))
        return parent.info.run_id


def log_drivers_recovered(
    result: dict, report_path: Path, data_version: str, report_digest: str
) -> str:
    """The simulated city's evaluation of the factors (stage `selection-evaluation`): drivers
    recovered by the consensus and by each method. Returns the run id."""
    import mlflow

    with log_stage_run(use_experiment("select"), "selection-evaluation", report_digest) as run:
        mlflow.set_tag("data_version", data_version)
        mlflow.log_metric("true_drivers_recovered", result["true_drivers_recovered"])
        mlflow.log_metric("true_drivers", result["true_drivers"])
        mlflow.log_metrics({f"{m}.true_drivers_recovered": n for m, n in result["methods"].items()})
        mlflow.log_artifact(str(report_path))
        return run.info.run_id


def _numbers(values: dict) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
