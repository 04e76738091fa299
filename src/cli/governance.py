"""Governed data: `ingest` (every source read, validated, filed, quarantined, scored),
`resolve` (one enterprise, one file) and `evaluate-resolution` (simulated city only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, PROGRESS, VERBOSE, app, console, fail, load, setup_logging

TRACK = typer.Option(help="log the run to MLflow")


@app.command(rich_help_panel="2. governed data")
def ingest(
    raw: Annotated[Path, typer.Option(help="the departments' extracts")] = Path("data/raw"),
    sources: Annotated[Path, typer.Option(help="the city's sources file")] = Path(
        "catalogue/foshan-sim.yaml"
    ),
    kinds: Annotated[Path, typer.Option(help="the record kinds")] = Path("catalogue/kinds.yaml"),
    out: Annotated[Path, typer.Option(help="canonical tables and quarantine")] = Path(
        "data/interim"
    ),
    report: Annotated[Path, typer.Option(help="quality metrics (JSON)")] = Path(
        "reports/quality.json"
    ),
    page: Annotated[Path, typer.Option(help="quality report (HTML)")] = Path(
        "reports/quality.html"
    ),
    delivery: Annotated[
        list[Path] | None,
        typer.Option(
            help="a folder delivered beside RAW (its sources.yaml and manifest.json: "
            "a round's results from `riskdraw record-results`); repeatable"
        ),
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    progress: Annotated[bool, PROGRESS] = True,
    track: Annotated[bool, TRACK] = True,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Read, validate and file every source of the catalogue; quarantine what breaks a rule.

    Reads params.yaml `ingest`. Each DELIVERY adds its own sources (a round's recorded results,
    delivered as one more inspection source) to the catalogue's. Writes
    OUT/<kind>/<source>.parquet (accepted records, typed, personal data pseudonymised),
    OUT/quarantine/<source>.parquet (source, row, field, column, rule, original value), REPORT
    (records in / accepted / quarantined, failed sources and the tolerance verdict, scores per
    source and dimension) and PAGE; logs to MLflow (riskdraw-ingest, each source's quality as
    metrics). The run goes on while the failed sources stay within `ingest.max_failed_share` of
    all sources and none is of an `ingest.essential_kinds` kind; otherwise it exits with status
    3, naming them (the report and page are written first). Exit status 2: a bad catalogue or
    params.
    """
    from riskdraw.config import ConfigError
    from riskdraw.governance.catalogue import CatalogueError, load_kinds, load_sources
    from riskdraw.governance.ingest import run_ingest
    from riskdraw.governance.quality import check_tolerance_policy, quality_html
    from riskdraw.io import write_json
    from riskdraw.outputs import check_file_outputs

    setup_logging(verbose)
    settings = load("ingest", params)
    try:
        kind_specs = load_kinds(kinds)
        catalogue_ = load_sources(sources, kind_specs)
        check_tolerance_policy(settings, {s.source_id: s.kind for s in catalogue_.sources})
    except (CatalogueError, ConfigError) as error:
        raise fail(f"catalogue error\n{error}") from None
    deliveries = list(delivery or [])
    inputs = {"--raw": raw, "--sources": sources, "--kinds": kinds, "--params": params} | {
        f"--delivery {d}": d for d in deliveries
    }
    check_file_outputs({"--report": report, "--page": page}, inputs | {"--out": out})
    if not raw.is_dir():
        raise fail(f"--raw {raw}: no such folder of extracts")
    for folder in deliveries:
        if not folder.is_dir():
            raise fail(f"--delivery {folder}: no such folder")
    try:
        result = run_ingest(settings, catalogue_, kind_specs, raw, out, progress, deliveries)
    except CatalogueError as error:
        raise fail(f"catalogue error\n{error}") from None
    write_json(report, result)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(quality_html(result), encoding="utf-8")
    if track:
        from riskdraw.governance.tracking import log_ingest
        from riskdraw.tracking import file_digest

        manifest = raw / "manifest.json"
        version = file_digest(manifest) if manifest.exists() else "no manifest"
        log_ingest(result, [report, page], version, file_digest(report))
    verdict = result["tolerance"]
    colour = {"ok": "green", "tolerated": "yellow", "stopped": "red"}[verdict["status"]]
    for reason in verdict["reasons"]:
        console.print(reason, style=colour, markup=False)
    for source, error in result["failed"].items():
        if source not in verdict["essential_failed"]:  # those are among the reasons
            console.print(f"source {source} failed: {error}", style=colour, markup=False)
    for finding, count in result["findings_by_kind"].items():
        console.print(f"finding {finding}: {count} source(s) or entries", style="yellow",
                      markup=False)  # fmt: skip
    console.print(
        f"ingested {result['sources']} sources: {result['records_declared']:,} records "
        f"declared, {result['records_in']:,} in, {result['records_accepted']:,} accepted, "
        f"{result['records_quarantined']:,} quarantined, {result['records_undelivered']:,} "
        f"undelivered; {result['sources_failed']} failed; reconciles: {result['reconciles']}",
        markup=False,
    )
    if not verdict["passed"]:
        raise typer.Exit(3)


