"""The model's stages: `tune`, `train`, `evaluate`.

All three log into one MLflow experiment, `riskdraw-model`, so its compare view shows the tuned
model beside the baselines on the same measures, and the registry holds the versions with
their gates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    PARAMS,
    VERBOSE,
    app,
    console,
    fail,
    load,
    round_snapshots,
    save_figure,
    setup_logging,
)
from ._tables import comparison_table, evaluation_summary

PROFILE = typer.Option(help="the profile (profile's output)")


@app.command(rich_help_panel="4. the model")
def tune(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    selection: Annotated[Path, typer.Option(help="select's report: the factors")] = Path(
        "reports/selection.json"
    ),
    report: Annotated[Path, typer.Option(help="the tuning report")] = Path("reports/tuning.json"),
    storage: Annotated[Path, typer.Option(help="the Optuna study's SQLite file")] = Path(
        "data/models/optuna.db"
    ),
    trials: Annotated[int | None, typer.Option(help="override tune.trials")] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Tune LightGBM on the factors with Optuna, and run the baselines on the same folds.

    Reads params.yaml `tune`. Validation is by time: each of the latest `validation_rounds`
    training rounds is judged by a model fitted on the rounds before it; the held-out rounds
    are never read. The objective is the hit rate at `capacity` (the share of a round the
    inspectors visit), estimated from the round's draw, ties broken by log-loss; AUC, PR-AUC
    and Brier are logged too. Every trial is a nested MLflow run under one parent in
    experiment riskdraw-model; the study is stored in STORAGE under a name that carries a
    digest of its setup (data version, factors, space, folds), so a rerun on the same setup
    resumes it up to `trials`. The baselines (random draw, rule scorecard, logistic
    regression, LightGBM on all attributes and on the factors) are runs of the same
    experiment. Writes REPORT (best parameters, best value, every baseline).
    """
    import optuna

    from riskdraw.features.profile import profile_families
    from riskdraw.io import read_json, write_json
    from riskdraw.tracking import file_digest, use_experiment
    from riskdraw.training.experiment import run_tune
    from riskdraw.training.tracking import TuningLog

    setup_logging(verbose)
    settings = load("tune", params, trials=trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    factors = read_json(selection)["factors"]
    frame = round_snapshots(profile, "tune")
    storage.parent.mkdir(parents=True, exist_ok=True)
    version = file_digest(profile)
    with (
        TuningLog(use_experiment("model"), {"data_version": version}) as log,
        console.status(f"tuning: {settings.trials} trials, then the baselines"),
    ):
        tuned = run_tune(
            settings, frame, factors, list(profile_families(profile, frame.columns)),
            f"sqlite:///{storage.resolve()}", version, on_trial=log.trial,
            on_baseline=log.baseline,
        )  # fmt: skip
        log.finish(tuned.report)
    write_json(report, {"run_id": log.run_id, **tuned.report})
    comparison_table(
        "tuned model and baselines, mean over the validation rounds", tuned.report["compared"]
    )


@app.command(rich_help_panel="4. the model")
def train(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    tuning: Annotated[Path, typer.Option(help="tune's report: factors, best parameters")] = Path(
        "reports/tuning.json"
    ),
    report: Annotated[Path, typer.Option(help="the training report")] = Path("reports/train.json"),
    all_rounds: Annotated[
        bool,
        typer.Option(
            "--all-rounds",
            help="learn from every labelled round, holding none out (`simulate-rounds`: each "
            "model is judged on the round it plans)",
        ),
    ] = False,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Fit the final model, calibrate it out of time, register it as `challenger`.

    Reads params.yaml `train` (and `tune.holdout_rounds`). LightGBM with tune's best parameters
    is fitted on every training round (inspections weighted by inverse inclusion
    probabilities); its probabilities are calibrated (isotonic) on the scores that each of the
    latest `calibration_rounds` rounds gets from the same learner fitted on the rounds before
    it; the held-out rounds are never read. The model is registered with its risk classes
    (`train.cutoffs`) and the wording of its factors, so every version carries its own classes
    and reasons: logged to MLflow (experiment riskdraw-model) as a pyfunc that returns
    probability, ranking score and class, with signature, input example and model card,
    registered as a new version of `train.model_name` with alias `challenger`, with its
    monitoring reference (the latest training round's enterprises, at most
    `train.reference_rows`, scored by the version: what `riskdraw monitor` compares screenings
    with). Writes REPORT (the version: evaluate loads exactly that one).
    """
    import pandas as pd

    from riskdraw.features.profile import attribute_wording
    from riskdraw.io import read_json, write_json
    from riskdraw.tracking import file_digest, use_experiment
    from riskdraw.training.experiment import run_train
    from riskdraw.training.reference import reference_frame
    from riskdraw.training.tracking import log_training

    setup_logging(verbose)
    settings = load("train", params)
    holdout = 0 if all_rounds else load("tune", params).holdout_rounds
    tuned = read_json(tuning)
    frame = round_snapshots(profile, "train")
    wording = attribute_wording(tuned["factors"], profile)
    trained = run_train(settings, frame, holdout, tuned, wording, file_digest(profile))
    latest = pd.Timestamp(trained.data["fit_rounds"][-1])
    reference = reference_frame(frame[frame["as_of_date"] == latest], trained.model,
                                settings.reference_rows, settings.seed)  # fmt: skip
    version, run_id = log_training(use_experiment("model"), trained, tuned, settings.model_name,
                                   reference)  # fmt: skip
    result = {"model_name": settings.model_name, "version": version, "run_id": run_id}
    result |= trained.data | {"factors": tuned["factors"], "cutoffs": trained.model.cutoffs}
    write_json(report, result)
    data = trained.data
    console.print(
        f"registered [bold]{settings.model_name}[/bold] version {version} as challenger "
        f"(fitted on {data['fit_rows']:,} inspections in {len(data['fit_rounds'])} rounds, "
        f"calibrated on the out-of-time scores of {data['calibration_rows']:,} in "
        f"{', '.join(data['calibration_rounds'])})"
    )


@app.command(rich_help_panel="4. the model")
def evaluate(
    profile: Annotated[Path, PROFILE] = Path("data/features/profile.parquet"),
    train_report: Annotated[
        Path, typer.Option(help="train's report: the model version to judge")
    ] = Path("reports/train.json"),
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
    verbose: Annotated[bool, VERBOSE] = False,
) -> None:
    """Judge the version `train` recorded on the held-out round; promote it to champion if it
    passes the gates.

    Reads params.yaml `evaluate` (plan ratios, capacity, gates) and `tune.holdout_rounds`; the
    model version from TRAIN_REPORT (never a moving alias), and its risk classes from the
    version itself. On the first held-out round: hit rate of the random draw and of the
    model's picks at capacity, of each class and of a plan drawing the classes at their
    ratios, the compliant-inspection reduction, AUC, PR-AUC, Brier, calibration, and hit and
    selection rates per district, industry and entity type; with --truth the oracle ratios.
    Gates: beats the random draw and the current champion, calibration error under the bound,
    no slice whose classes C and D find less than the floor. Each gate is a tag of the model
    version; `champion` moves only if all pass. Writes METRICS and PLOTS/ (calibration, gains,
    slices), logs to MLflow.
    """
    from riskdraw.io import read_json, write_csv, write_json
    from riskdraw.tracking import file_digest, use_experiment
    from riskdraw.training.evaluation import evaluation_figures, run_evaluate
    from riskdraw.training.registry import CHAMPION, alias_version, load_version, record_gates
    from riskdraw.training.tracking import log_evaluation

    setup_logging(verbose)
    settings = load("evaluate", params)
    holdout = load("tune", params).holdout_rounds
    if not train_report.exists():
        raise fail(f"{train_report} not found: run `riskdraw train` first")
    trained = read_json(train_report)
    name, version = trained["model_name"], str(trained["version"])
    experiment = use_experiment("model")
    try:
        model = load_version(name, version)
    except LookupError as error:
        raise fail(f"{error} ({train_report} names it): run `riskdraw train` again") from None
    rival = alias_version(name, CHAMPION)
    champion = None
    if rival not in (None, version):
        try:
            champion = (load_version(name, rival), rival)
        except LookupError as error:  # a champion from before versions carried their classes
            console.print(f"[yellow]the champion cannot be judged beside it: {error}[/yellow]")
    frame = round_snapshots(profile, "evaluate")
    result = run_evaluate(
        settings, frame, holdout, model, champion, None if truth is None else (truth, entities)
    )
    promoted = record_gates(name, version, result.gates)
    out = {"model_name": name, "model_version": version, **result.metrics}
    out |= {"gates": {g: r["passed"] for g, r in result.gates.items()}, "promoted": promoted}
    write_json(metrics, out)
    plots.mkdir(parents=True, exist_ok=True)
    for table, frame_ in (*result.tables.items(), ("slices", result.slices)):
        write_csv(frame_, plots / f"{table}.csv", index=False, encoding="utf-8")  # DVC: no BOM
    for figure, fig in evaluation_figures(result.tables).items():
        save_figure(fig, plots / f"{figure}.png")
    log_evaluation(experiment, out, metrics, plots, file_digest(profile))
    evaluation_summary(out)
