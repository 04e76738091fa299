"""One enterprise, one file, in MLflow (experiment `riskdraw-resolve`): the links by method,
and (simulated city) their precision and recall against the true identities."""

from __future__ import annotations

from pathlib import Path

from riskdraw.tracking import git_commit, log_stage_run, use_experiment


def log_resolve(
    stage: str, report: dict, report_path: Path, data_version: str, report_digest: str
) -> str:
    """Log `resolve`'s report (stage `resolve`) or the resolution's evaluation (stage
    `resolution`): its numbers as metrics, the report as an artifact. Returns the run id."""
    import mlflow

    with log_stage_run(use_experiment("resolve"), stage, report_digest) as run:
        mlflow.set_tags({"data_version": data_version, "git_commit": git_commit()})
        numbers = {
            k: float(v)
            for k, v in report.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        for method, value in report.get("by_method", {}).items():
            # resolve: records per method; its evaluation: records and precision per method
            measures = value if isinstance(value, dict) else {"records": value}
            numbers |= {f"{method}.{k}": float(v) for k, v in measures.items() if v is not None}
        mlflow.log_metrics(numbers)
        mlflow.log_artifact(str(report_path))
        return run.info.run_id
