"""Governed data in MLflow (experiment `riskdraw-ingest`): one run per ingest, the
reconciliation and the tolerance verdict as metrics, each source's quality as metrics of its
own (`source.<id>.<dimension>`), the report and page as artifacts."""

from __future__ import annotations

from pathlib import Path

from riskdraw.tracking import git_commit, log_stage_run, use_experiment


def log_ingest(report: dict, artifacts: list[Path], data_version: str, report_digest: str) -> str:
    """Log one ingest; returns the run id.

    Args:
        report: `reports/quality.json`.
        artifacts: files logged with it (the report, the quality page).
        data_version: the digest of the raw extracts' manifest.
        report_digest: the report's digest (how `riskdraw track` knows it is logged).
    """
    import mlflow

    with log_stage_run(use_experiment("ingest"), "ingest", report_digest) as run:
        mlflow.set_tags({"data_version": data_version, "git_commit": git_commit()})
        totals = (
            "records_in", "records_accepted", "records_quarantined", "sources", "sources_failed",
            "sources_warn", "sources_fail",
        )  # fmt: skip
        mlflow.log_metrics({k: float(report[k]) for k in totals})
        mlflow.log_metric("reconciles", float(bool(report["reconciles"])))
        if "tolerance" in report:
            mlflow.log_metric("tolerance_passed", float(bool(report["tolerance"]["passed"])))
        per_source = {}
        for source in report["per_source"]:
            sid = source["source_id"]
            per_source[f"source.{sid}.records_in"] = float(source["records_in"])
            per_source[f"source.{sid}.failed"] = float(bool(source["error"]))
            for dimension, value in (source.get("scores") or {}).items():
                if value is not None:
                    per_source[f"source.{sid}.{dimension}"] = float(value)
        mlflow.log_metrics(per_source)
        for path in artifacts:
            if Path(path).exists():
                mlflow.log_artifact(str(path))
        return run.info.run_id
