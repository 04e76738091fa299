"""Chicago's published evaluation reproduced, and riskdraw's chain beside it: `run_chicago`.

The city is its configuration (`cities/chicago/city.yaml`): its published model table read,
checked and put in rounds by the generic mechanism (`cities.tables`, `cities.profile`), with
the sanitarian group as attributes. The city's model is re-fitted on its training rows and
judged by the city's own measure (the test period's work re-ordered by score: days earlier a
critical violation is found, the share found in the first half). Then riskdraw's own stage
functions run on the same rounds, with the city's `select`, `tune` and `train` sections:
`features.selection.run_select`, `training.experiment.run_tune` and `run_train`, with the
inspector group (the city's setting) and without it (a double-random regulator draws
inspectors at random). The test period is only scored. The city's model (`CityModel`) is the
one piece of Chicago here: what the reproduction reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from riskdraw.errors import DATA
from riskdraw.features.selection import run_select
from riskdraw.tracking import file_digest, git_commit
from riskdraw.training.experiment import run_train, run_tune
from riskdraw.training.metrics import reordering_measures
from riskdraw.training.rounds import RoundSplit, inspected
from riskdraw.training.scoring import score
from riskdraw.training.tracking import TuningLog

from .config import City, CityError
from .profile import features_frame
from .tables import prepare


def city_model_matrix(frame: pd.DataFrame, with_inspector: bool) -> pd.DataFrame:
    """The inputs of the city's published model: past serious and critical violations (capped
    at 1), days since the last inspection, licence older than 4 years, two licence types,
    the 3-day mean of the maximum temperature, the three heat values (capped 70/70/50); with
    the inspector group as flags (the first group left out as the reference)."""
    x = pd.DataFrame(
        {
            "past_serious": frame["pastSerious"].clip(upper=1),
            "past_critical": frame["pastCritical"].clip(upper=1),
            "time_since_last": frame["timeSinceLast"],
            "age_over_4": (frame["ageAtInspection"] > 4).astype(float),
            "consumption_on_premises": frame["consumption_on_premises_incidental_activity"],
            "tobacco": frame["tobacco_retail_over_counter"],
            "temperature_max": frame["temperatureMax"],
            "heat_burglary": frame["heat_burglary"].clip(upper=70),
            "heat_sanitation": frame["heat_sanitation"].clip(upper=70),
            "heat_garbage": frame["heat_garbage"].clip(upper=50),
        },
        index=frame.index,
    )
    if with_inspector:
        x = pd.concat([x, frame[inspector_columns(frame)[1:]]], axis=1)
    return x.astype(float)


def inspector_columns(frame: pd.DataFrame) -> list[str]:
    """The inspector-group flags of a profile frame, in group order."""
    return sorted(c for c in frame.columns if c.startswith("inspector_"))


class CityModel(ClassifierMixin, BaseEstimator):
    """The city's published model, re-fitted: logistic regression on `city_model_matrix`.

    The city fitted it with glmnet (ridge, only the inspector flags penalised, at the smallest
    lambda of its path, i.e. almost unpenalised); an unpenalised fit with one group as the
    reference gives the same ranking.
    """

    def __init__(self, with_inspector: bool = True) -> None:
        self.with_inspector = with_inspector

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> CityModel:
        self.model_ = LogisticRegression(C=np.inf, max_iter=5000).fit(
            city_model_matrix(X, self.with_inspector), np.asarray(y, dtype=int), sample_weight
        )
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(city_model_matrix(X, self.with_inspector))


def city_rounds(city: City, folder: Path) -> tuple[pd.DataFrame, list[str], dict, pd.DataFrame]:
    """The city's inspections in rounds, with the inspector-group flags, by its configuration.

    Returns:
        (frame, attributes, counts, quarantine): the profile frame
        (`cities.profile.features_frame`), the establishment attributes (not the inspector
        group), each table's rows accepted and refused, and the rows refused.

    Raises:
        CityError: the city's check found an error (exit status 3).
    """
    prepared = prepare(city, folder)
    if prepared.errors:
        lines = "\n".join(f"  {i.message}" for i in prepared.errors)
        raise CityError(f"city {city.name}: the check found errors:\n{lines}", DATA)
    both = city.model_copy(
        update={"features": city.features.model_copy(update={"inspector_attributes": True})}
    )
    frame, attrs, _ = features_frame(
        both, prepared.features, prepared.events["inspection"], prepared.rounds
    )
    names = [a.name for a in attrs if a.family != "inspector"]
    return frame, names, prepared.counts, prepared.quarantine


@dataclass(frozen=True)
class Reproduction:
    """What `run_chicago` found: the report, the test period's inspections with every model's
    score, and the rows refused (with table, row, field, rule and value)."""

    report: dict
    scores: pd.DataFrame
    refused: pd.DataFrame


WAYS = {"with_inspector": True, "without_inspector": False}
"""The two settings compared: the inspector group among the columns, or not."""


def run_chicago(
    city: City, folder: Path, settings, select, tune, train, storage: str, experiment: str
) -> Reproduction:
    """The city's evaluation reproduced, then riskdraw's chain both ways, logged to MLflow
    (one parent run in `experiment`, a child per model, trials under riskdraw's).

    Args:
        city, folder: the city (`cities/chicago/city.yaml`) and its folder.
        settings: its `chicago` section (published figures, tolerances).
        select, tune, train: the city's `select`, `tune` and `train` sections.
        storage: the Optuna storage URL.
        experiment: the MLflow experiment id.
    """
    frame, attributes, counts, refused = city_rounds(city, folder)
    split = RoundSplit.of(frame, holdout_rounds=tune.holdout_rounds)
    fit, test = inspected(frame, split.training), inspected(frame, split.holdout)
    flags = inspector_columns(frame)
    scored = test[["inspection_id", "entity_id", "inspection_date", "problem"]].copy()
    scored["inspector_group"] = test[flags].idxmax(axis=1).str.removeprefix("inspector_")

    def measures(key: str, values) -> dict:
        scored[key] = values
        return reordering_measures(
            test["inspection_date"].to_numpy(), values, test["problem"], settings.top_shares
        )

    files = [Path(folder) / t.path for t in city.tables.values()]
    data_version = file_digest(files[0]) if len(files) == 1 else file_digest(Path(folder))
    tags = {"data_version": data_version, "git_commit": git_commit()}
    table = counts[city.features.table]
    result = {
        "rows_in": table["rows"],
        "rows_accepted": table["accepted"],
        "rows_quarantined": table["refused"] + table["left_out"],
        "training_inspections": len(fit),
        "training_rounds": [str(r.date()) for r in split.training],
        "test_period": [
            str(test["inspection_date"].min().date()),
            str(test["inspection_date"].max().date()),
        ],
        "published": settings.published.model_dump(),
    }
    with mlflow.start_run(experiment_id=experiment, run_name="chicago") as parent:
        mlflow.set_tags(tags | {"role": "city"})
        for way, with_inspector in WAYS.items():
            model = CityModel(with_inspector).fit(fit, fit["problem"])
            result[f"city_{way}"] = measures(f"city_{way}", model.predict_proba(test)[:, 1])
            with mlflow.start_run(
                experiment_id=experiment,
                run_name=f"city model, {way.replace('_', ' ')}",
                nested=True,
            ):
                mlflow.set_tags(tags | {"role": "model"})
                mlflow.log_metrics(flat(result[f"city_{way}"]))
        selection = run_select(select, frame, {a: a for a in attributes})
        factors = list(selection.report["factors"])
        result["factors"] = factors
        for way, with_inspector in WAYS.items():
            columns = factors + (flags if with_inspector else [])
            with TuningLog(
                experiment, tags, f"riskdraw, {way.replace('_', ' ')}", nested=True
            ) as log:
                tuned = run_tune(
                    tune,
                    frame,
                    columns,
                    attributes + flags,
                    storage,
                    data_version,
                    prefix=f"{tune.study}-{way}",
                    on_trial=log.trial,
                    on_baseline=log.baseline,
                )
                log.finish(tuned.report)
                trained = run_train(
                    train, frame, tune.holdout_rounds, tuned.report, {}, data_version
                )
                ranking = score(trained.model, test)["rank_score"].to_numpy()
                result[f"riskdraw_{way}"] = measures(f"riskdraw_{way}", ranking)
                result[f"riskdraw_{way}"]["validation_objective"] = tuned.report["best_value"]
                mlflow.log_metrics(flat(result[f"riskdraw_{way}"]))
        result |= headline(result, settings)
        mlflow.log_metrics({k: v for k, v in result.items() if isinstance(v, float)})
        result["run_id"] = parent.info.run_id
    return Reproduction(report=result, scores=scored, refused=refused)


def flat(metrics: dict) -> dict[str, float]:
    """Nested measures as MLflow's flat metric names (`top_share_hit_rates.5pct`)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out |= {f"{key}.{k}".replace("%", "pct"): v for k, v in value.items()}
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out


def headline(result: dict, settings) -> dict:
    """The figures the README quotes, and whether the reproduction is within tolerance."""
    city, pub = result["city_with_inspector"], settings.published
    return {
        "reproduced_days_earlier": city["days_earlier"],
        "reproduced_first_half_share": city["first_half_share"],
        "reproduced_first_half_share_business_as_usual": city["first_half_share_business_as_usual"],
        "reproduced_days_earlier_without_inspector": result["city_without_inspector"][
            "days_earlier"
        ],
        "reproduced": bool(
            abs(city["days_earlier"] - pub.days_earlier) <= settings.tolerance_days
            and abs(city["first_half_share"] - pub.first_half_share) <= settings.tolerance_share
            and abs(
                city["first_half_share_business_as_usual"] - pub.first_half_share_business_as_usual
            )
            <= settings.tolerance_share
        ),
        **{
            f"riskdraw_{measure}_{way}": result[f"riskdraw_{way}"][measure]
            for measure in ("days_earlier", "first_half_share")
            for way in WAYS
        },
    }
