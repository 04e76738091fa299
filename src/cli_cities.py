"""Real cities in the `riskdraw` command: `riskdraw chicago`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskdraw.cli import PARAMS, _load, _logging, app, console, selector_from

WAYS = {"with_inspector": True, "without_inspector": False}


@app.command()
def chicago(
    report: Annotated[Path, typer.Option(help="the results")] = Path("reports/chicago.json"),
    quarantine: Annotated[Path, typer.Option(help="rows refused, with field and rule")] = Path(
        "reports/chicago-quarantine.csv"
    ),
    scores: Annotated[Path, typer.Option(help="the test period's scores, per inspection")] = Path(
        "reports/chicago-scores.csv"
    ),
    storage: Annotated[Path, typer.Option(help="the Optuna studies' SQLite file")] = Path(
        "data/models/chicago-optuna.db"
    ),
    trials: Annotated[int | None, typer.Option(help="override chicago.trials")] = None,
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Chicago's food inspections: the city's evaluation reproduced, then riskdraw's model.

    Reads params.yaml `chicago` (and `select`'s criteria, `tune.space`, `tune.fixed`). The
    city's published model table (its per-inspection features; the raw downloads behind them
    were not published) is checked row by row (refused rows go to QUARANTINE) and grouped into
    rounds (`chicago.period_days`); the city's test period, 2014-09-02..2014-10-31, is held out.
    The city's model is re-fitted on its training rows and judged by the city's own measure:
    the test period's work re-ordered by score, the mean days earlier a critical violation is
    found and the share found in the first half. riskdraw then selects factors, tunes LightGBM
    with Optuna on the training rounds only and calibrates it out of time, with the inspector
    group (the city's setting) and without it (a double-random regulator draws inspectors at
    random). Runs in MLflow experiment riskdraw-chicago; writes REPORT and SCORES (the test
    period's inspections with every model's score).
    """
    import mlflow
    import optuna

    from riskdraw.cities.chicago import (
        DATA_FILE,
        CityModel,
        attribute_names,
        inspector_flags,
        labelled_rounds,
        read_inspections,
    )
    from riskdraw.io import write_json
    from riskdraw.tracking import file_digest, git_commit, use_experiment
    from riskdraw.training.evaluation import reordering_measures
    from riskdraw.training.experiment import Tuning, select_factors, tuned_model
    from riskdraw.training.rounds import RoundSplit, inspected
    from riskdraw.training.tuning import study_name

    _logging(verbose)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = _load("chicago", params, trials=trials)
    criteria, search = _load("select", params), _load("tune", params)
    accepted, refused = read_inspections(settings.data)
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    refused.to_csv(quarantine, index=False)
    frame = labelled_rounds(accepted, settings.period_days)
    frame = frame.join(inspector_flags(frame))
    split = RoundSplit.of(frame, holdout_rounds=1)
    train, test = inspected(frame, split.training), inspected(frame, split.holdout)
    data_file = Path(settings.data) / DATA_FILE

    scored = test[
        ["inspection_id", "entity_id", "inspection_date", "problem", "inspector_group"]
    ].copy()

    def measures(key: str, values) -> dict:
        scored[key] = values
        return reordering_measures(
            test["inspection_date"].to_numpy(), values, test["problem"], settings.top_shares
        )

    result = {
        "rows_in": len(accepted) + refused["row"].nunique(),
        "rows_accepted": len(accepted),
        "rows_quarantined": int(refused["row"].nunique()),
        "training_inspections": len(train),
        "training_rounds": [str(r.date()) for r in split.training],
        "test_period": [
            str(test["inspection_date"].min().date()),
            str(test["inspection_date"].max().date()),
        ],
        "published": settings.published.model_dump(),
    }
    experiment = use_experiment("chicago")
    tags = {"data_version": file_digest(data_file), "git_commit": git_commit()}
    with mlflow.start_run(experiment_id=experiment, run_name="chicago") as parent:
        mlflow.set_tags(tags | {"role": "city"})

        def child(name: str, metrics: dict, extra: dict | None = None):
            with mlflow.start_run(experiment_id=experiment, run_name=name, nested=True) as run:
                mlflow.set_tags(tags | {"role": "model"})
                mlflow.log_params(extra or {})
                mlflow.log_metrics(_flat(metrics))
            return run.info.run_id

        with console.status("the city's model, re-fitted"):
            for way, with_inspector in WAYS.items():
                model = CityModel(with_inspector).fit(train, train["problem"])
                result[f"city_{way}"] = measures(f"city_{way}", model.predict_proba(test)[:, 1])
                child(f"city model, {way.replace('_', ' ')}", result[f"city_{way}"])
        with console.status("selecting factors on the training rounds"):
            selector = select_factors(
                frame,
                split,
                attribute_names(frame),
                selector_from(criteria, None, settings.n_factors),
            )
        factors = list(selector.factors_)
        result["factors"] = factors
        tuning = Tuning(
            settings.validation_rounds, settings.capacity, settings.trials, settings.seed,
            search.space, dict(search.fixed), settings.calibration_rounds,
        )  # fmt: skip
        storage.parent.mkdir(parents=True, exist_ok=True)
        for way, with_inspector in WAYS.items():
            columns = factors + (list(inspector_flags(frame)) if with_inspector else [])
            name = study_name(
                f"chicago-{way}", tags["data_version"], columns, tuning.space, tuning.fixed,
                tuning.capacity, tuning.seed, result["training_rounds"], tuning.validation_rounds,
            )  # fmt: skip
            with mlflow.start_run(
                experiment_id=experiment, run_name=f"riskdraw, {way.replace('_', ' ')}",
                nested=True,
            ) as run:  # fmt: skip
                mlflow.set_tags(tags | {"role": "model", "study": name})

                def on_trial(trial, values, metrics, run_id=run.info.run_id, name=name) -> None:
                    with mlflow.start_run(
                        experiment_id=experiment, run_name=f"trial {trial.number}",
                        nested=True, parent_run_id=run_id,
                    ):  # fmt: skip
                        mlflow.set_tags(tags | {"role": "trial", "study": name})
                        mlflow.log_params(values)
                        mlflow.log_metrics(metrics)

                with console.status(f"riskdraw {way.replace('_', ' ')}: {settings.trials} trials"):
                    model, study = tuned_model(
                        frame, split, columns, tuning, f"sqlite:///{storage.resolve()}", name,
                        on_trial,
                    )  # fmt: skip
                result[f"riskdraw_{way}"] = measures(f"riskdraw_{way}", model.raw_score(test))
                result[f"riskdraw_{way}"]["validation_objective"] = study.best_value
                mlflow.log_params({"columns": ", ".join(columns), **study.best_trial.params})
                mlflow.log_metrics(_flat(result[f"riskdraw_{way}"]))
        result |= _headline(result, settings)
        mlflow.log_metrics({k: v for k, v in result.items() if isinstance(v, float)})
        result["run_id"] = parent.info.run_id
    write_json(report, result)
    scored.to_csv(scores, index=False)
    _chicago_table(result)


