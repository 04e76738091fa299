"""The `riskdraw` command: one thin command per pipeline stage.

Each command takes its paths from the command line (as `dvc.yaml` gives them), loads its section
of `params.yaml` into a validated model, calls the library and writes its outputs and metrics.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from riskdraw.config import ConfigError, load_section

app = typer.Typer(
    help="riskdraw: risk-differentiated double-random inspection plans.\n\n"
    "Each command is one stage of dvc.yaml; `make run` runs them all with `dvc repro`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
PARAMS = typer.Option("--params", help="the parameters file; each stage reads its own section")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
        force=True,
    )


def _load(section: str, params: Path, config: Path | None = None, **overrides):
    try:
        return load_section(section, params, config, **overrides)
    except (ConfigError, FileNotFoundError) as error:
        console.print(f"[red]configuration error[/red]\n{error}")
        raise typer.Exit(2) from None


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder for the departments' extracts")] = Path(
        "data/raw"
    ),
    truth: Annotated[Path, typer.Option(help="folder for the ground truth (evaluation only)")] = (
        Path("data/truth")
    ),
    report: Annotated[Path, typer.Option(help="the metrics file")] = Path("reports/simulate.json"),
    entities: Annotated[int | None, typer.Option(help="override simulate.entities")] = None,
    seed: Annotated[int | None, typer.Option(help="override simulate.seed")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="a YAML file of simulate keys merged over params.yaml (another city)"),
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    track: Annotated[
        bool, typer.Option(help="log the run to MLflow (experiment riskdraw-simulate)")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Simulate a city: 142 departments' messy extracts, and the ground truth kept apart.

    Reads params.yaml `simulate` (entities, seed, rounds, drivers, mess rates, sources).
    Writes OUT/<source>/extract.* and OUT/manifest.json, TRUTH/ (true probabilities, identities,
    drivers; read by evaluation only) and REPORT (entities, sources, records, formats,
    random_hit_rate). The same seed gives the same bytes. The run is logged to MLflow with the
    manifest's digest as its data version (never the truth).
    """
    from riskdraw.io import write_json
    from riskdraw.simcity.city import simulate_city

    _logging(verbose)
    settings = _load("simulate", params, config, entities=entities, seed=seed)
    result = simulate_city(settings, out, truth, progress=progress)
    write_json(report, result)
    if track:
        from riskdraw.simcity.tracking import log_simulation

        run_id = log_simulation(settings, result, out / "manifest.json", report)
        console.print(f"MLflow run {run_id} (experiment riskdraw-simulate)")
    console.print(
        f"[green]city written[/green]: {result['entities']:,} enterprises, "
        f"{result['sources']} sources, {result['records']:,} records, "
        f"random-draw hit rate {result['random_hit_rate']:.1%} "
        f"({result['seconds']:.0f} s)"
    )


@app.command()
def catalogue(
    out: Annotated[Path, typer.Option(help="the sources file to write")] = Path(
        "catalogue/foshan-sim.yaml"
    ),
    kinds: Annotated[Path, typer.Option(help="the record kinds")] = Path("catalogue/kinds.yaml"),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
) -> None:
    """Write the simulated city's source catalogue (one entry per source) from params.yaml.

    For a real city the sources file is written and kept by hand; this command keeps the
    simulated city's file in step with `simulate.sources`.
    """
    from riskdraw.governance.catalogue import dump_sources, load_kinds
    from riskdraw.simcity.catalogue import city_catalogue

    settings = _load("simulate", params)
    result = city_catalogue(settings, load_kinds(kinds))
    dump_sources(result, out)
    console.print(f"{len(result.sources)} sources written to {out}")


