"""MLflow tracking as riskdraw uses it: runs in SQLite (`mlflow.db`), artifacts under `mlruns/`.

The tracking URI comes from `MLFLOW_TRACKING_URI` (the Makefile sets it to the project's
`sqlite:///…/mlflow.db`), artifacts go to `RISKDRAW_ARTIFACTS` (default `mlruns/`). Each stage
logs into an experiment of its own, named `riskdraw-<stage>`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)


def artifact_root() -> Path:
    return Path(os.environ.get("RISKDRAW_ARTIFACTS", "mlruns")).resolve()


_city: str | None = None


def set_city(name: str | None) -> None:
    """Whose stages run in this process: a configured city's (`cities/<name>/city.yaml`), whose
    experiments are `riskdraw-<name>-<stage>`, or the simulated city's (None)."""
    global _city
    _city = name


def experiment_name(stage: str) -> str:
    """The experiment of `stage` in this process (`riskdraw-<stage>`, or a configured city's
    `riskdraw-<city>-<stage>`)."""
    return f"riskdraw-{stage}" if _city is None else f"riskdraw-{_city}-{stage}"


def use_experiment(stage: str) -> str:
    """Point MLflow at riskdraw's store and return the id of the stage's experiment
    (`riskdraw-<stage>`, or `riskdraw-<city>-<stage>` for a configured city's stages)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    name = experiment_name(stage)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_root() / name
    location.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(name, artifact_location=location.as_uri())


def file_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (names and contents, in name order): the data
    version a run records, so a model traces back to its data."""
    path = Path(path)
    if not path.is_dir():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(hashlib.sha256(item.read_bytes()).digest())
    return digest.hexdigest()


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def flatten(prefix: str, value) -> dict[str, object]:
    """Nested parameters as MLflow's flat `a.b.c` keys."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return out
    return {prefix: value}


REPORT_DIGEST = "report_digest"
"""The tag that ties a run to the stage output it logs (the sha256 of the stage's report)."""


def log_stage_run(experiment_id: str, stage: str, report_digest: str, run_name: str | None = None):
    """Start a run of `stage` tagged with the digest of the report it logs (a context manager,
    as `mlflow.start_run`): `riskdraw track` finds it by that tag and never logs it twice."""
    import mlflow

    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name or stage)
    mlflow.set_tags({"stage": stage, REPORT_DIGEST: report_digest})
    return run


def is_logged(stage: str, report_digest: str) -> bool:
    """Whether the store holds a run of `stage` (experiment `riskdraw-<experiment>`, any) for
    the report with this digest."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    found = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"tags.stage = '{stage}' and tags.{REPORT_DIGEST} = '{report_digest}'",
        max_results=1,
    )
    return len(found) > 0
