"""The round's return: `simulate-results` (the simulated bureaus' results of a plan),
`record-results` (validated against the plan, delivered as the next ingest's source) and
`publish` (the public disclosure, with the draw anyone can verify)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, VERBOSE, app, console, fail, load, setup_logging
from ._tables import publication_summary, results_summary

PANEL = "5. the round"
PLAN = typer.Option(help="plan's output folder")
RECORDED = typer.Option(help="record-results' output folder")


def _day(value: str | None, default: dt.date) -> dt.date:
    """A YYYY-MM-DD option, or exit 2 naming it."""
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"--on {value!r}: not a date (YYYY-MM-DD)") from None


def _plan(plan: Path, consumer: str):
    """(plan.json, the visits) of a complete plan folder."""
    import pandas as pd

    from riskdraw.io import read_json
    from riskdraw.outputs import require_complete

    require_complete(plan, "plan", consumer)
    return read_json(plan / "plan.json"), pd.read_parquet(plan / "visits.parquet")


@app.command("simulate-results", rich_help_panel="1. the simulated city")
def simulate_results(
    plan: Annotated[Path, PLAN] = Path("data/plans"),
    truth: Annotated[Path, typer.Option(help="the simulated city's truth")] = Path("data/truth"),
    out: Annotated[Path, typer.Option(help="the bureaus' results file (CSV)")] = Path(
        "data/results/delivered/results.csv"
    ),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Simulated city only: the bureaus' results of a plan's visits, from the truth.

    Whether a visited enterprise breaks the rules is drawn from its true probability at the
    screening date (at a planned round's date, `simulate.planned_rounds`, the round's own
    truth); the items checked are its visit's fused checklist (the plan's
    checklists.csv). Reads params.yaml `round_results` (the visits' days after the plan, the
    recording lags, the late share, the unreported share, the mixed date styles and the rows no
    plan allows: a visit reported twice, an enterprise not drawn, an inspector not assigned, a
    date before the plan's) and `simulate.seed`. Writes OUT, a department's file (one row per
    visit reported, every value as text): what `riskdraw record-results` reads.
    """
    import pandas as pd

    from riskdraw.io import write_csv
    from riskdraw.outputs import check_file_outputs
    from riskdraw.simcity.results import plan_results, registry, screening_violations

    setup_logging(verbose)
    settings = load("round_results", params)
    seed = load("simulate", params).seed
    made, visits = _plan(plan, "simulate-results")
    check_file_outputs({"--out": out}, {"--plan": plan, "--truth": truth})
    by_code = screening_violations(truth, seed, made["screening_date"])
    lists = pd.read_csv(plan / "checklists.csv", usecols=["entity_id"], dtype=str)
    items = visits.set_index("entity_id")["credit_code"].reindex(lists["entity_id"])
    per_visit = items.value_counts()
    rows = plan_results(visits, registry(truth), per_visit, by_code, made["task"], settings,
                        seed)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out, index=False, encoding="utf-8")
    console.print(
        f"the bureaus report {len(rows):,} rows for {len(visits):,} visits of task "
        f"{made['task']} (late, mixed dates and mistakes included) -> {out}"
    )


