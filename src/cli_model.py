"""The model's stages of the `riskdraw` command: tune, train, evaluate.

All three log into one MLflow experiment, `riskdraw-model`, so its compare view shows the tuned
model beside the baselines on the same measures, and the registry holds the versions with
their gates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskdraw.cli import PARAMS, _load, _logging, app, console

PROFILE = typer.Option(help="the profile (profile's output)")
SELECTION = typer.Option(help="select's report: the factors")


def _rounds_frame(profile: Path):
    import pyarrow.parquet as pq

    return pq.read_table(profile, filters=[("snapshot", "=", "round")]).to_pandas()


def _attributes(profile: Path, frame) -> list[str]:
    from riskdraw.cli import profile_families

    return list(profile_families(profile, frame.columns))


@app.command()
def tune(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    selection: Annotated[Path, SELECTION] = Path("reports/selection.json"),
    report: Annotated[Path, typer.Option(help="the tuning report")] = Path("reports/tuning.json"),
    storage: Annotated[Path, typer.Option(help="the Optuna study's SQLite file")] = Path(
        "data/models/optuna.db"
    ),
    trials: Annotated[int | None, typer.Option(help="override tune.trials")] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Tune LightGBM on the factors with Optuna, and run the baselines on the same folds.

    Reads params.yaml `tune`. Validation is by time: each of the latest `validation_rounds`
    training rounds is judged by a model fitted on the rounds before it; the held-out rounds
    are never read. The objective is the hit rate at `capacity` (the share of a round the
    inspectors visit), estimated from the round's draw; AUC, PR-AUC and Brier are logged too.
    Every trial is a nested MLflow run under one parent in experiment riskdraw-model; the study
    is stored in STORAGE under a name that carries the profile's data version, so a rerun on
    the same data resumes it up to `trials`. The baselines (random draw,
    rule scorecard, logistic regression, LightGBM on all attributes and on the factors) are runs
    of the same experiment. Writes REPORT (best parameters, best value, every baseline).
    """
    import mlflow
    import optuna

    from riskdraw.io import read_json, write_json
    from riskdraw.tracking import file_digest, git_commit, use_experiment
    from riskdraw.training.baselines import baselines
    from riskdraw.training.rounds import RoundSplit
    from riskdraw.training.tuning import OBJECTIVE, folds, tune, validate

    _logging(verbose)
    settings = _load("tune", params, trials=trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    factors = read_json(selection)["factors"]
    frame = _rounds_frame(profile)
    split = RoundSplit.of(frame, settings.holdout_rounds)
    folds_ = folds(frame, split, settings.validation_rounds)
    storage.parent.mkdir(parents=True, exist_ok=True)
    experiment = use_experiment("model")
    tags = {"data_version": file_digest(profile), "git_commit": git_commit()}
    with mlflow.start_run(experiment_id=experiment, run_name="tune") as parent:
        mlflow.set_tags(tags | {"role": "tuning"})
        mlflow.log_params(
            {
                "factors": ", ".join(factors),
                "validation_rounds": ", ".join(str(f.round.date()) for f in folds_),
                "capacity": settings.capacity,
                "trials": settings.trials,
                "seed": settings.seed,
                "objective": OBJECTIVE,
            }
        )

        def on_trial(trial, values, metrics) -> None:
            with mlflow.start_run(
                experiment_id=experiment,
                run_name=f"trial {trial.number}",
                nested=True,
                parent_run_id=parent.info.run_id,
            ):
                mlflow.set_tags(tags | {"role": "trial"})
                mlflow.log_params(values)
                mlflow.log_metrics(metrics)

        with console.status(f"tuning: {settings.trials} trials over {len(folds_)} rounds"):
            study = tune(
                folds_,
                factors,
                settings.capacity,
                settings.space,
                settings.trials,
                settings.seed,
                f"sqlite:///{storage.resolve()}",
                _study_name(settings, tags["data_version"], factors, folds_),
                on_trial,
                fixed=dict(settings.fixed),
            )
        best = study.best_trial
        mlflow.log_params({f"best.{k}": v for k, v in best.params.items()})
        mlflow.log_metrics(dict(best.user_attrs))
    states = [t.state.name.lower() for t in study.trials]
    compared = {"LightGBM tuned (best trial)": best.user_attrs}
    scorecard = {k: r.model_dump(exclude_none=True) for k, r in settings.scorecard.items()}
    for b in baselines(factors, _attributes(profile, frame), scorecard, settings.seed):
        with console.status(f"baseline: {b.name}"):
            metrics = validate(b.make, folds_, b.columns, settings.capacity)
        with mlflow.start_run(experiment_id=experiment, run_name=b.name):
            mlflow.set_tags(tags | {"role": "baseline", "tuning_run": parent.info.run_id})
            mlflow.log_param("columns", len(b.columns))
            mlflow.log_metrics(metrics)
        compared[b.name] = metrics
    result = {
        "run_id": parent.info.run_id,
        "factors": factors,
        "capacity": settings.capacity,
        "validation_rounds": [str(f.round.date()) for f in folds_],
        "best_params": best.params | dict(settings.fixed),
        "best_value": best.value,
        "trials": {s: states.count(s) for s in sorted(set(states))},
        "compared": compared,
    }
    write_json(report, result)
    _comparison_table("tuned model and baselines, mean over the validation rounds", compared)


def _study_name(settings, data_version: str, factors: list[str], folds_) -> str:
    from riskdraw.training.tuning import study_name

    return study_name(
        settings.study, data_version, factors, settings.space, dict(settings.fixed),
        settings.capacity, settings.seed, [str(f.round.date()) for f in folds_],
    )  # fmt: skip


def _comparison_table(title: str, compared: dict) -> None:
    table = Table(
        "model", "hit rate at capacity", "AUC", "PR-AUC", "Brier", "log-loss", title=title
    )
    for name, m in compared.items():
        table.add_row(
            name,
            f"{m['val_hit_rate_at_capacity']:.1%}",
            *(
                f"{m.get(k, float('nan')):.3f}"
                for k in ("val_auc", "val_pr_auc", "val_brier", "val_log_loss")
            ),
        )
    console.print(table)


@app.command()
def train(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    tuning: Annotated[Path, typer.Option(help="tune's report: factors, best parameters")] = Path(
        "reports/tuning.json"
    ),
    report: Annotated[Path, typer.Option(help="the training report")] = Path("reports/train.json"),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Fit the final model, calibrate it out of time, register it as `challenger`.

    Reads params.yaml `train` (and `tune.holdout_rounds`). LightGBM with tune's best parameters
    is fitted on every training round (inspections weighted by inverse inclusion
    probabilities); its probabilities are calibrated (isotonic) on the scores that each of the
    latest `calibration_rounds` rounds gets from the same learner fitted on the rounds before
    it; the held-out rounds are never read. The model is logged to MLflow (experiment
    riskdraw-model) as a pyfunc that returns probabilities, with signature, input example and
    model card, registered as a new version of `train.model_name` with alias `challenger`.
    Writes REPORT.
    """
    import mlflow

    from riskdraw.io import read_json, write_json
    from riskdraw.tracking import file_digest, git_commit, use_experiment
    from riskdraw.training.card import model_card
    from riskdraw.training.metrics import calibration_error
    from riskdraw.training.models import RiskModel, lightgbm_model
    from riskdraw.training.registry import log_model
    from riskdraw.training.rounds import RoundSplit, inspected
    from riskdraw.training.tuning import weights

    _logging(verbose)
    settings = _load("train", params)
    holdout = _load("tune", params).holdout_rounds
    tuned = read_json(tuning)
    factors = tuned["factors"]
    frame = _rounds_frame(profile)
    split = RoundSplit.of(frame, holdout)
    fit = inspected(frame, split.training)
    model = RiskModel(
        lightgbm_model(tuned["best_params"], settings.seed), factors, settings.calibration_rounds
    ).fit(
        fit,
        fit["problem"].to_numpy(dtype=int),
        sample_weight=weights(fit),
        rounds=fit["as_of_date"].to_numpy(),
    )
    calibrated_on = set(model.calibrated_on_)
    data = {
        "data_version": file_digest(profile),
        "fit_rounds": [str(d.date()) for d in split.training],
        "calibration_rounds": [str(d.date()) for d in model.calibrated_on_],
        "held_out_rounds": [str(d.date()) for d in split.holdout],
        "fit_rows": len(fit),
        "calibration_rows": int(fit["as_of_date"].isin(calibrated_on).sum()),
    }
    card = model_card(settings.model_name, factors, tuned, data)
    with mlflow.start_run(experiment_id=use_experiment("model"), run_name="train") as run:
        mlflow.set_tags(
            {"role": "final", "data_version": data["data_version"], "git_commit": git_commit()}
        )
        mlflow.log_params({f"lgbm.{k}": v for k, v in tuned["best_params"].items()})
        mlflow.log_params(
            {
                "factors": ", ".join(factors),
                **{k: v for k, v in data.items() if k != "data_version"},
            }
        )
        mlflow.log_metric(  # in sample: the map was fitted on these out-of-time scores
            "calibration_error_in_sample", calibration_error(*model.out_of_time_)
        )
        version = log_model(model, fit, settings.model_name, card)
    result = {"model_name": settings.model_name, "version": version, "run_id": run.info.run_id}
    write_json(report, result | data | {"factors": factors})
    console.print(
        f"registered [bold]{settings.model_name}[/bold] version {version} as challenger "
        f"(fitted on {len(fit):,} inspections in {len(split.training)} rounds, calibrated on "
        f"the out-of-time scores of {data['calibration_rows']:,} in "
        f"{', '.join(data['calibration_rounds'])})"
    )


@app.command()
def evaluate(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    metrics: Annotated[Path, typer.Option(help="the metrics file")] = Path("reports/metrics.json"),
    plots: Annotated[Path, typer.Option(help="folder for plot data and images")] = Path(
        "reports/evaluation"
    ),
    entities: Annotated[
        Path, typer.Option(help="resolve's entities (to match the simulated truth)")
    ] = Path("data/entities/entities.parquet"),
    truth: Annotated[
        Path | None, typer.Option(help="simulated city only: the truth, for the oracle ratios")
    ] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Judge the challenger on the held-out round; promote it to champion if it passes the gates.

    Reads params.yaml `evaluate` (risk-class cut-offs, plan ratios, gates) and `train`/`tune`
    (model name, held-out rounds). On the first held-out round: hit rate of the random draw and
    of the model's picks at capacity, of each class and of a plan drawing the classes at their
    ratios, the compliant-inspection reduction, AUC, PR-AUC, Brier, calibration, and hit and
    selection rates per district, industry and entity type; with --truth the oracle ratios.
    Gates: beats the random draw and the current champion, calibration error under the bound,
    no slice whose classes C and D find less than the floor. Each gate is a tag of the model
    version; `champion` moves only if all pass. Writes METRICS and PLOTS/ (calibration, gains,
    slices), logs to MLflow.
    """
    import mlflow

    from riskdraw.io import write_json
    from riskdraw.tracking import file_digest, git_commit, use_experiment
    from riskdraw.training.evaluation import (
        evaluate_round,
        oracle_ratios,
        promotion_gates,
        simulated_truth,
    )
    from riskdraw.training.registry import CHALLENGER, CHAMPION, load, record_gates
    from riskdraw.training.rounds import RoundSplit, population

    _logging(verbose)
    settings = _load("evaluate", params)
    name = _load("train", params).model_name
    holdout = _load("tune", params).holdout_rounds
    use_experiment("model")
    challenger, version = load(name, CHALLENGER)
    if challenger is None:
        console.print(f"[red]no {name}@{CHALLENGER}[/red]: run `riskdraw train` first")
        raise typer.Exit(2)
    champion, champion_version = load(name, CHAMPION)
    frame = _rounds_frame(profile)
    split = RoundSplit.of(frame, holdout)
    held = split.holdout[0]
    pop = population(frame, held)
    args = (
        settings.cutoffs,
        settings.plan_ratios,
        settings.capacity,
        settings.gates.slice_min_inspections,
    )
    result = evaluate_round(challenger, pop, *args)
    capacity = result["capacity"]
    out = {k: v for k, v in result.items() if k not in ("slices", "tables", "scored")}
    out |= {"model_name": name, "model_version": version, "round": str(held.date())}
    if truth is not None:
        rounds = sorted(frame["as_of_date"].unique())
        number = rounds.index(held) + 1
        out |= oracle_ratios(
            result["scored"],
            simulated_truth(truth, entities, number),
            capacity,
            settings.cutoffs,
            settings.plan_ratios,
        )
    champion_rate = None
    if champion is not None and champion_version != version:
        champion_rate = evaluate_round(champion, pop, *args)["hit_rate_model"]
    slices = result["slices"]
    gates = promotion_gates(out, slices, champion_rate, champion_version, settings.gates)
    promoted = record_gates(name, version, gates)
    out |= {"gates": {g: r["passed"] for g, r in gates.items()}, "promoted": promoted}
    write_json(metrics, out)
    plots.mkdir(parents=True, exist_ok=True)
    result["tables"]["calibration"].to_csv(plots / "calibration.csv", index=False)
    result["tables"]["gains"].to_csv(plots / "gains.csv", index=False)
    slices.to_csv(plots / "slices.csv", index=False)
    _evaluation_plots(result, plots)
    with mlflow.start_run(experiment_id=use_experiment("model"), run_name="evaluate"):
        mlflow.set_tags(
            {
                "role": "evaluation",
                "model_name": name,
                "model_version": version,
                "round": str(held.date()),
                "data_version": file_digest(profile),
                "git_commit": git_commit(),
            }
        )
        flat = {
            k: v for k, v in out.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        flat |= {
            f"hit_rate_class_{c}": v for c, v in out["hit_rate_by_class"].items() if v is not None
        }
        mlflow.log_metrics(flat | {"promoted": int(promoted)})
        mlflow.log_artifact(str(metrics))
        mlflow.log_artifacts(str(plots), "evaluation")
    _evaluation_summary(out)


def _evaluation_plots(result: dict, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cal, gains = result["tables"]["calibration"], result["tables"]["gains"]
    for name, x, y, diagonal, xlabel, ylabel, title, size in (
        ("calibration", cal["predicted"], cal["observed"], "perfect", "predicted probability",
         "share found with a problem", "Calibration on the held-out round", (5, 5)),
        ("gains", gains["share_visited"], gains["share_of_problems_found"], "random draw",
         "share of enterprises visited (highest risk first)", "share of the problems found",
         "Gains on the held-out round", (6, 5)),
    ):  # fmt: skip
        fig, ax = plt.subplots(figsize=size)
        ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label=diagonal)
        ax.plot(x, y, marker="o", label="model")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=90)
        plt.close(fig)


def _evaluation_summary(m: dict) -> None:
    from riskdraw.domain.risk import RISK_CLASSES

    console.rule(f"[bold]the model on the held-out round {m['round']} (evaluate)")
    truth = "expected_hit_rate_oracle" in m  # simulated city: the truth's expected rates too
    table = Table("", "hit rate", "inspections", "enterprises", caption=(
        "hit rate: found by the round's draw among those enterprises"
        + ("; expected: mean true probability (simulated truth)" if truth else "")
    ))  # fmt: skip
    if truth:
        table.add_column("expected")

    def pct(value) -> str:
        return "" if value is None else f"{value:.1%}"

    def row(name, rate, n, size, expected=None) -> None:
        table.add_row(name, pct(rate), n, size, *([pct(expected)] if truth else []))

    row(
        "random draw",
        m["hit_rate_random"],
        f"{m['inspections']:,}",
        f"{m['enterprises']:,}",
        m.get("expected_hit_rate_random"),
    )
    row(
        f"model, top {m['capacity']:.1%}",
        m["hit_rate_model"],
        f"{m['model_picks_inspected']:,}",
        "",
        m.get("expected_hit_rate_model"),
    )
    if truth:
        row("oracle, same number", None, "", "", m["expected_hit_rate_oracle"])
    for c in RISK_CLASSES:
        row(
            f"class {c}",
            m["hit_rate_by_class"][c],
            f"{m['inspections_by_class'][c]:,}",
            f"{m['class_sizes'][c]:,}",
            m.get("expected_hit_rate_by_class", {}).get(c),
        )
    ratios = ", ".join(f"{c} {r:.0%}" for c, r in m["plan_ratios"].items())
    row(f"plan ({ratios})", m["hit_rate_plan"], "", "", m.get("expected_hit_rate_plan"))
    if truth:
        row("plan on the oracle's classes", None, "", "", m["expected_hit_rate_plan_oracle"])
    console.print(table)
    auc = "n/a (one outcome only)" if m["auc"] is None else f"{m['auc']:.3f}"
    line = f"compliant-inspection reduction {m['compliant_reduction']:.1%}"
    if "oracle_ratio" in m:
        line += (
            f" (expected {m['expected_compliant_reduction']:.1%}, with the oracle's classes "
            f"{m['expected_compliant_reduction_oracle']:.1%})"
        )
    line += f"; AUC {auc}; calibration error {m['calibration_error']:.3f}"
    if "oracle_ratio" in m:
        line += f"; oracle ratio {m['oracle_ratio']:.3f} (full {m['oracle_ratio_full']:.3f})"
    console.print(line)
    if "days_earlier" in m:
        tops = ", ".join(f"top {k} {v:.1%}" for k, v in m["top_share_hit_rates"].items())
        console.print(
            f"the round's work re-ordered by the model: problems found {m['days_earlier']:.2f} "
            f"days earlier; first half {m['first_half_share']:.4f} (as done "
            f"{m['first_half_share_business_as_usual']:.4f}); {tops}"
        )
    gates = ", ".join(f"{g} {'pass' if ok else 'FAIL'}" for g, ok in m["gates"].items())
    verdict = "promoted to champion" if m["promoted"] else "not promoted"
    console.print(f"gates: {gates} -> version {m['model_version']} {verdict}")
