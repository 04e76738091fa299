"""The round's commands: `screen`, `explain`, `commit`, `plan`, `verify`, `audit`.

`screen` scores the whole city with the champion; `plan` draws the next round from those
scores; `verify` re-runs a published draw; `audit verify` checks the chain of the audit log
that every screening and draw is appended to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    PARAMS,
    VERBOSE,
    _Typer,
    app,
    console,
    fail,
    load,
    save_figure,
    setup_logging,
)
from ._tables import plan_summary, plan_truth_summary, screen_summary

PANEL = "5. the round"
AUDIT = typer.Option(help="the audit log (append-only, entries chained by hash)")
AUDIT_LOG = Path("data/audit/log.jsonl")
SCORES = typer.Option(help="screen's output folder")


def _champion(params: Path):
    """(model name, the champion's version, the loaded model), or exit 2 without one."""
    from riskdraw.training.registry import CHAMPION, alias_version, load_version

    name = load("train", params).model_name
    version = alias_version(name, CHAMPION)
    if version is None:
        raise fail(
            f"the registry has no champion of {name}: run `riskdraw evaluate` (a version "
            "becomes champion when it passes every gate)"
        )
    try:
        return name, version, load_version(name, version)
    except LookupError as error:
        raise fail(f"the champion cannot be loaded: {error}") from None


def _audit_intact(path: Path) -> None:
    """Exit 3 before any work if the audit log's chain is broken (nothing would be appended)."""
    from riskdraw.inspection import audit as log

    found = log.verify(log.read(path))
    if not found.ok:
        raise fail(
            f"{path}: the audit log's chain is broken ({found.problems[0]}): nothing is screened "
            "or drawn until it is restored (`riskdraw audit verify` lists every break)",
            3,
        )


def _snapshot(profile: Path, consumer: str, factors, ids: list[str] | None = None):
    """The profile's screening snapshot (of `ids` only, if given): entity_id, as_of_date and
    the model's `factors` (those the profile holds; screening names any missing), the profile
    checked complete."""
    from riskdraw.features.profile import screening_rows

    frame = screening_rows(profile, consumer, factors, ids)
    if frame.empty and ids is None:
        raise fail(
            f"{consumer}: {profile} holds no screening snapshot: set profile.screening_date and "
            "run `riskdraw profile`",
            3,
        )
    return frame


@app.command(rich_help_panel=PANEL)
def screen(
    profile: Annotated[
        Path, typer.Option(help="the profile (its screening snapshot is scored)")
    ] = Path("data/features/profile.parquet"),
    entities: Annotated[
        Path, typer.Option(help="resolve's entities: names, codes, districts")
    ] = Path("data/entities/entities.parquet"),
    out: Annotated[Path, typer.Option(help="folder for the scores")] = Path("data/scores"),
    report: Annotated[Path, typer.Option(help="the screening summary")] = Path(
        "reports/screen.json"
    ),
    audit: Annotated[Path, AUDIT] = AUDIT_LOG,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Score every open enterprise at the screening date with the champion, with classes and
    reasons.

    Reads params.yaml `screen` (reasons per enterprise, the classes explained) and
    `train.model_name`. The champion (`models:/<name>@champion`, resolved to its version) scores
    the profile's screening snapshot through the one scoring function: probability, ranking
    score, class A-D by the model's own cut-offs, and the reasons (largest contributions, in
    plain words) of every enterprise in the explained classes. Writes OUT/scores.parquet and
    OUT/scores.csv (for spreadsheets), riskiest first and stamped with the model version and
    the profile's data version, with a completion manifest; REPORT (class counts and expected
    problems per class); an audit log entry; an MLflow run (experiment riskdraw-screen) tagged
    with the model version. `riskdraw explain ENTITY_ID` explains any other enterprise.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    from riskdraw.inspection import audit as log
    from riskdraw.inspection.screening import ENTITY_COLUMNS, summary, write_scores
    from riskdraw.inspection.screening import screen as run_screen
    from riskdraw.inspection.tracking import log_screen
    from riskdraw.io import write_json
    from riskdraw.outputs import signature, staged_folder, write_completion
    from riskdraw.tracking import file_digest

    setup_logging(verbose)
    settings = load("screen", params)
    _audit_intact(audit)
    name, version, model = _champion(params)
    snapshot = _snapshot(profile, "screen", model.factors)
    if not entities.is_file():
        raise fail(f"screen: {entities} not found: run `riskdraw resolve` first")
    held = set(pq.ParquetDataset(entities).schema.names)
    registry = pd.read_parquet(entities, columns=[c for c in ("entity_id", *ENTITY_COLUMNS)
                                                  if c in held])  # fmt: skip
    data_version = file_digest(profile)
    with console.status(f"scoring {len(snapshot):,} enterprises with {name} version {version}"):
        scores = run_screen(model, snapshot, registry, settings.reasons,
                            tuple(settings.explained_classes))  # fmt: skip
    scores = scores.assign(model_version=version, data_version=data_version)
    result = summary(scores) | {
        "model_name": name,
        "model_version": version,
        "data_version": data_version,
        "screening_date": str(pd.Timestamp(scores["as_of_date"].iloc[0]).date()),
        "cutoffs": dict(model.cutoffs),
    }
    with staged_folder(out, {"profile": profile, "entities": entities}) as work:
        write_scores(scores, work)
        write_completion(
            work, "screen", {"profile": profile, "entities": entities},
            {"model_name": name, "model_version": version, "data_version": data_version,
             "cutoffs": dict(model.cutoffs), **settings.model_dump(mode="json")},
            {"enterprises": len(scores), "by_class": {c: v["enterprises"]
                                                     for c, v in result["by_class"].items()}},
        )  # fmt: skip
    result["scores_digest"] = signature(out / "scores.parquet")
    entry = log.append(audit, "screen", model_name=name, model_version=version,
                       data_version=data_version, outputs={"scores": result["scores_digest"]},
                       enterprises=len(scores))  # fmt: skip
    result["audit_head"] = entry["hash"]
    write_json(report, result)
    log_screen(result, report)
    screen_summary(result)


