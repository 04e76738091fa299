"""`riskdraw track`: the MLflow store holds every stage's run (what DVC skipped included)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import PARAMS, app, console


@app.command(rich_help_panel="8. reports and tracking")
def track(
    root: Annotated[Path, typer.Option(help="the project folder (dvc.yaml's paths under it)")] = (
        Path(".")
    ),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    city_params: Annotated[Path, typer.Option(help="Chicago's city file")] = Path(
        "cities/chicago/city.yaml"
    ),
) -> None:
    """Log to MLflow every stage output the store lacks, and say what it cannot rebuild.

    `dvc repro` skips stages whose inputs and outputs are unchanged (on a fresh clone:
    `select`, whose reports are committed), so their runs would be missing from a fresh store.
    Each stage's run is logged from its own outputs and tagged with its report's digest;
    `track` logs the missing ones from the same outputs with the stage's own function. Runs
    that rest on more than reports (tune's trials, train's registered version, evaluate's
    gates, Chicago's composite run) are checked and, if missing, named with the command that
    logs them again. `make run` runs it after `dvc repro`.
    """
    from riskdraw.lineage import Layout, track_outputs
    from riskdraw.simcity.tracking import log_simulation

    rows = track_outputs(Layout(root, root / params, root / city_params), log_simulation)
    table = Table("stage", "report", "in MLflow", title="stage runs in the MLflow store")
    for row in rows:
        colour = "red" if row["status"].startswith("missing") else "green"
        table.add_row(row["stage"], row["report"], f"[{colour}]{row['status']}[/{colour}]")
    console.print(table)