def _flat(metrics: dict) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out |= {f"{key}.{k}".replace("%", "pct"): v for k, v in value.items()}
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out


def _headline(result: dict, settings) -> dict:
    """The keys the issue names, and whether the reproduction is within tolerance."""
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
        "riskdraw_days_earlier_with_inspector": result["riskdraw_with_inspector"]["days_earlier"],
        "riskdraw_days_earlier_without_inspector": result["riskdraw_without_inspector"][
            "days_earlier"
        ],
        "riskdraw_first_half_share_with_inspector": result["riskdraw_with_inspector"][
            "first_half_share"
        ],
        "riskdraw_first_half_share_without_inspector": result["riskdraw_without_inspector"][
            "first_half_share"
        ],
    }


def _chicago_table(r: dict) -> None:
    console.rule(f"[bold]Chicago, test period {r['test_period'][0]}..{r['test_period'][1]}")
    shares = list(r["city_with_inspector"]["top_share_hit_rates"])
    table = Table(
        "", "days earlier", "first half", "AUC", *(f"top {s}" for s in shares),
        caption="the test period's work re-ordered by score; first half: share of the critical "
        "violations found in the first half of the inspections (as done: "
        f"{r['reproduced_first_half_share_business_as_usual']:.4f})",
    )  # fmt: skip
    pub = r["published"]
    table.add_row("city, published", f"{pub['days_earlier']:.2f}",
                  f"{pub['first_half_share']:.4f}", "", *[""] * len(shares))  # fmt: skip
    for key, name in [
        ("city_with_inspector", "city model re-fitted, with inspector"),
        ("riskdraw_with_inspector", "riskdraw, with inspector"),
        ("city_without_inspector", "city model re-fitted, without inspector"),
        ("riskdraw_without_inspector", "riskdraw, without inspector"),
    ]:
        m = r[key]
        table.add_row(
            name, f"{m['days_earlier']:.2f}", f"{m['first_half_share']:.4f}", f"{m['auc']:.3f}",
            *(f"{v:.1%}" for v in m["top_share_hit_rates"].values()),
        )  # fmt: skip
    console.print(table)
    verdict = "reproduced" if r["reproduced"] else "[red]NOT reproduced[/red]"
    console.print(
        f"the city's evaluation: {verdict}; riskdraw's factors: {', '.join(r['factors'])}"
    )
