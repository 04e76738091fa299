"""The monitor in MLflow and in Evidently's workspace.

MLflow: a run of experiment `riskdraw-monitor` tagged with the model name and version it
judged, its status and recommendation, the failed checks per group as metrics and the reports
as artifacts; and the model version itself tagged `monitor.status` and
`monitor.recommendation`, so a governance review sees the latest verdict on the version.
Evidently: each report's snapshot added to a local workspace (one project per model name), so
that `evidently ui` (`make monitor-ui`) shows the checks over time.
"""

from __future__ import annotations

from pathlib import Path

from riskdraw.tracking import file_digest, git_commit, log_stage_run, use_experiment


def download_reference(name: str, version: str, folder: Path):
    """The monitoring reference stored with `models:/<name>/<version>` (a frame).

    Raises:
        LookupError: the version has none (registered before versions carried one).
    """
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from riskdraw.training.reference import REFERENCE_ARTIFACT

    run_id = MlflowClient().get_model_version(name, version).run_id
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=str(folder)
        )
    except (MlflowException, OSError) as error:
        raise LookupError(
            f"version {version} of {name} holds no monitoring reference ({REFERENCE_ARTIFACT}): "
            "it was trained before versions carried one; train a new version"
        ) from error
    return pd.read_parquet(path)


def validated_rounds(name: str, version: str) -> list[str]:
    """The rounds the version was calibrated on (each scored by a model of the rounds before
    it) and judged on (its held-out rounds), as train logged them, as ISO dates in order; none
    for a version that logged neither."""
    import re

    from mlflow import MlflowClient

    client = MlflowClient()
    params = client.get_run(client.get_model_version(name, version).run_id).data.params
    found = {d for key in ("calibration_rounds", "held_out_rounds")
             for d in re.findall(r"\d{4}-\d{2}-\d{2}", params.get(key, ""))}  # fmt: skip
    return sorted(found)


def log_monitor(summary: dict, report: Path, artifacts: list[Path]) -> str:
    """One run of the monitor, and the verdict on the model version. Returns the run id."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with log_stage_run(use_experiment("monitor"), "monitor", file_digest(report)) as run:
        mlflow.set_tags({
            "model_name": summary["model_name"], "model_version": summary["model_version"],
            "data_version": summary["data_version"], "screening_date": summary["screening_date"],
            "status": summary["status"], "recommendation": summary["recommendation"],
            "git_commit": git_commit(),
        })  # fmt: skip
        mlflow.log_metric("checks", summary["checks"])
        mlflow.log_metric("failed", len(summary["failed"]))
        for group, counts in summary["checks_by_group"].items():
            mlflow.log_metric(f"failed_{group}", counts["fail"])
        for path in [report, *artifacts]:
            if path.is_file():
                mlflow.log_artifact(str(path))
    client = MlflowClient()
    name, version = summary["model_name"], summary["model_version"]
    try:
        client.get_model_version(name, version)
    except MlflowException:  # a store without the version (`riskdraw track` on a fresh clone)
        return run.info.run_id
    client.set_model_version_tag(name, version, "monitor.status", summary["status"])
    client.set_model_version_tag(name, version, "monitor.recommendation",
                                 summary["recommendation"])  # fmt: skip
    client.set_model_version_tag(name, version, "monitor.run_id", run.info.run_id)
    return run.info.run_id


def add_to_workspace(workspace: Path, project_name: str, snapshots: list) -> str:
    """Add the snapshots to the project `project_name` of the local Evidently workspace
    (created on first use). Returns the project's id."""
    from evidently.ui.workspace import Workspace

    workspace.mkdir(parents=True, exist_ok=True)
    ws = Workspace.create(str(workspace))
    found = ws.search_project(project_name)
    project = found[0] if found else ws.create_project(
        project_name, description="riskdraw monitor: the screening against the model's reference"
    )  # fmt: skip
    for snapshot in snapshots:
        ws.add_run(project.id, snapshot, include_data=False)
    return str(project.id)
