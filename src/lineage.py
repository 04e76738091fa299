"""Which stage outputs the MLflow store holds, and logging those it lacks (`riskdraw track`).

DVC skips a stage whose inputs and outputs are unchanged: on a fresh clone, `select` is
skipped (its reports are committed and the rebuilt profile is byte for byte the same), so its
run would be missing from a fresh MLflow store. Each stage's run is logged from the stage's own
outputs and tagged with its report's digest, so `track` can tell what the store lacks and log
it from the same outputs with the same function the stage uses. Runs that rest on more than the
outputs (tune's trials, train's registered model, evaluate's gates, Chicago's composite run)
cannot be rebuilt from reports: `track` names them and the command that logs them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from riskdraw.config import load_section
from riskdraw.tracking import file_digest, is_logged, tracking_uri


@dataclass(frozen=True)
class Layout:
    """Where the stage outputs are (the paths of dvc.yaml, relative to `root`)."""

    root: Path = Path(".")
    params: Path = Path("params.yaml")
    city_params: Path = Path("cities/chicago/city.yaml")

    def __call__(self, path: str) -> Path:
        return self.root / path


def _digest_or(path: Path, missing: str) -> str:
    return file_digest(path) if path.exists() else missing


def track_outputs(layout: Layout = Layout(), log_simulation=None) -> list[dict]:
    """Log every stage output present that the store lacks; check the rest.

    Args:
        layout: where the outputs are.
        log_simulation: the simulated city's logger (`simcity.tracking.log_simulation`), given
            by the command: nothing in the library imports the simulator.

    Returns one row per stage: `stage`, `report`, `status` (`logged now`, `already logged`,
    `no output`, or `missing: <what to run>`).
    """
    import mlflow

    from riskdraw.io import read_json

    mlflow.set_tracking_uri(tracking_uri())
    at = layout
    rows: list[dict] = []

    def backfill(stage: str, report: Path, log, name: str | None = None) -> None:
        """`stage`: the runs' stage tag; `name`: the DVC stage, if another."""
        status = "no output"
        if report.exists():
            digest = file_digest(report)
            status = "already logged" if is_logged(stage, digest) else "logged now"
            if status == "logged now":
                log(read_json(report), digest)
        rows.append({"stage": name or stage, "report": str(report), "status": status})

    def simulate(report: dict, digest: str) -> None:
        settings = load_section("simulate", at.params)
        log_simulation(settings, report, at("data/raw/manifest.json"), at("reports/simulate.json"))

    def ingest(report: dict, digest: str) -> None:
        from riskdraw.governance.tracking import log_ingest

        version = _digest_or(at("data/raw/manifest.json"), "no manifest")
        log_ingest(
            report, [at("reports/quality.json"), at("reports/quality.html")], version, digest
        )

    def resolved(stage: str, path: str):
        def log(report: dict, digest: str) -> None:
            from riskdraw.entities.tracking import log_resolve

            version = _digest_or(at("data/entities/crosswalk.parquet"), "not present")
            log_resolve(stage, report, at(path), version, digest)

        return log

    def selected(params: Path, folder: str, profile: str):
        def log(report: dict, digest: str) -> None:
            from riskdraw.config import city_name
            from riskdraw.features.tracking import log_selection
            from riskdraw.tracking import set_city

            artifacts = [at(f"{folder}/{n}") for n in ("selection.json", "selection-scores.csv",
                                                      "selection.png")]  # fmt: skip
            version = _digest_or(at(profile), "not present")
            settings = load_section("select", params, project_params=at.params)
            set_city(city_name(params))  # a city's runs go to its own experiments
            try:
                log_selection(settings, report, artifacts, version, digest)
            finally:
                set_city(None)

        return log

    def selection_truth(report: dict, digest: str) -> None:
        from riskdraw.features.tracking import log_drivers_recovered

        version = _digest_or(at("reports/selection.json"), "not present")
        log_drivers_recovered(report, at("reports/selection-truth.json"), version, digest)

    if log_simulation is not None:
        backfill("simulate", at("reports/simulate.json"), simulate)
    backfill("ingest", at("reports/quality.json"), ingest)
    backfill("resolve", at("reports/resolve.json"), resolved("resolve", "reports/resolve.json"))
    backfill(
        "resolution",
        at("reports/resolution.json"),
        resolved("resolution", "reports/resolution.json"),
    )
    backfill(
        "select",
        at("reports/selection.json"),
        selected(at.params, "reports", "data/features/profile.parquet"),
    )
    backfill("selection-evaluation", at("reports/selection-truth.json"), selection_truth)
    backfill(
        "select",
        at("reports/cities/chicago/selection.json"),
        selected(at.city_params, "reports/cities/chicago", "data/cities/chicago/profile.parquet"),
        name="chicago-select",
    )

    def screened(report: dict, digest: str) -> None:
        from riskdraw.inspection.tracking import log_screen

        log_screen(report, at("reports/screen.json"))

    def planned(report: dict, digest: str) -> None:
        from riskdraw.inspection.tracking import log_plan

        log_plan(report, at("reports/plan.json"), at("reports/plan-frontier.png"))

    def plan_truth(report: dict, digest: str) -> None:
        from riskdraw.inspection.tracking import log_plan_truth

        log_plan_truth(report, at("reports/plan-truth.json"))

    def monitored(report: dict, digest: str) -> None:
        from riskdraw.monitoring.tracking import log_monitor

        folder = at("reports/drift")
        artifacts = [folder / "checks.csv", *sorted(folder.glob("*.html"))]
        log_monitor(report, folder / "summary.json", artifacts)

    backfill("screen", at("reports/screen.json"), screened)
    backfill("monitor", at("reports/drift/summary.json"), monitored)
    backfill("plan", at("reports/plan.json"), planned)
    backfill("plan-evaluation", at("reports/plan-truth.json"), plan_truth)
    for stage, path in (
        ("tune", "reports/tuning.json"),
        ("train", "reports/train.json"),
        ("evaluate", "reports/metrics.json"),
        ("chicago", "reports/chicago.json"),
        ("chicago-tune", "reports/cities/chicago/tuning.json"),
        ("chicago-train", "reports/cities/chicago/train.json"),
        ("chicago-evaluate", "reports/cities/chicago/metrics.json"),
    ):
        rows.append({"stage": stage, "report": path, "status": _check(stage, at(path))})
    return rows


def _check(stage: str, report: Path) -> str:
    """Whether the store holds what a report names (its run, its model version)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from riskdraw.io import read_json

    if not report.exists():
        return "no output"
    content = read_json(report)
    rerun = f"missing: `dvc repro -f {stage}` logs it to this store"
    try:
        if "run_id" in content and "version" not in content:
            mlflow.get_run(content["run_id"])
        elif "version" in content:
            MlflowClient().get_model_version(content["model_name"], str(content["version"]))
        elif "model_version" in content:
            found = mlflow.search_runs(
                search_all_experiments=True,
                filter_string=(
                    f"tags.role = 'evaluation' and tags.model_version = "
                    f"'{content['model_version']}' and tags.model_name = '{content['model_name']}'"
                ),
                max_results=1,
            )
            if not len(found):
                return rerun
    except MlflowException:
        return rerun
    return "already logged"
