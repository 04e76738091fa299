"""Cities by configuration: `riskdraw city check | ingest | run NAME` (cities/NAME/city.yaml),
and `riskdraw chicago`, the city's published evaluation reproduced with riskdraw's chain beside
it (the same stage functions as `select`, `tune` and `train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, VERBOSE, _Typer, app, console, fail, load, setup_logging
from ._tables import chicago_table, city_check_table

PANEL = "7. real cities"
city_app = _Typer(
    help="A city described by configuration (cities/<name>/city.yaml): check it, hand off its "
    "tables, run the whole flow on it. docs/onboarding.md says how to describe one.",
    no_args_is_help=True,
)
app.add_typer(city_app, name="city", rich_help_panel=PANEL)
CITY = typer.Argument(help="the city's name (cities/NAME/city.yaml) or the path to its file")


def _load_city(name: str):
    from riskdraw.cities.config import city_path, load_city
    from riskdraw.tracking import set_city

    city, folder = load_city(name)
    set_city(city.name)
    return city, folder, city_path(name)


@city_app.command("check")
def city_check(
    name: Annotated[str, CITY],
    report: Annotated[
        Path | None, typer.Option(help="the report (JSON); default reports/cities/NAME/check.json")
    ] = None,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Check a city's file and tables before any compute, and say what the flow would get.

    Validates cities/NAME/city.yaml (every key, with its fault), then reads every table it
    names with ingest's readers and parsers, and reports: each table's rows accepted, refused
    and left out (they add up), keys that never join the registry, dates out of range or
    unparseable, codes not mapped, the rounds with their inspections and hit rates, and the
    attributes the profile will derive from each kind. Exit status 3 (and no stage will start)
    on an error: a missing file or column, an unmapped outcome, overlapping rounds, more
    unjoined keys or refused rows than the file's `checks` allow.
    """
    from riskdraw.cities.check import check_city
    from riskdraw.io import write_json

    setup_logging(verbose)
    city, folder, _ = _load_city(name)
    result, _ = check_city(city, folder)
    write_json(report or Path("reports/cities") / city.name / "check.json", result)
    city_check_table(result)
    if result["status"] != "ok":
        raise fail(
            f"city {city.name}: {sum(i['level'] == 'error' for i in result['issues'])} "
            "error(s): the flow will not start until they are fixed",
            3,
        )