@app.command(rich_help_panel=PANEL)
def explain(
    entity_id: Annotated[str, typer.Argument(help="the enterprise (its entity_id)")],
    scores: Annotated[Path, SCORES] = Path("data/scores"),
    profile: Annotated[Path, typer.Option(help="the profile screened")] = Path(
        "data/features/profile.parquet"
    ),
) -> None:
    """Explain one enterprise's score: every factor, its value and how much it raises or lowers
    the risk, with the model version that scored it (the one its scores are stamped with)."""
    import pyarrow.parquet as pq
    from rich.table import Table

    from riskdraw.inspection.screening import explanation
    from riskdraw.outputs import require_complete
    from riskdraw.training.registry import load_version

    made = require_complete(scores, "screen", "explain")
    name, version = made["params"]["model_name"], made["params"]["model_version"]
    found = pq.read_table(scores / "scores.parquet", filters=[("entity_id", "=", entity_id)])
    if found.num_rows == 0:
        raise fail(f"explain: {entity_id} is not among the {made['counts']['enterprises']:,} "
                   f"enterprises screened in {scores} (not open at the screening date, or "
                   "not an entity id)", 3)  # fmt: skip
    row = found.to_pylist()[0]
    model = load_version(name, version)
    detail = explanation(model, _snapshot(profile, "explain", model.factors, [entity_id]))
    console.print(
        f"[bold]{entity_id}[/bold] {row.get('name') or ''}: probability "
        f"[bold]{row['probability']:.1%}[/bold], class [bold]{row['risk_class']}[/bold] "
        f"({name} version {version}, as of {row['as_of_date']:%Y-%m-%d})"
    )
    table = Table("factor", "value", "raises (+) or lowers (-) the log-odds",
                  caption="contributions are TreeSHAP values of the model's log-odds")  # fmt: skip
    for r in detail.itertuples():
        value = "none on record" if r.value != r.value else f"{r.value:,.4g}"
        table.add_row(r.description, value, f"{r.contribution:+.3f}")
    console.print(table)


