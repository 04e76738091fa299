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


@app.command()
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
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """The enterprise profile: ~455 attributes per (entity_id, as_of_date), point in time.

    Reads params.yaml `profile`. Snapshots: every inspection round found in the events (as of
    its first inspection, labelled with what it found) and the screening date. Only records
    known before each as-of date count. Writes OUT (one row per enterprise open at the date, or
    inspected in its round), REPORT and PAGE (every attribute: family, kinds, 说明, description).
    With `profile.city` other than `simulated` (configs/chicago.yaml), the profile comes from
    that city's adapter (src/cities/) instead: ENTITIES and PAGE are not used.
    """
    import time

    from riskdraw.features.attributes import catalogue, catalogue_markdown
    from riskdraw.features.profile import connect, snapshots, write_profile
    from riskdraw.io import write_json

    _logging(verbose)
    settings = _load("profile", params)
    if settings.city != "simulated":
        return _city_profile(settings.city, params, out, report)
    start = time.perf_counter()
    con = connect(settings.memory_limit, settings.threads or None)
    events = entities / "events"
    snaps = snapshots(con, events, settings.screening_date, settings.rounds and not screening_only)
    attrs = write_profile(con, events, entities / "entities.parquet", snaps, out, progress)
    summary = (
        con.read_parquet(f"{out}/*.parquet")
        .group_by(["as_of_date", "snapshot", "task"])
        .aggregate(
            rows=lambda t: t.count(),
            inspected=lambda t: t.inspected.cast("int64").sum(),
            problems=lambda t: t.problem.cast("int64").sum(),
        )
        .order_by("as_of_date")
        .to_pandas()
    )
    seconds = time.perf_counter() - start
    snapshots_ = [
        {
            "as_of_date": str(r.as_of_date.date()),
            "snapshot": r.snapshot,
            "task": r.task,
            "rows": int(r.rows),
            "inspected": int(r.inspected or 0),
            "hit_rate": round(float(r.problems) / r.inspected, 4) if r.inspected else None,
        }
        for r in summary.itertuples()
    ]
    write_json(
        report,
        {
            "rows": int(summary["rows"].sum()),
            "attributes": len(attrs),
            "families": len({a.family for a in attrs}),
            "snapshots": snapshots_,
            "seconds": round(seconds, 1),
        },
    )
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(catalogue_markdown(catalogue(attrs)), encoding="utf-8")
    console.print(
        f"profile: {int(summary['rows'].sum()):,} rows x {len(attrs)} attributes over "
        f"{len(snaps)} snapshots ({seconds:.0f} s) -> {out}"
    )


