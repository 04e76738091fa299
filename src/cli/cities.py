"""Real cities: `riskdraw chicago`, the city's published evaluation reproduced and riskdraw's
chain beside it (the same stage functions as `select`, `tune` and `train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, VERBOSE, app, load, setup_logging
from ._tables import chicago_table


@app.command(rich_help_panel="7. real cities")
def chicago(
    report: Annotated[Path, typer.Option(help="the results")] = Path("reports/chicago.json"),
    quarantine: Annotated[Path, typer.Option(help="rows refused, with field and rule")] = Path(
        "reports/chicago-quarantine.csv"
    ),
    scores: Annotated[Path, typer.Option(help="the test period's scores, per inspection")] = Path(
        "reports/chicago-scores.csv"
    ),
    storage: Annotated[Path, typer.Option(help="the Optuna studies' SQLite file")] = Path(
        "data/models/chicago-optuna.db"
    ),
    trials: Annotated[int | None, typer.Option(help="override tune.trials")] = None,
    params: Annotated[Path, PARAMS] = Path("configs/chicago.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Chicago's food inspections: the city's evaluation reproduced, then riskdraw's model.

    Reads configs/chicago.yaml: `chicago` (the data, rounds, published figures and
    tolerances) and the city's `select`, `tune` and `train` sections, the same the chicago-*
    stages use. The city's published model table (its per-inspection features; the raw
    downloads behind them were not published) is checked row by row (refused rows go to
    QUARANTINE) and grouped into rounds; the city's test period, 2014-09-02..2014-10-31, is
    held out. The city's model is re-fitted on its training rows and judged by the city's own
    measure: the test period's work re-ordered by score, the mean days earlier a critical
    violation is found and the share found in the first half. riskdraw's select, tune and
    train functions then run on the training rounds only, with the inspector group (the
    city's setting) and without it (a double-random regulator draws inspectors at random).
    Runs in MLflow experiment riskdraw-chicago; writes REPORT and SCORES (the test period's
    inspections with every model's score).
    """
    import optuna

    from riskdraw.cities.reproduction import run_chicago
    from riskdraw.io import write_csv, write_json
    from riskdraw.tracking import use_experiment

    setup_logging(verbose)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = load("chicago", params)
    select, tune, train = (
        load("select", params),
        load("tune", params, trials=trials),
        load("train", params),
    )
    storage.parent.mkdir(parents=True, exist_ok=True)
    result = run_chicago(
        settings, select, tune, train, f"sqlite:///{storage.resolve()}", use_experiment("chicago")
    )
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    write_csv(result.refused, quarantine, index=False)
    write_json(report, result.report)
    write_csv(result.scores, scores, index=False)
    chicago_table(result.report)