@app.command(rich_help_panel=PANEL)
def commit(
    secret: Annotated[Path, typer.Option(help="the draw's secret (kept, never published)")] = Path(
        "data/secrets/draw.key"
    ),
    audit: Annotated[Path, AUDIT] = AUDIT_LOG,
) -> None:
    """Make the next draw's secret and print its commitment, to publish before the public value
    is fixed.

    The secret (64 hex characters from the operating system's random source) is written to
    SECRET, readable by its owner only; an existing one is kept and its commitment printed
    again. After publishing the commitment, fix the public value (params.yaml
    `plan.public_value`: a lottery number or beacon output announced later) and run
    `riskdraw plan`. Publishing the secret after the draw lets anyone run `riskdraw verify`.
    """
    from riskdraw.inspection import audit as log
    from riskdraw.inspection.draw import commitment

    made, value = _secret(secret)
    if made:
        log.append(audit, "commit", commitment=commitment(value))
    console.print(
        f"{'new secret in' if made else 'the secret in'} {secret}; commitment to publish "
        f"before the public value is fixed:\n[bold]{commitment(value)}[/bold]"
    )


def _secret(path: Path) -> tuple[bool, str]:
    """(whether it was made now, the secret) of the secret file, made if missing."""
    import os
    import re

    from riskdraw.inspection.draw import new_secret

    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise fail(f"{path}: not a draw secret (64 lower-case hex characters)", 3)
        return False, value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = new_secret()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return True, value


