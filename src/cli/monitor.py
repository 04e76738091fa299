"""Monitoring: `monitor` (Evidently reports and the verdict) and `verdict` (its exit status)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, VERBOSE, app, console, fail, load, setup_logging

PANEL = "6. monitoring"
DRIFT_FAILED = 4
"""Exit status of a verdict that failed (not an error: the checks ran and something moved)."""


def _print(summary: dict) -> None:
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}[summary["status"]]
    console.print(
        f"monitor: [bold {colour}]{summary['status']}[/bold {colour}] "
        f"({len(summary['failed'])} of {summary['checks']} checks failed, "
        f"{len(summary['warnings'])} warnings) - recommendation: "
        f"[bold]{summary['recommendation']}[/bold]"
    )
    for check in summary["failed"][:8]:
        console.print(f"  ✗ {check['group']}: {check['subject']} - {check['detail']}",
                      markup=False, highlight=False)  # fmt: skip
    console.print(summary["why"], markup=False, highlight=False)


@app.command(rich_help_panel=PANEL)
def monitor(
    profile: Annotated[
        Path, typer.Option(help="the profile (its screening snapshot is checked)")
    ] = Path("data/features/profile.parquet"),
    scores: Annotated[Path, typer.Option(help="screen's output folder")] = Path("data/scores"),
    results: Annotated[
        Path | None,
        typer.Option(help="record-results' output folder: the round's results (performance)"),
    ] = None,
    interim: Annotated[
        Path | None, typer.Option(help="ingest's output folder (each source's deliveries)")
    ] = None,
    quality: Annotated[
        Path, typer.Option(help="ingest's report (failed sources, renamed columns)")
    ] = Path("reports/quality.json"),
    out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("reports/drift"),
    workspace: Annotated[
        Path | None, typer.Option(help="Evidently workspace the snapshots are added to")
    ] = Path("data/monitoring/workspace"),
    fail_on_drift: Annotated[
        bool,
        typer.Option(
            "--fail/--no-fail",
            help=f"exit {DRIFT_FAILED} when a check fails (--no-fail: write the verdict and exit "
            "0, as the DVC stage does; `riskdraw verdict` exits by it later)",
        ),
    ] = True,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Check a screening against the model version that made it, and recommend what to do.

    Reads params.yaml `monitor` (every threshold). The version is the one named in the scores'
    manifest; its reference (the latest training round's enterprises, stored with it by
    `train`) is compared with the profile's screening snapshot in Evidently 0.7 reports:
    data quality of the factors (missing, out of range, new categories), drift of each factor,
    of every family of the profile and of the scores (probability, class shares); with
    RESULTS, the round's hit rate found against what the model expected, per class, district
    and in all; with INTERIM, each source's latest delivery against its earlier ones (volume,
    fields filled, units, codes) and what ingest found (renamed columns, unreadable files).
    Writes OUT/summary.json (status, failed checks, recommendation and why), OUT/checks.csv,
    OUT/<report>.json and .html per report; logs an MLflow run (experiment riskdraw-monitor)
    and tags the model version with the verdict; adds the snapshots to WORKSPACE (`make
    monitor-ui` shows them over time). Exit status 4 when a check fails (unless --no-fail).
    """
    import logging
    import tempfile
    import time

    import pandas as pd

    from riskdraw.features.profile import attribute_bounds, catalogued, screening_rows
    from riskdraw.io import read_json, write_csv, write_json
    from riskdraw.monitoring.deliveries import delivery_tables
    from riskdraw.monitoring.monitor import monitor as run_monitor
    from riskdraw.monitoring.monitor import validated_snapshots
    from riskdraw.monitoring.tracking import (
        add_to_workspace,
        download_reference,
        log_monitor,
        validated_rounds,
    )
    from riskdraw.outputs import check_file_outputs, require_complete
    from riskdraw.tracking import file_digest
    from riskdraw.training.registry import load_version

    setup_logging(verbose)
    settings = load("monitor", params)
    inputs = {"profile": profile, "scores": scores, "quality": quality}
    inputs |= {k: v for k, v in (("interim", interim), ("results", results)) if v is not None}
    made = require_complete(scores, "screen", "monitor")["params"]
    name, version = made["model_name"], str(made["model_version"])
    try:
        model = load_version(name, version)
        with tempfile.TemporaryDirectory(prefix="riskdraw-reference-") as tmp:
            reference = download_reference(name, version, Path(tmp))
    except LookupError as error:
        raise fail(f"monitor: {error}") from None
    snapshot = screening_rows(profile, "monitor")
    if snapshot.empty:
        raise fail(f"monitor: {profile} holds no screening snapshot: run `riskdraw profile`", 3)
    columns = [c for c in reference.columns if c in set(snapshot.columns)]
    validated = validated_snapshots(profile, validated_rounds(name, version), columns,
                                    settings.drift.family_sample_rows, settings.seed)  # fmt: skip
    scored = pd.read_parquet(scores / "scores.parquet")
    families = {a: x.family for a, x in catalogued(snapshot.columns).items()}
    deliveries = None
    if interim is not None:
        require_complete(interim, "ingest", "monitor")
        report = read_json(quality)
        departments = {s["source_id"]: s["department"] for s in report.get("per_source", [])}
        screening = pd.Timestamp(snapshot["as_of_date"].iloc[0])
        start = time.perf_counter()
        with console.status("comparing each source's latest delivery with its earlier ones"):
            deliveries = (*delivery_tables(interim, screening, settings.deliveries), report,
                          departments)  # fmt: skip
        logging.getLogger(__name__).info(
            "deliveries: %d sources in %.1f s", deliveries[0]["source_id"].nunique()
            if len(deliveries[0]) else 0, time.perf_counter() - start)  # fmt: skip
    recorded = None
    if results is not None:
        require_complete(results, "record-results", "monitor")
        recorded = pd.read_parquet(results / "results.parquet")
    screening_date = str(pd.Timestamp(snapshot["as_of_date"].iloc[0]).date())
    about = {"model_name": name, "model_version": version, "screening_date": screening_date}
    with console.status(f"checking {len(snapshot):,} enterprises against version {version}"):
        found = run_monitor(model, reference, snapshot, scored, families,
                            attribute_bounds(model.factors), settings, deliveries, recorded,
                            validated, about)  # fmt: skip
    summary = found.summary | about | {"data_version": file_digest(profile)}
    written = {"checks": out / "checks.csv"} | {
        f"{r}.{ext}": out / f"{r}.{ext}" for r in found.snapshots for ext in ("html", "json")
    }  # fmt: skip
    check_file_outputs(written | {"summary": out / "summary.json"}, inputs)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame([c.as_dict() for c in found.checks]), written["checks"], index=False)
    for report_name, snap in found.snapshots.items():
        snap.save_html(str(written[f"{report_name}.html"]))
        snap.save_json(str(written[f"{report_name}.json"]))
    write_json(
        out / "summary.json", summary
    )  # last: a summary means the reports beside it are whole
    artifacts = [written["checks"]] + [out / f"{r}.html" for r in found.snapshots]
    log_monitor(summary, out / "summary.json", artifacts)
    if workspace is not None:
        add_to_workspace(workspace, f"riskdraw {name}", list(found.snapshots.values()))
    _print(summary)
    if fail_on_drift and summary["status"] == "fail":
        raise typer.Exit(DRIFT_FAILED)


@app.command(rich_help_panel=PANEL)
def verdict(
    summary: Annotated[Path, typer.Option(help="monitor's summary")] = Path(
        "reports/drift/summary.json"
    ),
) -> None:
    """Print the monitor's verdict and exit by it: 0 pass or warn, 4 fail (`make run` ends so)."""
    from riskdraw.io import read_json

    if not summary.is_file():
        raise fail(f"verdict: {summary} not found: run `riskdraw monitor` first")
    found = read_json(summary)
    _print(found)
    if found["status"] == "fail":
        raise typer.Exit(DRIFT_FAILED)
