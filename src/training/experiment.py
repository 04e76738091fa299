"""The whole of riskdraw's modelling on one city's labelled rounds, in one call: factor
selection, the Optuna study, the final model calibrated out of time.

The simulated city runs these steps as separate stages (`select`, `tune`, `train`); a real
city whose labelled rounds arrive as one table (Chicago) runs them here with the same pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import optuna
import pandas as pd

from riskdraw.features.selection import FactorSelector

from .models import RiskModel, lightgbm_model
from .rounds import RoundSplit, inspected
from .tuning import folds, tune, weights


@dataclass(frozen=True)
class Tuning:
    """How the study runs: validation rounds, capacity, trials, seed, search space."""

    validation_rounds: int
    capacity: float
    trials: int
    seed: int
    space: dict
    fixed: dict
    calibration_rounds: int


def select_factors(
    frame: pd.DataFrame, split: RoundSplit, attributes: list[str], selector: FactorSelector
) -> FactorSelector:
    """Fit `selector` on the labelled rows of the training rounds (time folds = rounds)."""
    rows = inspected(frame, split.training)
    return selector.fit(
        rows[attributes], rows["problem"], rows["as_of_date"], sample_weight=weights(rows)
    )


def tuned_model(
    frame: pd.DataFrame,
    split: RoundSplit,
    columns: list[str],
    settings: Tuning,
    storage: str,
    study_name: str,
    on_trial: Callable[[optuna.Trial, dict, dict], None] | None = None,
) -> tuple[RiskModel, optuna.Study]:
    """Tune LightGBM on `columns` by rolling-origin validation over the training rounds, then
    fit it on every training round with its calibration learned out of time."""
    study = tune(
        folds(frame, split, settings.validation_rounds),
        columns,
        settings.capacity,
        settings.space,
        settings.trials,
        settings.seed,
        storage,
        study_name,
        on_trial,
        fixed=settings.fixed,
    )
    rows = inspected(frame, split.training)
    params = study.best_trial.params | settings.fixed
    model = RiskModel(lightgbm_model(params, settings.seed), columns, settings.calibration_rounds)
    model.fit(rows, rows["problem"], sample_weight=weights(rows), rounds=rows["as_of_date"])
    return model, study