@app.command()
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
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Read, validate and file every source of the catalogue; quarantine what breaks a rule.

    Reads params.yaml `ingest`. Writes OUT/<kind>/<source>.parquet (accepted records, typed,
    personal data pseudonymised), OUT/quarantine/<source>.parquet (source, row, field, column,
    rule, original value), REPORT (records in / accepted / quarantined, failed sources, scores
    per source and dimension) and PAGE. Exit status 3 when more sources failed than
    `ingest.max_failed_sources` allows (the report is written first).
    """
    import json as _json

    from riskdraw.governance.catalogue import CatalogueError, load_kinds, load_sources
    from riskdraw.governance.ingest import ingest_all
    from riskdraw.governance.quality import quality_html, quality_report
    from riskdraw.io import write_json

    _logging(verbose)
    settings = _load("ingest", params)
    try:
        kind_specs = load_kinds(kinds)
        catalogue_ = load_sources(sources, kind_specs)
    except CatalogueError as error:
        console.print(f"[red]catalogue error[/red]\n{error}")
        raise typer.Exit(2) from None
    manifest = raw / "manifest.json"
    declared = {}
    if manifest.exists():
        declared = {
            e["source_id"]: e["records"]
            for e in _json.loads(manifest.read_text(encoding="utf-8"))["sources"]
        }
    results = ingest_all(
        catalogue_,
        kind_specs,
        raw,
        out,
        declared,
        progress=progress,
        batch_rows=settings.batch_rows,
        contract_sample=settings.contract_sample,
    )
    cadence = {s.source_id: s.cadence for s in catalogue_.sources}
    checks = {k: bool(v.checks) for k, v in kind_specs.kinds.items()}
    result = quality_report(results, settings, cadence, checks)
    write_json(report, result)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(quality_html(result), encoding="utf-8")
    console.print(
        f"ingested {result['sources']} sources: {result['records_in']:,} records in, "
        f"{result['records_accepted']:,} accepted, {result['records_quarantined']:,} "
        f"quarantined; {result['sources_failed']} failed"
    )
    for source_id, error in result["failed"].items():
        console.print(f"[red]failed[/red] {source_id}: {error}")
    if result["sources_failed"] > settings.max_failed_sources:
        raise typer.Exit(3)


@app.command()
def resolve(
    interim: Annotated[Path, typer.Option(help="ingest's canonical tables")] = Path("data/interim"),
    out: Annotated[Path, typer.Option(help="entities, crosswalk, conflicts, events")] = Path(
        "data/entities"
    ),
    report: Annotated[Path, typer.Option(help="link counts by method (JSON)")] = Path(
        "reports/resolve.json"
    ),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """One enterprise, one file: link every accepted record to an entity.

    Reads params.yaml `resolve`. Writes OUT/entities.parquet (one row per enterprise, each
    attribute with the source it came from), OUT/crosswalk.parquet (every accepted record ->
    entity_id, method, score; unmatched kept), OUT/conflicts.parquet (values that lost to the
    registry or a newer record) and OUT/events/<kind>.parquet (records keyed by entity_id only).
    """
    from riskdraw.entities.resolve import resolve as run_resolve
    from riskdraw.io import write_json

    _logging(verbose)
    settings = _load("resolve", params)
    result = run_resolve(interim, out, settings)
    total = sum(result.crosswalk_counts.values())
    linked = (
        total
        - result.crosswalk_counts.get("unmatched", 0)
        - result.crosswalk_counts.get("name_ambiguous", 0)
    )
    write_json(
        report,
        {
            "entities": len(result.entities),
            "records": total,
            "linked": linked,
            "by_method": dict(sorted(result.crosswalk_counts.items())),
            "conflicts": result.conflicts,
        },
    )
    console.print(
        f"{len(result.entities):,} entities; {linked:,} of {total:,} records linked "
        f"({linked / max(total, 1):.2%}); {result.conflicts:,} conflicting values kept"
    )


@app.command("evaluate-resolution")
def evaluate_resolution(
    entities: Annotated[Path, typer.Option(help="resolve's output folder")] = Path("data/entities"),
    truth: Annotated[Path, typer.Option(help="the simulated city's truth")] = Path("data/truth"),
    report: Annotated[Path, typer.Option(help="precision and recall (JSON)")] = Path(
        "reports/resolution.json"
    ),
    track: Annotated[bool, typer.Option(help="log to MLflow (riskdraw-resolve)")] = True,
) -> None:
    """Simulated city only: linkage precision and recall against the true identities.

    Evaluation code: reads data/truth/, which the resolver never sees.
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
    console.print(
        f"linkage precision {result['precision']:.4f}, recall {result['recall']:.4f} "
        f"({result['unmatched']:,} of {result['records']:,} records unmatched)"
    )
    if track:
        import mlflow

        from riskdraw.tracking import file_digest, use_experiment

        with mlflow.start_run(experiment_id=use_experiment("resolve"), run_name="resolution"):
            mlflow.log_metrics(
                {
                    k: float(result[k])
                    for k in ("precision", "recall", "records", "linked", "unmatched")
                }
            )
            mlflow.set_tags({"data_version": file_digest(entities / "crosswalk.parquet")})
            mlflow.log_artifact(str(report))