@city_app.command("ingest")
def city_ingest(
    name: Annotated[str, CITY],
    out: Annotated[
        Path | None, typer.Option(help="the hand-off folder; default data/cities/NAME/entities")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="the check's report; default reports/cities/NAME/ingest.json"),
    ] = None,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Hand off a city's tables: the check, then entities, events by kind and the quarantine.

    Refuses (exit 3, nothing written) where `riskdraw city check` finds an error. Writes OUT:
    entities.parquet (the registry), events/<kind>.parquet (entity_id, occurred_on, known_on,
    source_id, row and the kind's values), features.parquet (a published feature table),
    pool.csv (the inspector pool, for `riskdraw plan --pool`), rounds.csv, quarantine.csv
    (every row refused or left out: table, row, field, rule, value) and its completion manifest.
    """
    from riskdraw.cities.check import write_handoff
    from riskdraw.io import write_json

    setup_logging(verbose)
    city, folder, path = _load_city(name)
    out = out or Path("data/cities") / city.name / "entities"
    result = write_handoff(city, folder, out, path)
    write_json(report or Path("reports/cities") / city.name / "ingest.json", result)
    city_check_table(result)
    console.print(f"[green]{city.name} handed off[/green] -> {out}")


def _step(*argv) -> None:
    """One riskdraw command in this process, as a user types it; stop on its failure."""
    import time

    from typer.main import get_command

    argv = [str(a) for a in argv]
    console.rule(f"riskdraw {' '.join(argv[:2])}")
    start = time.perf_counter()
    code = get_command(app).main(argv, prog_name="riskdraw", standalone_mode=False)
    if code:
        raise fail(f"city run stopped: `riskdraw {' '.join(argv)}` exited with {code}", code)
    console.print(f"[dim]{argv[0]}: {time.perf_counter() - start:.1f} s[/dim]")


@city_app.command("run")
def city_run(
    name: Annotated[str, CITY],
    data: Annotated[Path | None, typer.Option(help="its data; default data/cities/NAME")] = None,
    reports: Annotated[
        Path | None, typer.Option(help="its reports; default reports/cities/NAME")
    ] = (None),
    trials: Annotated[int | None, typer.Option(help="override tune.trials")] = None,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """The whole flow on a configured city, by the same commands as the simulated city's.

    `city check` and `city ingest`, then `profile`, `select`, `tune`, `train` and `evaluate`
    with `--params cities/NAME/city.yaml` (the project's params.yaml with the city's own
    `params` over it); then, where the city has a registry and a screening date, `screen`; and
    where it has an inspector pool, `plan` (the draw's secret made for the run: in a real round
    `riskdraw commit` first). Outputs under DATA and REPORTS; MLflow experiments
    riskdraw-NAME-<stage>; the model registered as `train.model_name` (default NAME-risk).
    """
    city, _, path = _load_city(name)
    d = data or Path("data/cities") / city.name
    r = reports or Path("reports/cities") / city.name
    p = ("--params", path)
    profile, handoff = d / "profile.parquet", d / "entities"
    _step("city", "check", path, "--report", r / "check.json", *(["-v"] if verbose else []))
    _step("city", "ingest", path, "--out", handoff, "--report", r / "ingest.json")
    _step(
        "profile",
        *p,
        "--entities",
        handoff,
        "--out",
        profile,
        "--report",
        r / "profile.json",
        "--page",
        r / "attributes.md",
        "--no-progress",
    )
    _step(
        "select",
        *p,
        "--profile",
        profile,
        "--report",
        r / "selection.json",
        "--scores",
        r / "selection-scores.csv",
        "--plot",
        r / "selection.png",
    )
    _step(
        "tune",
        *p,
        "--profile",
        profile,
        "--selection",
        r / "selection.json",
        "--report",
        r / "tuning.json",
        "--storage",
        d / "optuna.db",
        *(["--trials", trials] if trials else []),
    )
    _step(
        "train",
        *p,
        "--profile",
        profile,
        "--tuning",
        r / "tuning.json",
        "--report",
        r / "train.json",
    )
    registry = ["--entities", handoff / "entities.parquet"] if city.registry else []
    _step(
        "evaluate",
        *p,
        "--profile",
        profile,
        "--train-report",
        r / "train.json",
        "--metrics",
        r / "metrics.json",
        "--plots",
        r / "evaluation",
        *registry,
    )
    if city.registry is None or city.rounds.screening_date is None:
        console.print(f"{city.name}: no registry or no screening date, so no screening or plan")
        return
    _step(
        "screen",
        *p,
        "--profile",
        profile,
        "--entities",
        handoff / "entities.parquet",
        "--out",
        d / "scores",
        "--report",
        r / "screen.json",
        "--audit",
        d / "audit" / "log.jsonl",
    )
    if city.inspectors is None:
        console.print(f"{city.name}: no inspector pool in its file, so no plan")
        return
    _step(
        "plan",
        *p,
        "--scores",
        d / "scores",
        "--events",
        handoff / "events",
        "--profile",
        profile,
        "--secret",
        d / "secrets" / "draw.key",
        "--pool",
        handoff / "pool.csv",
        "--out",
        d / "plans",
        "--report",
        r / "plan.json",
        "--plot",
        r / "plan-frontier.png",
        "--audit",
        d / "audit" / "log.jsonl",
    )
    console.print(f"[green]{city.name}: the whole flow ran[/green]; reports in {r}")


@app.command(rich_help_panel=PANEL)
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
    params: Annotated[Path, PARAMS] = Path("cities/chicago/city.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Chicago's food inspections: the city's evaluation reproduced, then riskdraw's model.

    Reads the city's file (cities/chicago/city.yaml): its published model table, checked row
    by row by the configured-city mechanism (refused rows go to QUARANTINE) and put in its
    rounds, the city's test period, 2014-09-02..2014-10-31, held out; and its `chicago`
    (published figures and tolerances), `select`, `tune` and `train` sections. The city's
    model is re-fitted on its training rows and judged by the city's own measure: the test
    period's work re-ordered by score, the mean days earlier a critical violation is found
    and the share found in the first half. riskdraw's select, tune and train functions then
    run on the training rounds only, with the inspector group (the city's setting) and without
    it (a double-random regulator draws inspectors at random). Runs in MLflow experiment
    riskdraw-chicago-reproduction; writes REPORT and SCORES (the test period's inspections
    with every model's score).
    """
    import optuna

    from riskdraw.cities.config import load_city
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
    city, folder = load_city(params)
    storage.parent.mkdir(parents=True, exist_ok=True)
    result = run_chicago(
        city,
        folder,
        settings,
        select,
        tune,
        train,
        f"sqlite:///{storage.resolve()}",
        use_experiment("reproduction"),
    )
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    write_csv(result.refused, quarantine, index=False)
    write_json(report, result.report)
    write_csv(result.scores, scores, index=False)
    chicago_table(result.report)
