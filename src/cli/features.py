"""The profile and the factors: `profile`, `select` and `evaluate-selection` (simulated city)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    PARAMS,
    PROGRESS,
    VERBOSE,
    app,
    console,
    load,
    round_snapshots,
    save_figure,
    setup_logging,
)
from ._tables import selection_summary


@app.command(rich_help_panel="3. the profile and the factors")
def profile(
    entities: Annotated[Path, typer.Option(help="resolve's output folder")] = Path("data/entities"),
    out: Annotated[Path, typer.Option(help="the profile: a Parquet folder, a file per date")] = (
        Path("data/features/profile.parquet")
    ),
    report: Annotated[Path, typer.Option(help="rows and snapshots (JSON)")] = Path(
        "reports/profile.json"
    ),
    page: Annotated[Path, typer.Option(help="the attribute catalogue (Markdown)")] = Path(
        "reports/attributes.md"
    ),
    screening_only: Annotated[
        bool, typer.Option("--screening-only", help="only the screening date's snapshot")
    ] = False,
    reuse: Annotated[
        Path | None,
        typer.Option(
            help="an earlier profile whose round snapshots (same date and task) are copied, not "
            "built: only where every event added since is known after those rounds' labels "
            "(`simulate-rounds`)"
        ),
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    progress: Annotated[bool, PROGRESS] = True,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """The enterprise profile: ~455 attributes per (entity_id, as_of_date), point in time.

    Reads params.yaml `profile`. Snapshots: every inspection round found in the events (as of
    its first inspection, labelled with what it found) and the screening date. Only records
    known before each as-of date count. Writes OUT (one row per enterprise open at the date, or
    inspected in its round), REPORT and PAGE (every attribute: family, kinds, 说明, description).
    With `--params cities/<name>/city.yaml`, a configured city's profile instead: ENTITIES is
    its hand-off (`riskdraw city ingest`), its rounds are the city file's, its attributes the
    generic ones by record kind (src/cities/profile.py), or its published feature table.
    """
    from riskdraw.config import city_name
    from riskdraw.features.attributes import catalogue, catalogue_markdown
    from riskdraw.io import write_json
    from riskdraw.outputs import check_file_outputs, require_complete

    setup_logging(verbose)
    settings = load("profile", params)
    check_file_outputs({"--report": report, "--page": page}, {"--entities": entities, "--out": out})
    if city_name(params) is not None:
        from riskdraw.cities.config import load_city
        from riskdraw.cities.profile import run_city_profile

        city, _ = load_city(params)
        result, attrs = run_city_profile(city, settings, entities, out, screening_only, progress)
    else:
        from riskdraw.features.profile import run_profile

        if reuse is not None:
            require_complete(reuse, "profile", "profile --reuse")
        result, attrs = run_profile(settings, entities, out, screening_only, progress, reuse)
    write_json(report, result)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(catalogue_markdown(catalogue(attrs)), encoding="utf-8")
    console.print(
        f"profile: {result['rows']:,} rows x {len(attrs)} attributes over "
        f"{len(result['snapshots'])} snapshots ({result['seconds']:.0f} s) -> {out}"
    )


@app.command(rich_help_panel="3. the profile and the factors")
def select(
    profile_path: Annotated[Path, typer.Option("--profile", help="the profile (Parquet)")] = Path(
        "data/features/profile.parquet"
    ),
    report: Annotated[Path, typer.Option(help="the factors and how they were chosen (JSON)")] = (
        Path("reports/selection.json")
    ),
    scores: Annotated[Path, typer.Option(help="every attribute's scores (CSV)")] = Path(
        "reports/selection-scores.csv"
    ),
    plot: Annotated[Path, typer.Option(help="the methods side by side (PNG)")] = Path(
        "reports/selection.png"
    ),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    track: Annotated[bool, typer.Option(help="log to MLflow (riskdraw-select)")] = True,
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Choose the risk model's factors from the profile, by four methods compared.

    Reads params.yaml `select`. Learns only from the labelled rows of the training rounds (the
    last `holdout_rounds` are never read). Methods: information value, LightGBM gain with its
    stability over time folds, L1 stability selection, and permutation importance of each
    family on the round its model left out. The consensus orders families by that permutation
    importance and takes from each the attribute the other three rank best; then it prunes
    redundancy (one factor per family, |Spearman| <= max_correlation), `fixed` factors first.
    Writes REPORT (`factors`, `attributes`, the methods compared out of sample, the families
    of every compared factor), SCORES and PLOT; logs one MLflow parent run with a child run per
    method. The truth is never read here: `riskdraw evaluate-selection` judges the factors.
    """
    from riskdraw.features.profile import profile_families
    from riskdraw.features.selection import run_select, scores_table, selection_figure
    from riskdraw.io import write_csv, write_json

    setup_logging(verbose)
    settings = load("select", params)
    frame = round_snapshots(profile_path, "select")
    with console.status("selecting the factors: four methods, compared out of sample"):
        selection = run_select(settings, frame, profile_families(profile_path, frame.columns))
    write_json(report, selection.report)
    scores.parent.mkdir(parents=True, exist_ok=True)
    write_csv(scores_table(selection.selector), scores)
    save_figure(selection_figure(selection.selector, selection.report["methods"]), plot)
    if track:
        from riskdraw.features.tracking import log_selection
        from riskdraw.tracking import file_digest

        log_selection(
            settings, selection.report, [report, scores, plot], file_digest(profile_path),
            file_digest(report),
        )  # fmt: skip
    selection_summary(selection.report)


@app.command("evaluate-selection", rich_help_panel="3. the profile and the factors")
def evaluate_selection(
    selection: Annotated[Path, typer.Option(help="select's report")] = Path(
        "reports/selection.json"
    ),
    truth: Annotated[Path, typer.Option(help="the simulated city's truth")] = Path("data/truth"),
    report: Annotated[Path, typer.Option(help="the drivers recovered (JSON)")] = Path(
        "reports/selection-truth.json"
    ),
    track: Annotated[bool, typer.Option(help="log to MLflow (riskdraw-select)")] = True,
) -> None:
    """Simulated city only: how many of the simulator's true drivers the factors recovered.

    Evaluation code: reads data/truth/, which selection never sees. A factor recovers a driver
    when its family is the driver's. Writes REPORT (`true_drivers_recovered`, which were
    recovered and missed, and each compared method's count); logs to MLflow (riskdraw-select,
    stage `selection-evaluation`).
    """
    from riskdraw.features.evaluation import selection_against_truth
    from riskdraw.io import read_json, write_json

    result = selection_against_truth(read_json(selection), truth)
    write_json(report, result)
    if track:
        from riskdraw.features.tracking import log_drivers_recovered
        from riskdraw.tracking import file_digest

        log_drivers_recovered(result, report, file_digest(selection), file_digest(report))
    console.print(
        f"true drivers recovered: [bold]{result['true_drivers_recovered']} of "
        f"{result['true_drivers']}[/bold]; missed: {', '.join(result['missed']) or 'none'}"
    )