@app.command(rich_help_panel=PANEL)
def plan(
    scores: Annotated[Path, SCORES] = Path("data/scores"),
    events: Annotated[Path, typer.Option(help="resolve's events (complaints, inspections)")] = Path(
        "data/entities/events"
    ),
    profile: Annotated[
        Path, typer.Option(help="the profile screened (the drawn's reasons)")
    ] = Path("data/features/profile.parquet"),
    secret: Annotated[Path, typer.Option(help="the draw's secret (`riskdraw commit`)")] = Path(
        "data/secrets/draw.key"
    ),
    pool: Annotated[Path, typer.Option(help="the inspector pool (CSV)")] = Path(
        "data/raw/inspectors/pool.csv"
    ),
    domains: Annotated[Path, typer.Option(help="the supervision domains catalogue")] = Path(
        "catalogue/domains.yaml"
    ),
    checklists: Annotated[Path, typer.Option(help="each domain's inspection items")] = Path(
        "catalogue/checklists.yaml"
    ),
    out: Annotated[Path, typer.Option(help="folder for the plan")] = Path("data/plans"),
    report: Annotated[Path, typer.Option(help="the plan's report")] = Path("reports/plan.json"),
    plot: Annotated[Path, typer.Option(help="the frontier plot")] = Path(
        "reports/plan-frontier.png"
    ),
    audit: Annotated[Path, AUDIT] = AUDIT_LOG,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Draw the next round from the screening: visits outside the draw, inclusion probabilities,
    the draw, the frontier.

    Reads params.yaml `plan`: the capacity, the policy (`ratios`, a preset by name or ratios
    per class, scaled down as a whole to fit the capacity; or `optimal`, the most expected
    problems within the capacity with a floor for every open enterprise and a cap below 1),
    the kinds whose recent records bring a visit outside the draw, the cool-off for the
    recently inspected, the floors of the frontier and the public value. The scores must be the
    champion's (`riskdraw screen` again otherwise). The seed is SHA-256 of the secret (made,
    with its commitment, if SECRET is missing: in a real round run `riskdraw commit` and
    publish the commitment before the public value is fixed) and the public value. Writes
    OUT/inclusion.csv (every open enterprise: class, probability, status, inclusion
    probability: what `riskdraw verify` re-creates byte for byte), OUT/assignments.csv (each
    visit's inspectors, drawn from POOL: together qualified for the domains the visit checks
    by DOMAINS, from its district where the pool allows, never its last inspectors, none with
    a declared conflict, none past their workload), OUT/workload.csv, OUT/visits.csv and
    .parquet (the visits with their reasons and inspectors), OUT/plan.json, REPORT and
    PLOT; an audit log
    entry; an MLflow run (experiment riskdraw-plan). `riskdraw evaluate-plan` judges it against
    a simulated city's truth.
    """
    import pyarrow.parquet as pq

    from riskdraw.inspection import audit as log
    from riskdraw.inspection.checklists import checklist_report, checklists_table, load_checklists
    from riskdraw.inspection.draw import commitment, derive_seed
    from riskdraw.inspection.inspectors import load_domains, read_pool, staffing_report
    from riskdraw.inspection.planning import PLAN_COLUMNS, recent, screening_date
    from riskdraw.inspection.publication import draw_record, with_inspectors, write_plan
    from riskdraw.inspection.tracking import frontier_figure, log_plan
    from riskdraw.io import write_json
    from riskdraw.outputs import require_complete, signature
    from riskdraw.training.registry import CHAMPION, alias_version

    setup_logging(verbose)
    settings = load("plan", params)
    _audit_intact(audit)
    made = require_complete(scores, "screen", "plan")
    name, version = made["params"]["model_name"], made["params"]["model_version"]
    champion = alias_version(name, CHAMPION)
    if champion != version:
        raise fail(
            f"plan: {scores} was scored by {name} version {version}, but the champion is "
            f"version {champion}: run `riskdraw screen` again",
            3,
        )
    scored = pq.read_table(scores / "scores.parquet")
    frame = scored.select(list(PLAN_COLUMNS)).to_pandas()  # the rest for the visits only
    day = screening_date(frame)
    fresh, value = _secret(secret)
    if fresh:
        log.append(audit, "commit", commitment=commitment(value))
        console.print(
            f"[yellow]no secret in {secret}: made one now, with commitment {commitment(value)}. "
            "In a real round run `riskdraw commit` and publish the commitment before the "
            "public value is fixed.[/yellow]"
        )
    outside = {
        kind: recent(events, kind, day, days, "known_on")
        for kind, days in settings.outside_draw.items()
    }
    cooled = recent(events, "inspection", day, settings.cool_off_days, "occurred_on")
    catalogue = load_domains(domains)
    accepted, refused = read_pool(pool, catalogue)
    record = draw_record(settings, frame, signature(scores / "scores.parquet"), commitment(value),
                         signature(pool))  # fmt: skip
    seed = derive_seed(value, settings.public_value)
    drawn = _with_scored_columns(_draw(frame, settings, seed, outside, cooled), scored)
    staffing = _staff(drawn, accepted, catalogue, events, day, settings, seed)
    reasons = made["params"]["reasons"]
    drawn = with_inspectors(_with_reasons(drawn, profile, name, version, reasons), staffing)
    lists = load_checklists(checklists, catalogue)
    result = {
        "model_name": name,
        "model_version": version,
        "data_version": made["params"]["data_version"],
        "screening_date": str(day.date()),
        "task": settings.task,
        "cutoffs": made["params"]["cutoffs"],
        **drawn.report,
        "inspectors": staffing_report(staffing, accepted, refused),
        "checklists": checklist_report(drawn.visits, lists),
        "draw": record,
    }
    inputs = {"scores": scores, "events": events, "pool": pool, "checklists": checklists}
    write_plan(drawn, staffing, result, out, inputs, refused,
               checklists_table(drawn.visits, lists))  # fmt: skip
    entry = log.append(audit, "plan", model_name=name, model_version=version,
                       data_version=result["data_version"], inputs={"scores": record["scores"]},
                       commitment=record["commitment"], public_value=settings.public_value,
                       outputs={"inclusion": signature(out / "inclusion.csv")},
                       visits=result["visits"])  # fmt: skip
    result["audit_head"] = entry["hash"]
    write_json(report, result)
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    save_figure(frontier_figure(drawn.frontier, result), plot)
    log_plan(result, report, plot)
    plan_summary(result)


def _draw(frame, settings, seed, outside, cooled):
    from riskdraw.inspection.planning import make_plan

    with console.status(f"drawing the plan among {len(frame):,} open enterprises"):
        return make_plan(frame, settings, seed, outside, cooled)


def _with_scored_columns(drawn, scored):
    """The plan's visits with the rest of their scores (the registry's columns, the reasons,
    the versions), read for the visits only: converting every enterprise's would cost more
    than the draw."""
    from dataclasses import replace

    import pyarrow as pa
    import pyarrow.compute as pc

    visits = drawn.visits
    wanted = pc.is_in(scored["entity_id"], value_set=pa.array(visits["entity_id"].tolist()))
    rest = ["entity_id", *[c for c in scored.column_names if c not in visits.columns]]
    visits = visits.merge(scored.filter(wanted).select(rest).to_pandas(), on="entity_id",
                          how="left", validate="one_to_one")  # fmt: skip
    order = [*[c for c in scored.column_names if c in visits.columns],
             *[c for c in visits.columns if c not in scored.column_names]]  # fmt: skip
    return replace(drawn, visits=visits[order])


def _staff(drawn, pool, catalogue, events: Path, day, settings, seed: str):
    """The inspectors of every visit, drawn from the pool."""
    import pandas as pd

    from riskdraw.inspection.inspectors import assign, previous_inspectors, visit_domains

    visits = drawn.visits
    ids = visits["entity_id"].tolist()

    def events_of(kind: str, columns: list[str]):
        """The visits' events of `kind` (None if the kind was not delivered)."""
        path = events / f"{kind}.parquet"
        if not path.exists():
            return None
        return pd.read_parquet(path, columns=columns, filters=[("entity_id", "in", ids)])

    licences = events_of("licence", ["entity_id", "licence_name", "issued_on", "valid_until",
                                     "known_on"])  # fmt: skip
    needs = visit_domains(visits, licences, day, catalogue)
    previous = previous_inspectors(
        events_of("inspection", ["entity_id", "occurred_on", "source_id", "row", "inspectors"])
    )
    with console.status(f"drawing {settings.inspectors_per_visit} inspectors for each of "
                        f"{len(visits):,} visits"):  # fmt: skip
        return assign(visits, pool, needs, previous, seed, settings.inspectors_per_visit,
                      settings.max_visits_per_inspector)  # fmt: skip