@app.command("record-results", rich_help_panel=PANEL)
def record_results(
    results: Annotated[Path, typer.Option(help="the bureaus' results file (CSV)")] = Path(
        "data/results/delivered/results.csv"
    ),
    plan: Annotated[Path, PLAN] = Path("data/plans"),
    out: Annotated[Path, typer.Option(help="the recorded results and their delivery")] = Path(
        "data/results/recorded"
    ),
    report: Annotated[Path, typer.Option(help="the recording's report")] = Path(
        "reports/results.json"
    ),
    on: Annotated[
        str | None, typer.Option(help="the day the results are recorded (default: today)")
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Record a round's results against its plan, and deliver them as the next ingest's source.

    RESULTS has one row per visit: credit_code, name, task, inspected_on, inspectors (";"
    between them), items_checked, items_failed, result (one of the published results) and
    recorded_on (dates in any of the departments' styles). Every row is accepted or quarantined
    with its reasons: a result for an enterprise the plan did not draw (`not_drawn`), by an
    inspector it did not assign (`inspector_not_assigned`), dated before the plan
    (`before_plan`), of another task, a second one for a visit, or malformed; rows in =
    accepted + quarantined. Reads params.yaml `publish.department`. Writes OUT/results.parquet
    and .csv (the accepted, with each visit's status, class and inclusion probability),
    OUT/quarantine.csv, OUT/unreported.csv (the visits with no result), OUT/delivery/ (the
    accepted as one inspection source: its extract, manifest.json and sources.yaml, read by
    `riskdraw ingest --delivery`) and REPORT.
    """
    import pandas as pd

    from riskdraw.inspection.recording import (
        check_results,
        delivery,
        read_results,
        results_report,
        write_delivery,
    )
    from riskdraw.io import write_csv, write_json
    from riskdraw.outputs import check_file_outputs, staged_folder, write_completion

    setup_logging(verbose)
    settings = load("publish", params)
    made, visits = _plan(plan, "record-results")
    check_file_outputs({"--report": report}, {"--results": results, "--plan": plan, "--out": out})
    rows = read_results(results)
    day = pd.Timestamp(_day(on, dt.date.today()))
    recorded = check_results(rows, visits, made["task"], pd.Timestamp(made["screening_date"]),
                             day, str(results))  # fmt: skip
    result = results_report(recorded, visits)
    result |= {"task": made["task"], "model_version": made["model_version"]}
    inputs = {"results": results, "plan": plan}
    with staged_folder(out, inputs) as work:
        recorded.accepted.to_parquet(work / "results.parquet", index=False)
        write_csv(recorded.accepted, work / "results.csv", index=False)
        write_csv(recorded.quarantine, work / "quarantine.csv", index=False)
        write_csv(recorded.unreported, work / "unreported.csv", index=False)
        write_delivery(work / "delivery", *delivery(recorded.accepted, made["task"],
                                                    settings.department))  # fmt: skip
        write_completion(
            work,
            "record-results",
            inputs,
            {"task": made["task"]},
            {"accepted": result["accepted"], "quarantined": result["quarantined"]},
        )
    write_json(report, result)
    results_summary(result)
    rate = result["violation_rate"]
    if rate["estimate"] is not None:
        low, high = rate["ci95"]
        console.print(
            f"the violation rate among the enterprises the plan could visit, estimated from the "
            f"draw (each result weighted by 1 / its inclusion probability): "
            f"[bold]{rate['estimate']:.1%}[/bold] (95% {low:.1%} to {high:.1%}); the plain share "
            f"of the visits, {rate['plain_share']:.1%}, is what a targeted draw finds, not the "
            "city's rate"
        )


@app.command(rich_help_panel=PANEL)
def publish(
    recorded: Annotated[Path, RECORDED] = Path("data/results/recorded"),
    plan: Annotated[Path, PLAN] = Path("data/plans"),
    secret: Annotated[Path, typer.Option(help="the draw's secret, revealed now")] = Path(
        "data/secrets/draw.key"
    ),
    out: Annotated[Path, typer.Option(help="the publication folder")] = Path("data/publication"),
    report: Annotated[Path, typer.Option(help="the publication's report")] = Path(
        "reports/publication.json"
    ),
    on: Annotated[
        str | None,
        typer.Option(help="the publication date (default: the day the last result was recorded)"),
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Publish a round: the disclosure file and the draw, revealed so anyone can verify it.

    Reads params.yaml `publish.within_days`. Writes OUT/disclosure.csv (per result recorded by
    the publication date: the enterprise's name and credit code, the task, the inspection and
    publication dates, the items checked and failed, the result, the inspecting unit, and
    `late` where it was published more than `within_days` after the inspection; nothing
    personal, checked by the privacy scan before anything is written), OUT/overdue.csv (results
    past their deadline and not yet published, and visits with no result), OUT/draw.json (the
    commitment, the revealed secret, the public value, the seed and the command that re-runs
    the draw), OUT/plan.json and OUT/inclusion.csv (what `riskdraw verify --plan OUT` checks),
    and REPORT. Exit 3 if a value would publish personal data.
    """
    import shutil

    import pandas as pd

    from riskdraw.inspection.disclosure import disclosure, overdue, publication_report
    from riskdraw.inspection.draw import check_secret, derive_seed
    from riskdraw.io import write_csv, write_json
    from riskdraw.outputs import (
        check_file_outputs,
        require_complete,
        staged_folder,
        write_completion,
    )

    setup_logging(verbose)
    settings = load("publish", params)
    made, _ = _plan(plan, "publish")
    require_complete(recorded, "record-results", "publish")
    check_file_outputs({"--report": report}, {"--recorded": recorded, "--plan": plan,
                                              "--secret": secret, "--out": out})  # fmt: skip
    if not secret.is_file():
        raise fail(f"--secret {secret}: not found: the plan's secret is needed to reveal it")
    value = secret.read_text(encoding="utf-8").strip()
    draw = made["draw"]
    if not check_secret(value, draw["commitment"]):
        raise fail(f"--secret {secret}: not the secret the plan committed to "
                   f"({draw['commitment']})", 3)  # fmt: skip
    accepted = pd.read_parquet(recorded / "results.parquet")
    last = accepted["recorded_on"].max() if len(accepted) else pd.Timestamp(made["screening_date"])
    day = pd.Timestamp(_day(on, last.date()))
    unreported = pd.read_csv(recorded / "unreported.csv", dtype=str, keep_default_na=False)
    published = disclosure(accepted, day, settings.within_days)
    waiting = overdue(accepted, unreported, day, settings.within_days)
    public_value = draw["public_value"]
    revealed = {
        "task": made["task"], "published_on": str(day.date()),
        "commitment": draw["commitment"], "secret": value, "public_value": public_value,
        "seed": derive_seed(value, public_value), "method": draw.get("method"),
        "verify": "riskdraw verify --plan PUBLICATION --scores SCORES --secret SECRET",
    }  # fmt: skip
    inputs = {"recorded": recorded, "plan": plan}
    with staged_folder(out, inputs) as work:
        write_csv(published, work / "disclosure.csv", index=False, encoding="utf-8")
        write_csv(waiting, work / "overdue.csv", index=False, encoding="utf-8")
        write_json(work / "draw.json", revealed)
        for name in ("plan.json", "inclusion.csv"):
            shutil.copyfile(plan / name, work / name)
        result = publication_report(published, waiting, settings.within_days) | {
            "task": made["task"], "published_on": str(day.date()),
            "commitment": draw["commitment"],
        }  # fmt: skip
        write_completion(work, "publish", inputs, {"within_days": settings.within_days},
                         {"published": result["published"]})  # fmt: skip
    write_json(report, result)
    publication_summary(result)
