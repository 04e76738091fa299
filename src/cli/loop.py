"""`riskdraw simulate-rounds`: rounds after the reform in a simulated city, each drawn by the plan.

Each round is the flow a bureau runs, by the same commands: `train` (every labelled round so
far), `screen`, `plan`, the bureaus' results (`simulate-results`), `record-results`, `ingest`
(the departments' extracts and every round's results so far), `resolve`, `profile`. Each
round's model is judged on the round it planned, against the simulated truth. It runs once
per arm: training weighted by the inverse of the recorded inclusion probabilities, and
unweighted, to show what the weights prevent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, VERBOSE, app, console, fail, load, setup_logging

PANEL = "1. the simulated city"
ARM_NAMES = {"inverse_inclusion": "weighted", "none": "unweighted"}


@app.command("simulate-rounds", rich_help_panel=PANEL)
def simulate_rounds(
    work: Annotated[Path, typer.Option(help="the loop's own city and rounds")] = Path(
        "data/rounds"
    ),
    tuning: Annotated[
        Path, typer.Option(help="tune's report: the factors and parameters each round retrains")
    ] = Path("reports/tuning.json"),
    report: Annotated[Path, typer.Option(help="round by round, per arm (JSON)")] = Path(
        "reports/rounds.json"
    ),
    table: Annotated[Path, typer.Option(help="the same as a Markdown table")] = Path(
        "reports/rounds.md"
    ),
    plot: Annotated[Path, typer.Option(help="the estimates against the truth (PNG)")] = Path(
        "reports/rounds.png"
    ),
    catalogue: Annotated[Path, typer.Option(help="the catalogue folder")] = Path("catalogue"),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Simulated city only: consecutive rounds after the reform, each drawn by the plan, the
    model retrained on what came back, judged against the truth.

    Reads params.yaml `simulate_rounds` (the loop city's size, the rounds after the reform, the
    arms, how long records go on after the last round) and every section the commands it runs
    read. The loop city is the `simulate` section's, with those rounds added as planned rounds
    (their truth drawn, their inspections left to the plan). Per arm and round, under WORK:
    the round's params, model report, scores, plan, results, governed data and profile, all
    made by the same commands a bureau runs (`train --all-rounds` with TUNING's factors and
    parameters, `screen`, `plan`, `simulate-results`, `record-results`, `ingest` with every
    round's results so far, `resolve`, `profile`). Each round's model is champion for its
    round: it is judged on that round when its results come back. Writes REPORT, TABLE and
    PLOT: per round, the hit rate of the drawn visits by class found, expected by the plan and
    expected by the truth; the model's calibration (its mean probability against the truth's
    rate, and its error on the round's results weighted by 1 / inclusion probability, both
    against `evaluate.gates.max_calibration_error`); the oracle and plan oracle ratios; and
    the estimate of the violation rate among the enterprises the plan could visit, with its
    95% interval, against the truth; an MLflow run per arm (experiment riskdraw-rounds). The
    round's draw secrets are made from `simulate.seed`, so that the loop is reproducible.
    """
    import yaml
    from pydantic import ValidationError

    from riskdraw.config import SimulateParams
    from riskdraw.inspection.tracking import log_rounds, rounds_figure, rounds_markdown
    from riskdraw.io import write_json

    setup_logging(verbose)
    settings = load("simulate_rounds", params)
    gates = load("evaluate", params).gates
    base = yaml.safe_load(params.read_text(encoding="utf-8"))
    city = _loop_city(base["simulate"], settings)
    try:
        SimulateParams.model_validate(city)
    except ValidationError as error:
        raise fail(f"{params}: the loop city (simulate with simulate_rounds) is not valid: "
                   f"{error.errors()[0]['msg']}") from None  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    base["simulate"] = city
    c = work / "city"
    _write(work / "params.yaml", base)
    days = [str(d) for d in settings.rounds]
    first = _round_params(base, work / "city" / "params.yaml", days[0], "inverse_inclusion")
    console.rule(f"the loop city: {settings.entities:,} enterprises, rounds {', '.join(days)}")
    _run("simulate", "--out", c / "raw", "--truth", c / "truth", "--report",
         c / "simulate.json", "--params", first, "--no-track", "--no-progress")  # fmt: skip
    _ingest(c / "raw", [], c / "interim", catalogue, first)
    _run("resolve", "--interim", c / "interim", "--out", c / "entities", "--report",
         c / "resolve.json", "--params", first)  # fmt: skip
    _profile(c / "entities", c / "profile.parquet", first)
    arms = {}
    for arm in settings.arms:
        arms[ARM_NAMES[arm]] = _arm(work, c, arm, days, base, tuning, catalogue)
    result = {
        "entities": settings.entities,
        "rounds": days,
        "gate_max_calibration_error": gates.max_calibration_error,
        "arms": arms,
    }
    write_json(report, result)
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text(rounds_markdown(result), encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    rounds_figure(result).savefig(plot, dpi=110, bbox_inches="tight")
    log_rounds(result, [report, table, plot])
    console.print(rounds_markdown(result))


def _arm(work, c, arm, days, base, tuning, catalogue) -> list[dict]:
    """One arm's rounds: train, screen, plan, results, record, ingest, resolve, profile; each
    round judged when its results are in the next profile."""
    import pandas as pd

    from riskdraw.inspection.planning import DRAWN
    from riskdraw.io import read_json
    from riskdraw.simcity.results import screening_violations
    from riskdraw.training.evaluation import loop_round
    from riskdraw.training.registry import make_champion

    folder = work / ARM_NAMES[arm]
    profile, entities = c / "profile.parquet", c / "entities"
    deliveries: list[Path] = []
    rows = []
    for k, day in enumerate(days):
        r = folder / f"round-{k + 1}"
        console.rule(f"{ARM_NAMES[arm]}: round {k + 1} of {len(days)}, as of {day}")
        p = _round_params(base, r / "params.yaml", day, arm)
        _run("train", "--profile", profile, "--tuning", tuning, "--report", r / "train.json",
             "--all-rounds", "--params", p)  # fmt: skip
        trained = read_json(r / "train.json")
        make_champion(trained["model_name"], trained["version"], f"simulate-rounds round {k + 1}")
        audit = folder / "audit.jsonl"
        _run("screen", "--profile", profile, "--entities", entities / "entities.parquet",
             "--out", r / "scores", "--report", r / "screen.json", "--audit", audit,
             "--params", p)  # fmt: skip
        _loop_secret(r / "secret.key", base["simulate"]["seed"], arm, k + 1)
        _run("plan", "--scores", r / "scores", "--events", entities / "events", "--pool",
             c / "raw" / "inspectors" / "pool.csv", "--domains", catalogue / "domains.yaml",
             "--checklists", catalogue / "checklists.yaml", "--profile", profile, "--secret",
             r / "secret.key", "--out", r / "plan", "--report", r / "plan.json", "--plot",
             r / "frontier.png", "--audit", audit, "--params", p)  # fmt: skip
        _run("evaluate-plan", "--plan", r / "plan", "--entities", entities / "entities.parquet",
             "--truth", c / "truth", "--report", r / "plan-truth.json")  # fmt: skip
        _run("simulate-results", "--plan", r / "plan", "--truth", c / "truth", "--out",
             r / "delivered" / "results.csv", "--params", p)  # fmt: skip
        _run("record-results", "--results", r / "delivered" / "results.csv", "--plan",
             r / "plan", "--out", r / "recorded", "--report", r / "results.json",
             "--params", p)  # fmt: skip
        deliveries.append(r / "recorded" / "delivery")
        _ingest(c / "raw", deliveries, r / "interim", catalogue, p)
        _run("resolve", "--interim", r / "interim", "--out", r / "entities", "--report",
             r / "resolve.json", "--params", p)  # fmt: skip
        later = days[k + 1] if k + 1 < len(days) else day
        # The rounds before this one are copied from the last profile: what came back since
        # is this round's results, known after their labels.
        _profile(r / "entities", r / "profile.parquet",
                 _round_params(base, r / "next-params.yaml", later, arm), profile)  # fmt: skip
        profile, entities = r / "profile.parquet", r / "entities"
        plan = read_json(r / "plan.json")
        truth = screening_violations(c / "truth", base["simulate"]["seed"], plan["screening_date"])
        frame = _visitable(r / "plan", r / "scores", truth)
        visited = pd.read_parquet(r / "recorded" / "results.parquet").merge(
            frame[["entity_id", "probability"]], on="entity_id", how="left"
        )
        rows.append(
            loop_round(
                visited,
                frame,
                plan,
                read_json(r / "plan-truth.json"),
                read_json(r / "results.json"),
                arm,
                DRAWN,
            )
            | {"round": k + 1, "as_of_date": day, "model_version": trained["version"]}
        )
    return rows


def _loop_secret(path: Path, seed: int, arm: str, number: int) -> None:
    """A round's draw secret made from the city's seed, so that the loop is reproducible (a
    simulation has nothing to hide; a real round's secret comes from `riskdraw commit`)."""
    import hashlib
    import os

    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    value = hashlib.sha256(f"simulate-rounds {seed} {arm} {number}".encode()).hexdigest()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def _loop_city(simulate: dict, settings) -> dict:
    """The `simulate` section with the loop's rounds added after its own, as planned rounds."""
    import datetime as dt

    rounds = [str(d) for d in simulate["rounds"]] + [str(d) for d in settings.rounds]
    if sorted(rounds) != rounds or str(settings.rounds[0]) <= str(simulate["rounds"][-1]):
        raise fail(
            "params.yaml simulate_rounds.rounds: the rounds after the reform must come after "
            f"simulate.rounds (its last is {simulate['rounds'][-1]})"
        )
    end = settings.rounds[-1] + dt.timedelta(days=settings.after_days)
    first = len(simulate["rounds"]) + 1
    return simulate | {
        "entities": settings.entities,
        "rounds": rounds,
        "planned_rounds": list(range(first, len(rounds) + 1)),
        "targeted_rounds": [],
        "history_end": str(end),
        "screening_date": str(end),
    }


def _round_params(base: dict, path: Path, day: str, arm: str) -> Path:
    """A round's params: the loop's, screened at `day`, trained with the arm's weighting,
    registered under the arm's own model name, its task named by its month."""
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    params["profile"] = params["profile"] | {"screening_date": day}
    params["train"] = params["train"] | {
        "weighting": arm,
        "model_name": f"riskdraw-rounds-{ARM_NAMES[arm]}",
    }
    params["plan"] = params["plan"] | {"task": f"FSSJ-{day[:7]}"}
    _write(path, params)
    return path


def _write(path: Path, params: dict) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")


def _ingest(raw: Path, deliveries: list[Path], out: Path, catalogue: Path, params: Path) -> None:
    extra = [a for d in deliveries for a in ("--delivery", d)]
    _run("ingest", "--raw", raw, "--sources", catalogue / "foshan-sim.yaml", "--kinds",
         catalogue / "kinds.yaml", *extra, "--out", out, "--report", out.parent / "quality.json",
         "--page", out.parent / "quality.html", "--params", params, "--no-progress")  # fmt: skip


def _profile(entities: Path, out: Path, params: Path, reuse: Path | None = None) -> None:
    extra = ["--reuse", reuse] if reuse is not None else []
    _run("profile", "--entities", entities, "--out", out, "--report",
         out.parent / "profile.json", "--page", out.parent / "attributes.md", *extra,
         "--params", params, "--no-progress")  # fmt: skip


def _visitable(plan: Path, scores: Path, violates):
    """The enterprises the plan could visit (not cooled off), with the model's class and
    probability, whether each was in the draw and, from the truth by credit code, whether
    each breaks the rules."""
    import pandas as pd

    from riskdraw.inspection.planning import COOL_OFF, DRAWN, NOT_DRAWN

    inclusion = pd.read_csv(plan / "inclusion.csv", dtype={"entity_id": str})
    frame = inclusion[inclusion["status"] != COOL_OFF]
    codes = pd.read_parquet(scores / "scores.parquet", columns=["entity_id", "credit_code"])
    frame = frame.merge(codes, on="entity_id", how="left")
    return frame.assign(
        violates=violates.reindex(frame["credit_code"]).to_numpy(dtype=bool),
        in_draw=frame["status"].isin([DRAWN, NOT_DRAWN]).to_numpy(),
    )


def _run(command: str, *args) -> None:
    """Run one riskdraw command in this process, as a user types it; stop on its failure."""
    import time

    from typer.main import get_command

    argv = [command, *(str(a) for a in args)]
    start = time.perf_counter()
    code = get_command(app).main(argv, prog_name="riskdraw", standalone_mode=False)
    if code:
        raise fail(f"simulate-rounds stopped: `riskdraw {' '.join(argv)}` exited with {code}")
    console.print(f"[dim]riskdraw {command}: {time.perf_counter() - start:.1f} s[/dim]")
