"""`riskdraw summary`: what the pipeline built, stage by stage, from its reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskdraw.io import read_json

from ._common import app, console
from ._tables import (
    comparison_table,
    evaluation_summary,
    failed_sources,
    plan_summary,
    plan_truth_summary,
    profile_summary,
    publication_summary,
    quality_summary,
    resolve_summary,
    results_summary,
    screen_summary,
    selection_summary,
)


@app.command(rich_help_panel="8. reports and tracking")
def summary(
    simulate_report: Annotated[Path, typer.Option(help="the simulate stage's report")] = Path(
        "reports/simulate.json"
    ),
    quality_report: Annotated[Path, typer.Option(help="the ingest stage's report")] = Path(
        "reports/quality.json"
    ),
    reports: Annotated[Path, typer.Option(help="where the later stages' reports are")] = Path(
        "reports"
    ),
) -> None:
    """Print what the pipeline built: the city, governed data, one file per enterprise, the
    profile, the 12 factors, the model against its baselines and its evaluation on the
    held-out round, the city screened and the plan for the next round, its results and their
    publication, and the rounds loop (each section as far as the pipeline has run)."""
    if not simulate_report.exists():
        console.print(f"[red]{simulate_report} not found[/red]: run `make run` (dvc repro) first")
        raise typer.Exit(1)
    rep = read_json(simulate_report)
    quality = read_json(quality_report) if quality_report.exists() else None
    if quality and quality["failed"]:  # what failed comes first
        console.rule("[bold red]failed sources (ingest)")
        failed_sources(quality)
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
    if quality:
        quality_summary(quality, failures=False)
    if (reports / "resolve.json").exists():
        resolve_summary(reports)
    if (reports / "profile.json").exists():
        profile_summary(read_json(reports / "profile.json"))
    if (reports / "selection.json").exists():
        truth = reports / "selection-truth.json"
        selection_summary(
            read_json(reports / "selection.json"), read_json(truth) if truth.exists() else None
        )
    if (reports / "tuning.json").exists():
        tuned = read_json(reports / "tuning.json")
        console.rule("[bold]the model and its baselines (tune)")
        comparison_table(
            f"mean over validation rounds {', '.join(tuned['validation_rounds'])}; capacity "
            f"{tuned['capacity']:.0%}",
            tuned["compared"],
        )
    if (reports / "metrics.json").exists():
        evaluation_summary(read_json(reports / "metrics.json"))
    if (reports / "screen.json").exists():
        screen_summary(read_json(reports / "screen.json"))
    if (reports / "plan.json").exists():  # the plan for the next round ends the summary
        plan_summary(read_json(reports / "plan.json"))
        if (reports / "plan-truth.json").exists():
            plan_truth_summary(read_json(reports / "plan-truth.json"))
    if (reports / "results.json").exists():
        results_summary(read_json(reports / "results.json"))
    if (reports / "publication.json").exists():
        publication_summary(read_json(reports / "publication.json"))
    if (reports / "rounds.json").exists():
        _rounds(read_json(reports / "rounds.json"))


def _rounds(result: dict) -> None:
    """The rounds loop: per arm and round, the estimate of the violation rate against the truth
    and the model's calibration (reports/rounds.md has every figure)."""
    console.rule(f"[bold]three rounds after the reform ({result['entities']:,}-enterprise city)")
    table = Table("arm", "round", "visits", "plan hit rate obs / exp", "calibration in the large",
                  "estimate (95%)", "truth")  # fmt: skip
    for arm, rows in result["arms"].items():
        for r in rows:
            low, high = r["violation_rate_ci95"]
            colour = "green" if r["violation_rate_covered"] else "red"
            table.add_row(
                arm,
                str(r["round"]),
                f"{r['visits']:,}",
                f"{r['hit_rate_plan_observed']:.1%} / {r['hit_rate_plan_expected']:.1%}",
                f"{r['calibration_in_the_large']:+.3f}",
                f"[{colour}]{r['violation_rate_estimate']:.1%} ({low:.1%}-{high:.1%})[/{colour}]",
                f"{r['violation_rate_truth']:.1%}",
            )
    console.print(table)
