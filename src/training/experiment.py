"""The experiment chain after selection, one function per stage, for every city: `run_tune`
and `run_train` (`run_evaluate`, which alone may read a simulated city's truth, is in
`training.evaluation`).

The stage commands (`riskdraw tune`, `train`, `evaluate`) call them on the profile they are
given; a real city's composite run (`riskdraw chicago`) calls the same functions with its own
sections of the params. MLflow logging stays in `training.tracking`: these functions take
callbacks and return what they found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna
import pandas as pd

from .baselines import baselines
from .card import model_card
from .models import RiskModel, lightgbm_model
from .rounds import RoundSplit, inspected, weights
from .scoring import ScoringModel, Wording
from .tuning import OBJECTIVE, folds, study_name, tune, validate

TUNED = "LightGBM tuned (best trial)"
"""The tuned model's name among the compared models."""


@dataclass(frozen=True)
class Tuned:
    """What `run_tune` found: the study, and the report (`reports/tuning.json` without the
    MLflow run id)."""

    study: optuna.Study
    report: dict


def run_tune(
    settings,
    frame: pd.DataFrame,
    factors: list[str],
    attributes: list[str],
    storage: str,
    data_version: str,
    prefix: str | None = None,
    on_trial: Callable[[optuna.Trial, dict, dict], None] | None = None,
    on_baseline: Callable[[str, list[str], dict], None] | None = None,
) -> Tuned:
    """The `tune` stage: Optuna over LightGBM on `factors`, then the baselines on the same
    folds.

    Args:
        settings: the `tune` section (`TuneParams`).
        frame: the profile's round snapshots.
        factors: the columns the model reads (select's factors, perhaps with a city's extras).
        attributes: every attribute (the all-attributes baseline reads them).
        storage: the Optuna storage URL; the study's name carries a digest of its setup, so
            a rerun on the same setup resumes it.
        data_version: the profile's digest (part of the study's name).
        prefix: the study name's prefix (default `settings.study`).
        on_trial: called after each completed trial with (trial, params, metrics).
        on_baseline: called after each baseline with (name, columns, metrics).
    """
    split = RoundSplit.of(frame, settings.holdout_rounds)
    folds_ = folds(frame, split, settings.validation_rounds)
    rounds = [str(f.round.date()) for f in folds_]
    name = study_name(
        prefix or settings.study, data_version, factors, settings.space, dict(settings.fixed),
        settings.capacity, settings.seed, rounds,
    )  # fmt: skip
    study = tune(
        folds_, factors, settings.capacity, settings.space, settings.trials, settings.seed,
        storage, name, on_trial, fixed=dict(settings.fixed),
    )  # fmt: skip
    best = study.best_trial
    compared = {TUNED: dict(best.user_attrs)}
    scorecard = {k: r.model_dump(exclude_none=True) for k, r in settings.scorecard.items()}
    for b in baselines(factors, attributes, scorecard, settings.seed):
        metrics = validate(b.make, folds_, b.columns, settings.capacity)
        if on_baseline is not None:
            on_baseline(b.name, b.columns, metrics)
        compared[b.name] = metrics
    states = [t.state.name.lower() for t in study.trials]
    report = {
        "study": name,
        "factors": factors,
        "capacity": settings.capacity,
        "validation_rounds": rounds,
        "objective": OBJECTIVE,
        "best_params": best.params | dict(settings.fixed),
        "best_value": best.value,
        "trials": {s: states.count(s) for s in sorted(set(states))},
        "compared": compared,
    }
    return Tuned(study=study, report=report)


@dataclass(frozen=True)
class Trained:
    """What `run_train` fitted: the scoring model, the rows it learned from, its data record
    and its model card."""

    model: ScoringModel
    rows: pd.DataFrame
    data: dict
    card: str


def run_train(
    settings,
    frame: pd.DataFrame,
    holdout_rounds: int,
    tuned: dict,
    wording: dict[str, dict[str, str]],
    data_version: str,
) -> Trained:
    """The `train` stage: the final model on every training round, calibrated out of time,
    with the class cut-offs and the factors' wording it will be registered with.

    Args:
        settings: the `train` section (`TrainParams`).
        frame: the profile's round snapshots.
        holdout_rounds: the last rounds, never read here.
        tuned: tune's report (`factors`, `best_params`, `compared`).
        wording: factor -> {"en", "zh"} (`features.profile.attribute_wording`).
        data_version: the profile's digest.
    """
    factors = tuned["factors"]
    split = RoundSplit.of(frame, holdout_rounds)
    fit = inspected(frame, split.training)
    model = RiskModel(
        lightgbm_model(tuned["best_params"], settings.seed), factors, settings.calibration_rounds
    ).fit(
        fit,
        fit["problem"].to_numpy(dtype=int),
        sample_weight=weights(fit) if settings.weighting == "inverse_inclusion" else None,
        rounds=fit["as_of_date"].to_numpy(),
    )
    calibrated_on = set(model.calibrated_on_)
    data = {
        "data_version": data_version,
        "fit_rounds": [str(d.date()) for d in split.training],
        "calibration_rounds": [str(d.date()) for d in model.calibrated_on_],
        "held_out_rounds": [str(d.date()) for d in split.holdout],
        "fit_rows": len(fit),
        "calibration_rows": int(fit["as_of_date"].isin(calibrated_on).sum()),
        "weighting": settings.weighting,
    }
    scoring = ScoringModel(
        model,
        dict(settings.cutoffs),
        {f: Wording(**w) for f, w in wording.items() if f in factors},
    )
    card = model_card(settings.model_name, factors, tuned, data, dict(settings.cutoffs))
    return Trained(model=scoring, rows=fit, data=data, card=card)