@app.command()
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
    truth: Annotated[
        Path | None,
        typer.Option(help="simulated city only: evaluate against the true drivers"),
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    track: Annotated[bool, typer.Option(help="log to MLflow (riskdraw-select)")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Choose the risk model's factors from the profile, by four methods compared.

    Reads params.yaml `select`. Learns only from the labelled rows of the training rounds (the
    last `holdout_rounds` are never read). Methods: information value, LightGBM gain with its
    stability over time folds, L1 stability selection, and permutation importance of each
    family on the round its model left out. The consensus orders families by that permutation
    importance and takes from each the attribute the other three rank best; then it prunes
    redundancy (one factor per family, |Spearman| <= max_correlation), `fixed` factors first.
    Writes REPORT (`factors`, `attributes`, per-method comparison, and with --truth
    `true_drivers_recovered`), SCORES and PLOT; logs one MLflow parent run with a child run per
    method.
    """
    import pyarrow.parquet as pq

    from riskdraw.features.selection import FactorSelector, compare, training_rows
    from riskdraw.io import write_json

    _logging(verbose)
    settings = _load("select", params)
    frame = pq.read_table(profile_path, filters=[("snapshot", "=", "round")]).to_pandas()
    rows = training_rows(frame, settings.holdout_rounds)
    families = profile_families(profile_path, frame.columns)
    names = list(families)
    X, y = rows[names], rows["problem"].astype(int).to_numpy()
    folds = rows["as_of_date"].rank(method="dense").astype(int).to_numpy()
    weight = 1 / rows["inclusion_probability"].to_numpy()

    def make_selector() -> FactorSelector:
        return selector_from(settings, families)

    # The comparison is out of sample: each method chooses on the earlier training rounds and
    # is judged on the latest. The factors are then chosen on every training round.
    early = folds != folds.max()
    with console.status("comparing the methods: choosing on the earlier training rounds"):
        probe = make_selector().fit(X[early], y[early], folds[early], sample_weight=weight[early])
        sets = {**probe.method_factors_, "consensus": probe.factors_}
        comparison = compare(X, y, folds, sets, settings.validation_top, settings.seed)
    with console.status(f"scoring {len(names)} attributes on {len(rows):,} inspections"):
        selector = make_selector().fit(X, y, folds, sample_weight=weight)
    chosen = selector.scores_.loc[selector.factors_]
    result = {
        "factors": selector.factors_,
        "attributes": len(names),
        "rows": len(rows),
        "rounds": sorted(str(d.date()) for d in rows["as_of_date"].unique()),
        "details": [
            {
                "name": name,
                "family": r.family,
                "iv": round(float(r.iv), 4),
                "direction": "raises risk" if r.direction > 0 else "lowers risk",
                "gbm_stability": round(float(r.gbm_stability), 3),
                "l1_frequency": round(float(r.l1_frequency), 3),
                "family_loss_rise": round(float(r.perm_loss_rise), 5),
                "loss_rise": round(float(selector.confirmation_[name].mean()), 5),
                "rounds_adding": round(float((selector.confirmation_[name] > 0).mean()), 3),
            }
            for name, r in chosen.iterrows()
        ],
        "methods": comparison,
    }
    if truth is not None:
        from riskdraw.features.evaluation import drivers_recovered

        result |= drivers_recovered({f: families[f] for f in selector.factors_}, truth)
        for method, factors in sets.items():
            found = drivers_recovered({f: families[f] for f in factors}, truth)
            comparison[method]["true_drivers_recovered"] = found["true_drivers_recovered"]
    write_json(report, result)
    scores.parent.mkdir(parents=True, exist_ok=True)
    selector.scores_.assign(
        chosen=selector.scores_.index.isin(selector.factors_),
        reason=selector.scores_.index.map(selector.reasons_).fillna(""),
    ).to_csv(scores, index_label="attribute")
    _selection_plot(selector, comparison, plot)
    if track:
        _track_selection(settings, result, comparison, report, scores, plot, profile_path)
    _selection_summary(result)


def selector_from(settings, families: dict[str, str] | None = None, n_factors: int | None = None):
    """A FactorSelector with the `select` section's criteria (`n_factors` overrides its own)."""
    from riskdraw.features.selection import FactorSelector

    return FactorSelector(
        n_factors=n_factors or settings.n_factors,
        families=families,
        fixed=tuple(settings.fixed),
        min_iv=settings.min_iv,
        max_correlation=settings.max_correlation,
        bins=settings.bins,
        l1_resamples=settings.l1_resamples,
        l1_keep=settings.l1_keep,
        perm_repeats=settings.perm_repeats,
        max_swaps=settings.max_swaps,
        random_state=settings.seed,
    )


def _city_profile(city: str, params: Path, out: Path, report: Path) -> None:
    """A real city's profile from its adapter: one Parquet file per round, as the simulated
    city's, each carrying the attribute families (`riskdraw.families`) select and tune read."""
    import json
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskdraw.cities import chicago
    from riskdraw.io import write_json

    settings = _load(city, params)
    frame, refused = chicago.profile(settings.data, settings.period_days, settings.with_inspector)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    meta = {b"riskdraw.families": json.dumps(chicago.families(frame)).encode()}
    for date, rows in frame.groupby("as_of_date"):
        table = pa.Table.from_pandas(rows.reset_index(drop=True), preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        pq.write_table(table, out / f"as_of={date.date()}.parquet")
    rounds = frame.groupby("as_of_date")["problem"].agg(["size", "mean"])
    write_json(
        report,
        {
            "city": city,
            "rows_in": len(frame) + int(refused["row"].nunique()),
            "rows_quarantined": int(refused["row"].nunique()),
            "attributes": len(chicago.families(frame)),
            "snapshots": [
                {
                    "as_of_date": str(d.date()),
                    "snapshot": "round",
                    "rows": int(r["size"]),
                    "hit_rate": float(r["mean"]),
                }
                for d, r in rounds.iterrows()
            ],
        },
    )
    console.print(
        f"profile of {city}: {len(frame):,} inspections x {len(chicago.families(frame))} "
        f"attributes in {len(rounds)} rounds -> {out}"
    )


def profile_families(path: Path, columns) -> dict[str, str]:
    """attribute -> family of a profile: its own list if it carries one (a real city's adapter
    writes it), else riskdraw's catalogue (the simulated city's attributes)."""
    import json

    import pyarrow.parquet as pq

    from riskdraw.features.attributes import attributes

    files = sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [Path(path)]
    meta = (pq.read_schema(files[0]).metadata or {}) if files else {}
    if b"riskdraw.families" in meta:
        own = json.loads(meta[b"riskdraw.families"])
        return {c: own[c] for c in columns if c in own}
    districts = [c.removeprefix("district_") for c in columns if c.startswith("district_")]
    catalogue = {a.name: a.family for a in attributes(districts)}
    return {c: catalogue[c] for c in columns if c in catalogue}


def _number(value: float | None) -> str:
    """A measure to three places, or n/a where it is undefined (one outcome only)."""
    return "n/a" if value is None else f"{value:.3f}"


def _selection_plot(selector, comparison: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = selector.scores_.head(30).iloc[::-1]
    fig, axes = plt.subplots(1, 5, figsize=(20, 8), sharey=True)
    colours = ["tab:red" if n in selector.factors_ else "tab:gray" for n in top.index]
    for ax, column, title in zip(
        axes,
        ["perm_loss_rise", "iv", "gbm_gain", "gbm_stability", "l1_frequency"],
        ["family shuffled: log-loss rise on the left-out round", "information value",
         "LightGBM gain (mean over folds)", "GBM top-2n stability", "L1 stability selection"],
        strict=True,
    ):  # fmt: skip
        ax.barh(top.index, top[column], color=colours)
        ax.set_title(title, fontsize=10)
    fig.suptitle(
        "The first 30 attributes in consensus order (red: the chosen factors); "
        + ", ".join(f"{k} AUC {_number(v['val_auc_lightgbm'])}" for k, v in comparison.items()),
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _track_selection(settings, result, comparison, report, scores, plot, profile_path) -> None:
    import mlflow

    from riskdraw.tracking import file_digest, flatten, git_commit, use_experiment

    with mlflow.start_run(experiment_id=use_experiment("select"), run_name="select") as parent:
        mlflow.log_params(flatten("select", settings.model_dump()))
        mlflow.set_tags({"data_version": file_digest(profile_path), "git_commit": git_commit()})
        for method, m in comparison.items():
            with mlflow.start_run(
                experiment_id=parent.info.experiment_id,
                run_name=method,
                nested=True,
                parent_run_id=parent.info.run_id,
            ):
                mlflow.log_param("method", method)
                mlflow.log_param("factors", ", ".join(m["factors"]))
                mlflow.log_metrics({k: v for k, v in m.items() if isinstance(v, int | float)})
        consensus = comparison["consensus"]
        mlflow.log_metrics(
            {
                "attributes": result["attributes"],
                "rows": result["rows"],
                **{k: v for k, v in consensus.items() if isinstance(v, int | float)},
            }
        )
        if "true_drivers_recovered" in result:
            mlflow.log_metric("true_drivers_recovered", result["true_drivers_recovered"])
        for i, name in enumerate(result["factors"], 1):
            mlflow.log_param(f"factor_{i:02d}", name)
        for path in (report, scores, plot):
            mlflow.log_artifact(str(path))


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
    reports: Annotated[Path, typer.Option(help="where the later stages' reports are")] = Path(
        "reports"
    ),
) -> None:
    """Print what the pipeline built: the city, governed data, one file per enterprise, the
    profile, the 12 factors, the model against its baselines and its evaluation on the
    held-out round (each section as far as the pipeline has run)."""
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
    if (reports / "resolve.json").exists():
        _resolve_summary(reports)
    if (reports / "profile.json").exists():
        _profile_summary(json.loads((reports / "profile.json").read_text(encoding="utf-8")))
    if (reports / "selection.json").exists():
        _selection_summary(json.loads((reports / "selection.json").read_text(encoding="utf-8")))
    if (reports / "tuning.json").exists():
        from riskdraw.cli_model import _comparison_table

        tuned = json.loads((reports / "tuning.json").read_text(encoding="utf-8"))
        console.rule("[bold]the model and its baselines (tune)")
        _comparison_table(
            f"mean over validation rounds {', '.join(tuned['validation_rounds'])}; capacity "
            f"{tuned['capacity']:.0%}",
            tuned["compared"],
        )
    if (reports / "metrics.json").exists():
        from riskdraw.cli_model import _evaluation_summary

        _evaluation_summary(json.loads((reports / "metrics.json").read_text(encoding="utf-8")))


def _resolve_summary(reports: Path) -> None:
    r = json.loads((reports / "resolve.json").read_text(encoding="utf-8"))
    console.rule("[bold]one enterprise, one file (resolve)")
    methods = ", ".join(
        f"{k} {v:,}" for k, v in sorted(r["by_method"].items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"entities [bold]{r['entities']:,}[/bold]; records linked {r['linked']:,} of "
        f"{r['records']:,} ({r['linked'] / max(r['records'], 1):.2%}); conflicts kept "
        f"{r['conflicts']:,}\nby method: {methods}"
    )
    if (reports / "resolution.json").exists():
        q = json.loads((reports / "resolution.json").read_text(encoding="utf-8"))
        console.print(
            f"against the simulated truth: precision [bold]{q['precision']:.4f}[/bold], "
            f"recall [bold]{q['recall']:.4f}[/bold]"
        )


def _profile_summary(p: dict) -> None:
    console.rule("[bold]the enterprise profile")
    console.print(
        f"{p['rows']:,} rows x [bold]{p['attributes']}[/bold] attributes in {p['families']} "
        f"families (list: reports/attributes.md), built in {p['seconds']:.0f} s"
    )
    table = Table("as of", "snapshot", "task", "enterprises", "inspected", "hit rate")
    for s in p["snapshots"]:
        table.add_row(
            s["as_of_date"],
            s["snapshot"],
            s["task"] or "",
            f"{s['rows']:,}",
            f"{s['inspected']:,}",
            f"{s['hit_rate']:.1%}" if s["hit_rate"] is not None else "",
        )
    console.print(table)


def _selection_summary(s: dict) -> None:
    console.rule("[bold]the 12 factors (select)")
    console.print(
        f"chosen from {s['attributes']} attributes on {s['rows']:,} inspections in rounds "
        f"{s['rounds'][0]} to {s['rounds'][-1]} (the last round held out)"
    )
    table = Table("factor", "IV", "risk", "shuffled", "rounds", caption=(
        "shuffled: log-loss rise on left-out rounds when the factor is shuffled in a model of "
        "the 12; rounds: share of those rounds where it rises"
    ))  # fmt: skip
    table.columns[0].no_wrap = True
    for d in s["details"]:
        table.add_row(
            d["name"],
            f"{d['iv']:.3f}",
            "raises" if d["direction"] == "raises risk" else "lowers",
            f"{d['loss_rise']:+.4f}",
            f"{d['rounds_adding']:.0%}",
        )
    console.print(table)
    methods = Table("method", "AUC (LightGBM)", "AUC (logistic)", "top-share hit rate", "random")
    for name, m in s["methods"].items():
        methods.add_row(
            name,
            *(
                f"{m[k]:.3f}" if m[k] is not None else ""
                for k in ("val_auc_lightgbm", "val_auc_logistic")
            ),
            f"{m['val_hit_rate_top']:.1%}",
            f"{m['val_hit_rate_random']:.1%}",
        )
    console.print(methods)
    if "true_drivers_recovered" in s:
        console.print(
            f"true drivers recovered (simulated city): [bold]{s['true_drivers_recovered']} of "
            f"{s['true_drivers']}[/bold]; missed: {', '.join(s['missed']) or 'none'}"
        )
    console.print("the comparison in MLflow: `make ui`, experiment riskdraw-select")


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


# The model's stages (tune, train, evaluate) live in their own module; importing it registers
# them on `app`.
from riskdraw import cli_cities, cli_model  # noqa: E402, F401


def main() -> None:  # pragma: no cover - the console script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