def _with_reasons(drawn, profile: Path, name: str, version: str, reasons: int):
    """The plan with the reasons of every visit that screening did not explain."""
    from riskdraw.inspection.screening import add_reasons
    from riskdraw.training.registry import load_version

    missing = drawn.visits.loc[drawn.visits["reasons"].map(len) == 0, "entity_id"].tolist()
    if not missing:
        return drawn
    model = load_version(name, version)
    return add_reasons(drawn, model, _snapshot(profile, "plan", model.factors, missing), reasons)


@app.command("evaluate-plan", rich_help_panel=PANEL)
def evaluate_plan(
    plan_folder: Annotated[Path, typer.Option("--plan", help="plan's output folder")] = Path(
        "data/plans"
    ),
    entities: Annotated[Path, typer.Option(help="resolve's entities (to match the truth)")] = Path(
        "data/entities/entities.parquet"
    ),
    truth: Annotated[Path, typer.Option(help="the simulated city's truth")] = Path("data/truth"),
    report: Annotated[Path, typer.Option(help="the plan judged against the truth")] = Path(
        "reports/plan-truth.json"
    ),
) -> None:
    """Simulated city only: the plan judged against the truth at the screening date.

    The plan's expected hit rate and compliant-inspection reduction from the true
    probabilities; the plan oracle ratio of each policy (its expected hit rate on the model's
    scores over that of the same policy, capacity, visits outside the draw and cool-off
    applied to the best probabilities knowable from the records); the model's picks at
    capacity against the best knowable picks. Writes REPORT; logs it to MLflow (experiment
    riskdraw-plan) against the plan's model version.
    """
    import pandas as pd

    from riskdraw.config import PlanParams
    from riskdraw.inspection.evaluation import plan_against_truth
    from riskdraw.inspection.tracking import log_plan_truth
    from riskdraw.io import read_json, write_json
    from riskdraw.outputs import require_complete
    from riskdraw.training.evaluation import simulated_truth, truth_round

    require_complete(plan_folder, "plan", "evaluate-plan")
    made = read_json(plan_folder / "plan.json")
    inclusion = pd.read_csv(plan_folder / "inclusion.csv", dtype={"entity_id": str})
    settings = PlanParams.model_validate(made["draw"]["params"])
    result = plan_against_truth(
        inclusion,
        simulated_truth(truth, entities, truth_round(truth, made["screening_date"])),
        settings,
        made["cutoffs"],
    )
    result |= {k: made[k] for k in ("model_name", "model_version", "data_version",
                                    "screening_date", "policy", "capacity")}  # fmt: skip
    write_json(report, result)
    log_plan_truth(result, report)
    plan_truth_summary(result)