@app.command(rich_help_panel="2. governed data")
def resolve(
    interim: Annotated[Path, typer.Option(help="ingest's canonical tables")] = Path("data/interim"),
    out: Annotated[Path, typer.Option(help="entities, crosswalk, conflicts, events")] = Path(
        "data/entities"
    ),
    report: Annotated[Path, typer.Option(help="link counts by method (JSON)")] = Path(
        "reports/resolve.json"
    ),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    track: Annotated[bool, TRACK] = True,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """One enterprise, one file: link every accepted record to an entity.

    Reads params.yaml `resolve`. Writes OUT/entities.parquet (one row per enterprise, each
    attribute with the source it came from), OUT/crosswalk.parquet (every accepted record ->
    entity_id, method, score; unmatched kept), OUT/conflicts.parquet (values that lost to the
    registry or a newer record) and OUT/events/<kind>.parquet (records keyed by entity_id
    only); REPORT; logs to MLflow (riskdraw-resolve).
    """
    from riskdraw.entities.resolve import resolve as run_resolve
    from riskdraw.entities.resolve import resolve_report
    from riskdraw.io import write_json
    from riskdraw.outputs import check_file_outputs

    setup_logging(verbose)
    settings = load("resolve", params)
    check_file_outputs({"--report": report}, {"--interim": interim, "--out": out})
    result = resolve_report(run_resolve(interim, out, settings))
    write_json(report, result)
    if track:
        from riskdraw.entities.tracking import log_resolve
        from riskdraw.tracking import file_digest

        version = file_digest(out / "crosswalk.parquet")
        log_resolve("resolve", result, report, version, file_digest(report))
    console.print(
        f"{result['entities']:,} entities; {result['linked']:,} of {result['records']:,} "
        f"records linked ({result['linked'] / max(result['records'], 1):.2%}); "
        f"{result['conflicts']:,} conflicting values kept"
    )


@app.command("evaluate-resolution", rich_help_panel="2. governed data")
def evaluate_resolution(
    entities: Annotated[Path, typer.Option(help="resolve's output folder")] = Path("data/entities"),
    truth: Annotated[Path, typer.Option(help="the simulated city's truth")] = Path("data/truth"),
    report: Annotated[Path, typer.Option(help="precision and recall (JSON)")] = Path(
        "reports/resolution.json"
    ),
    track: Annotated[bool, TRACK] = True,
) -> None:
    """Simulated city only: linkage precision and recall against the true identities.

    Evaluation code: reads data/truth/, which the resolver never sees. Logs to MLflow
    (riskdraw-resolve, stage `resolution`).
    """
    import pandas as pd

    from riskdraw.entities.evaluation import linkage_quality
    from riskdraw.io import write_json

    result = linkage_quality(
        pd.read_parquet(entities / "crosswalk.parquet"),
        pd.read_parquet(entities / "entities.parquet"),
        truth,
    )
    write_json(report, result)
    if track:
        from riskdraw.entities.tracking import log_resolve
        from riskdraw.tracking import file_digest

        version = file_digest(entities / "crosswalk.parquet")
        log_resolve("resolution", result, report, version, file_digest(report))
    console.print(
        f"linkage precision {result['precision']:.4f}, recall {result['recall']:.4f} "
        f"({result['unmatched']:,} of {result['records']:,} records unmatched)"
    )
