"""The simulated city's commands: `simulate` (its extracts and its truth) and `catalogue`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, PROGRESS, VERBOSE, app, console, load, setup_logging


@app.command(rich_help_panel="1. the simulated city")
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
    progress: Annotated[bool, PROGRESS] = True,
    track: Annotated[
        bool, typer.Option(help="log the run to MLflow (experiment riskdraw-simulate)")
    ] = True,
    verbose: Annotated[bool, VERBOSE] = False,
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

    setup_logging(verbose)
    settings = load("simulate", params, config, entities=entities, seed=seed)
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


@app.command(rich_help_panel="1. the simulated city")
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

    settings = load("simulate", params)
    result = city_catalogue(settings, load_kinds(kinds))
    dump_sources(result, out)
    console.print(f"{len(result.sources)} sources written to {out}")
