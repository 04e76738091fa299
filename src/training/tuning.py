"""Validation by time, and the Optuna study that tunes LightGBM on the factors.

`validate` fits a model on the rounds before each validation round and judges it on that round
as the regulator would use it: the hit rate if the inspectors visited the `capacity` share of
the round's open enterprises the model ranks highest (estimated from that round's draw, each
inspection weighted by the inverse of its inclusion probability), with AUC and PR-AUC beside it.
Training rows are weighted the same way, so a targeted draw does not teach the model its own
targeting.

`tune` runs a seeded TPE study over LightGBM's parameters with `validate`'s hit rate as the
objective, ties broken by log-loss (`objective_value`); a trial is pruned after its first
validation round when it is already below the median of the trials before it. The study lives
in SQLite storage, so a second run resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from .metrics import hit_rate_at_capacity, ranking_metrics
from .models import lightgbm_model
from .rounds import RoundSplit, inspected, population, weights


@dataclass(frozen=True)
class Fold:
    """One validation round and the rows of the rounds before it."""

    train: pd.DataFrame
    valid: pd.DataFrame  # the inspected of the validation round
    valid_population: pd.DataFrame  # every enterprise of the validation round
    round: pd.Timestamp


def folds(profile: pd.DataFrame, split: RoundSplit, n: int) -> list[Fold]:
    """The rolling-origin validation folds over the latest `n` training rounds."""
    out = []
    for fit_rounds, valid_round in split.validation_folds(n):
        out.append(
            Fold(
                train=inspected(profile, fit_rounds),
                valid=inspected(profile, [valid_round]),
                valid_population=population(profile, valid_round),
                round=valid_round,
            )
        )
    return out


def judge(model, fold: Fold, columns: list[str], capacity: float) -> dict[str, float | None]:
    """The fold's metrics for a model fitted on `fold.train`."""
    p_pop = model.predict_proba(fold.valid_population[columns])[:, 1]
    p = model.predict_proba(fold.valid[columns])[:, 1]
    y = fold.valid["problem"].to_numpy(dtype=int)
    inclusion = fold.valid["inclusion_probability"].to_numpy(dtype=float)
    hit, n = hit_rate_at_capacity(p_pop, p, y, inclusion, capacity)
    return {"hit_rate_at_capacity": hit, "picked_inspections": n} | ranking_metrics(
        y, p, 1.0 / inclusion
    )


# Log-loss weighs this little so that it only breaks ties: its term is at most 0.001 (log-loss
# capped at 1; about 0.35 here), while one inspection more or less among the picks moves the hit
# rate by 1/picked (picks: tens in the simulated city's rounds, ~1,000 in Chicago's).
TIE_BREAK = 1e-3
OBJECTIVE = "hit rate at capacity, ties broken by log-loss"  # part of the study's name


def study_name(prefix: str, *setup) -> str:
    """A study's name: `prefix` and a digest of everything that makes its trials comparable
    (data version, factors, space, folds, ... and the objective), so a rerun with the same
    setup resumes the study and any change starts a new one."""
    import hashlib
    import json

    key = json.dumps([*setup, OBJECTIVE], sort_keys=True, default=str).encode()
    return f"{prefix}-{hashlib.sha256(key).hexdigest()[:12]}"


def objective_value(hit_rate: float, log_loss: float) -> float:
    """The study's objective: the hit rate at capacity first, then the lower log-loss.

    Where the top of a round is near-certain (every model finds 100% at capacity), the hit rate
    alone cannot tell trials apart; the log-loss then picks the one whose probabilities are
    right further down, where the risk classes are cut."""
    return hit_rate - TIE_BREAK * min(log_loss, 1.0)


def validate(
    make_model: Callable[[], object],
    folds_: list[Fold],
    columns: list[str],
    capacity: float,
    after_fold: Callable[[int, float], None] | None = None,
) -> dict[str, float]:
    """Mean metrics over the folds of a model made by `make_model`, fitted per fold.

    `after_fold(i, objective so far)` is called after each fold (pruning hooks in there)."""
    per_fold = []
    for i, fold in enumerate(folds_):
        model = make_model().fit(
            fold.train[columns].astype(float),
            fold.train["problem"].to_numpy(dtype=int),
            sample_weight=weights(fold.train),
        )
        per_fold.append(judge(model, fold, columns, capacity))
        if after_fold is not None:
            after_fold(
                i,
                objective_value(
                    float(np.mean([m["hit_rate_at_capacity"] for m in per_fold])),
                    float(np.mean([m["log_loss"] for m in per_fold])),
                ),
            )
    out: dict[str, float] = {}
    for key in per_fold[0]:
        values = [m[key] for m in per_fold if m[key] is not None]
        out[f"val_{key}"] = float(np.mean(values)) if values else float("nan")
    return out


def search_space(trial: optuna.Trial, space: dict[str, list]) -> dict:
    """LightGBM parameters drawn from `space` (name -> [low, high]; integers stay integers,
    ranges spanning a factor of 10 or more are searched on a log scale)."""
    params = {}
    for name, (low, high) in space.items():
        log = low > 0 and high / low >= 10
        if isinstance(low, int) and isinstance(high, int):
            params[name] = trial.suggest_int(name, low, high, log=log)
        else:
            params[name] = trial.suggest_float(name, float(low), float(high), log=log)
    return params


def tune(
    folds_: list[Fold],
    columns: list[str],
    capacity: float,
    space: dict[str, list],
    trials: int,
    seed: int,
    storage: str,
    study_name: str,
    on_trial: Callable[[optuna.Trial, dict, dict], None] | None = None,
    fixed: dict | None = None,
) -> optuna.Study:
    """Run (or resume) the study until it holds `trials` finished trials.

    Args:
        folds_: the validation folds (`folds()`).
        columns: the factors.
        capacity: the share of the round the inspectors can visit.
        space: LightGBM parameter ranges.
        trials: finished (complete or pruned) trials the study should hold.
        seed: the TPE sampler's seed.
        storage: an Optuna storage URL, e.g. `sqlite:///data/models/optuna.db`.
        study_name: the study in that storage.
        on_trial: called with (trial, params, metrics) after each trial that completes.
        fixed: LightGBM parameters every trial shares (not searched).
    """
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )

    def objective(trial: optuna.Trial) -> float:
        params = search_space(trial, space) | (fixed or {})

        def after_fold(i: int, value: float) -> None:
            trial.report(value, i)
            if i < len(folds_) - 1 and trial.should_prune():
                raise optuna.TrialPruned()

        metrics = validate(
            lambda: lightgbm_model(params, seed), folds_, columns, capacity, after_fold
        )
        for key, value in metrics.items():
            trial.set_user_attr(key, value)
        if on_trial is not None:
            on_trial(trial, params, metrics)
        return objective_value(metrics["val_hit_rate_at_capacity"], metrics["val_log_loss"])

    done = sum(
        t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        for t in study.trials
    )
    if trials > done:
        study.optimize(objective, n_trials=trials - done, gc_after_trial=False)
    return study