@app.command()
def summary(
    simulate_report: Annotated[Path, typer.Option(help="the simulate stage's report")] = Path(
        "reports/simulate.json"
    ),
    quality_report: Annotated[Path, typer.Option(help="the ingest stage's report")] = Path(
        "reports/quality.json"
    ),
) -> None:
    """Print what the pipeline built: enterprises, sources, records by kind and format, hit rate."""
    if not simulate_report.exists():
        console.print(f"[red]{simulate_report} not found[/red]: run `make run` (dvc repro) first")
        raise typer.Exit(1)
    rep = json.loads(simulate_report.read_text(encoding="utf-8"))
    console.rule("[bold]riskdraw — the simulated city")
    console.print(
        f"enterprises [bold]{rep['entities']:,}[/bold]   sources "
        f"[bold]{rep['sources']}[/bold] from {rep['departments']} departments   "
        f"records [bold]{rep['records']:,}[/bold]"
    )
    kinds = Table("record kind", "records", title="records by kind")
    for kind, count in sorted(rep["records_by_kind"].items(), key=lambda kv: -kv[1]):
        kinds.add_row(kind, f"{count:,}")
    formats = Table("format", "records", title="records by format")
    for fmt, count in rep["records_by_format"].items():
        formats.add_row(fmt, f"{count:,}")
    console.print(kinds)
    console.print(formats)
    console.print(
        f"encodings {', '.join(rep['encodings'])};  keys {', '.join(rep['key_types'])};"
        f"  date styles {', '.join(rep['date_styles'])}"
    )
    console.print(f"truncated on delivery: {', '.join(rep['truncated_sources']) or 'none'}")
    rounds = ", ".join(f"{v:.1%}" for v in rep["random_hit_rate_by_round"].values())
    console.print(
        f"double-random draws: {rep['inspections']:,} inspections, hit rate "
        f"[bold]{rep['random_hit_rate']:.1%}[/bold] (by round: {rounds})"
    )
    if quality_report.exists():
        _quality_summary(json.loads(quality_report.read_text(encoding="utf-8")))


def _quality_summary(q: dict) -> None:
    console.rule("[bold]governed data (ingest)")
    console.print(
        f"records in [bold]{q['records_in']:,}[/bold] = accepted "
        f"{q['records_accepted']:,} + quarantined {q['records_quarantined']:,} "
        f"(reconciles: {q['reconciles']})"
    )
    console.print(
        f"sources {q['sources']}: failed {q['sources_failed']}, below a fail "
        f"threshold {q['sources_fail']}, warn {q['sources_warn']}"
    )
    for source_id, error in q["failed"].items():
        console.print(f"  [red]failed[/red] {source_id}: {error}")
    rules = Table("rule broken", "entries", title="quarantine entries by rule")
    for rule, count in sorted(q["rules"].items(), key=lambda kv: -kv[1]):
        rules.add_row(rule, f"{count:,}")
    repairs = Table("safe repair", "values", title="repaired (counted)")
    for repair, count in sorted(q["repairs"].items(), key=lambda kv: -kv[1]):
        repairs.add_row(repair, f"{count:,}")
    console.print(rules)
    console.print(repairs)
    console.print("per source and dimension: reports/quality.html")


def main() -> None:  # pragma: no cover - the console script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
