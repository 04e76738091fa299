"""Chicago's published evaluation reproduced, and riskdraw's chain beside it: `run_chicago`.

The city's model is re-fitted on its training rows and judged by the city's own measure (the
test period's work re-ordered by score: days earlier a critical violation is found, the share
found in the first half). Then riskdraw's own stage functions run on the same rounds, with the
city's `select`, `tune` and `train` sections: `features.selection.run_select`,
`training.experiment.run_tune` and `run_train`, with the inspector group (the city's setting)
and without it (a double-random regulator draws inspectors at random). The test period is only
scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from riskdraw.features.selection import run_select
from riskdraw.tracking import file_digest, git_commit
from riskdraw.training.experiment import run_train, run_tune
from riskdraw.training.metrics import reordering_measures
from riskdraw.training.rounds import RoundSplit, inspected
from riskdraw.training.scoring import score
from riskdraw.training.tracking import TuningLog

from .chicago import (
    DATA_FILE,
    CityModel,
    attribute_names,
    inspector_flags,
    labelled_rounds,
    read_inspections,
)

WAYS = {"with_inspector": True, "without_inspector": False}
"""The two settings compared: the inspector group among the columns, or not."""


@dataclass(frozen=True)
class Reproduction:
    """What `run_chicago` found: the report, the test period's inspections with every model's
    score, and the rows refused (with row, field, rule and value)."""

    report: dict
    scores: pd.DataFrame
    refused: pd.DataFrame


def run_chicago(settings, select, tune, train, storage: str, experiment: str) -> Reproduction:
    """The city's evaluation reproduced, then riskdraw's chain both ways, logged to MLflow
    (one parent run in `experiment`, a child per model, trials under riskdraw's).

    Args:
        settings: the `chicago` section (data, rounds, published figures, tolerances).
        select, tune, train: the city's `select`, `tune` and `train` sections.
        storage: the Optuna storage URL.
        experiment: the MLflow experiment id.
    """
    accepted, refused = read_inspections(settings.data)
    frame = labelled_rounds(accepted, settings.period_days)
    frame = frame.join(inspector_flags(frame))
    split = RoundSplit.of(frame, holdout_rounds=tune.holdout_rounds)
    fit, test = inspected(frame, split.training), inspected(frame, split.holdout)
    attributes = attribute_names(frame)
    flags = list(inspector_flags(frame))
    scored = test[["inspection_id", "entity_id", "inspection_date", "problem", "inspector_group"]]
    scored = scored.copy()

    def measures(key: str, values) -> dict:
        scored[key] = values
        return reordering_measures(
            test["inspection_date"].to_numpy(), values, test["problem"], settings.top_shares
        )

    data_version = file_digest(Path(settings.data) / DATA_FILE)
    tags = {"data_version": data_version, "git_commit": git_commit()}
    result = {
        "rows_in": len(accepted) + refused["row"].nunique(),
        "rows_accepted": len(accepted),
        "rows_quarantined": int(refused["row"].nunique()),
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
                experiment_id=experiment, run_name=f"city model, {way.replace('_', ' ')}",
                nested=True,
            ):  # fmt: skip
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
                    tune, frame, columns, attributes + flags, storage, data_version,
                    prefix=f"{tune.study}-{way}", on_trial=log.trial, on_baseline=log.baseline,
                )  # fmt: skip
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