@app.command(rich_help_panel=PANEL)
def verify(
    plan_folder: Annotated[Path, typer.Option("--plan", help="the published plan folder")] = Path(
        "data/plans"
    ),
    scores: Annotated[Path, typer.Option(help="the scores file the plan was drawn from")] = Path(
        "data/scores/scores.parquet"
    ),
    secret: Annotated[
        str | None, typer.Option(help="the revealed secret (64 hex characters)")
    ] = None,
    secret_file: Annotated[Path | None, typer.Option(help="...or a file holding it")] = None,
    public_value: Annotated[
        str | None, typer.Option(help="the public value (default: the one the plan records)")
    ] = None,
    pool: Annotated[
        Path | None, typer.Option(help="the inspector pool: re-run the inspectors' draw too")
    ] = None,
    domains: Annotated[Path, typer.Option(help="the supervision domains catalogue")] = Path(
        "catalogue/domains.yaml"
    ),
    audit: Annotated[Path, AUDIT] = AUDIT_LOG,
) -> None:
    """Re-run a published draw from its inputs and confirm the identical plan, or name what
    differs.

    Needs the plan folder (its plan.json records the policy's params, the scores file's hash,
    the commitment and the public value; inclusion.csv every enterprise's status and
    probability), the scores file, and the revealed secret. Checks that the secret is the one
    committed to, that the scores file is the one drawn from, then re-computes every inclusion
    probability and the draw and compares inclusion.csv byte for byte; with --pool (the pool
    the plan records the hash of) the inspectors' draw too (assignments.csv). Exit 0 if
    identical, 3 naming each difference.
    """
    from riskdraw.inspection import audit as log
    from riskdraw.inspection.publication import verify_plan

    if (secret is None) == (secret_file is None):
        raise fail("verify: give the revealed secret with --secret or --secret-file (one)")
    value = secret if secret is not None else secret_file.read_text(encoding="utf-8").strip()
    problems = verify_plan(plan_folder, scores, value.strip(), public_value, pool, domains)
    log.append(audit, "verify", plan=str(plan_folder), identical=not problems,
               problems=problems[:10])  # fmt: skip
    if problems:
        raise fail("the draw does NOT verify:\n- " + "\n- ".join(problems), 3)
    console.print(f"[green]verified[/green]: {plan_folder} is the draw its published inputs give, "
                  "byte for byte")  # fmt: skip


audit_app = _Typer(help="the audit log of screenings and draws", no_args_is_help=True)
app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)


@audit_app.command("verify")
def audit_verify(
    log_path: Annotated[Path, typer.Option("--log", help="the audit log")] = AUDIT_LOG,
    head: Annotated[
        str | None, typer.Option(help="a head hash kept elsewhere (a plan report's audit_head)")
    ] = None,
) -> None:
    """Check the audit log's chain: every entry's hash, every link, the sequence; exit 3 naming
    each edited, deleted or reordered entry."""
    from riskdraw.errors import UserError
    from riskdraw.inspection import audit as log

    try:
        found = log.verify(log.read(log_path), head)
    except UserError as error:
        raise fail(str(error), error.exit_code) from None
    if not found.ok:
        raise fail(f"{log_path}: the chain is broken:\n- " + "\n- ".join(found.problems), 3)
    console.print(f"[green]intact[/green]: {found.entries} entries, head {found.head[:16]}…")
