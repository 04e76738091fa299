"""The model's stages in MLflow (experiment `riskdraw-model`, or a city's own).

`TuningLog` holds a study's runs: a parent, a nested run per completed trial, and a run per
baseline tagged with the parent's id (so the compare view shows the tuned model beside the
baselines on the same measures). `log_training` logs and registers the final model;
`log_evaluation` logs the held-out round's measures against the version judged.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from riskdraw.tracking import git_commit

from .experiment import TUNED
from .registry import log_model


class TuningLog:
    """The MLflow runs of one study (a context manager around the parent run).

    Args:
        experiment: the experiment id.
        tags: tags of every run (at least `data_version`).
        run_name: the parent's name.
        params: logged on the parent.
        nested: open the parent under the active run (a city's composite run).
    """

    def __init__(
        self, experiment: str, tags: dict, run_name: str = "tune", params: dict | None = None,
        nested: bool = False,
    ) -> None:  # fmt: skip
        self.experiment, self.tags, self.run_name = experiment, tags, run_name
        self.params, self.nested = params or {}, nested
        self._baselines: list[tuple[str, list[str], dict]] = []

    def __enter__(self) -> TuningLog:
        self.run = mlflow.start_run(
            experiment_id=self.experiment, run_name=self.run_name, nested=self.nested
        )
        mlflow.set_tags(self.tags | {"role": "tuning", "git_commit": git_commit()})
        mlflow.log_params(self.params)
        return self

    @property
    def run_id(self) -> str:
        return self.run.info.run_id

    def trial(self, trial, values: dict, metrics: dict) -> None:
        """A completed trial: a run nested under the parent."""
        with mlflow.start_run(
            experiment_id=self.experiment,
            run_name=f"trial {trial.number}",
            nested=True,
            parent_run_id=self.run_id,
        ):
            mlflow.set_tags(self.tags | {"role": "trial", "study": trial.study.study_name})
            mlflow.log_params(values)
            mlflow.log_metrics(metrics)

    def baseline(self, name: str, columns: list[str], metrics: dict) -> None:
        """A baseline's validation: logged beside the parent when it closes."""
        self._baselines.append((name, columns, metrics))

    def finish(self, report: dict) -> None:
        """The study's result on the parent: the validation rounds, the best trial."""
        mlflow.set_tag("study", report["study"])
        mlflow.log_params(
            {
                "factors": ", ".join(report["factors"]),
                "validation_rounds": ", ".join(report["validation_rounds"]),
                "capacity": report["capacity"],
                "objective": report["objective"],
                "study": report["study"],
                **{f"best.{k}": v for k, v in report["best_params"].items()},
            }
        )
        mlflow.log_metrics(report["compared"][TUNED])

    def __exit__(self, *exc) -> None:
        mlflow.end_run("FAILED" if exc[0] else "FINISHED")
        for name, columns, metrics in self._baselines:
            with mlflow.start_run(experiment_id=self.experiment, run_name=name, nested=self.nested):
                mlflow.set_tags(self.tags | {"role": "baseline", "tuning_run": self.run_id})
                mlflow.log_param("columns", len(columns))
                mlflow.log_metrics(metrics)


def log_training(
    experiment: str, trained, tuned: dict, name: str, reference: pd.DataFrame | None = None
) -> tuple[str, str]:
    """The final model's run: parameters, data record, in-sample calibration error; the model
    logged and registered as a new version of `name` with alias `challenger`; `reference` (what
    `monitor` compares screenings with) stored as the run's `REFERENCE_ARTIFACT`. Returns
    (version, run id)."""
    from .metrics import calibration_error

    data = trained.data
    with mlflow.start_run(experiment_id=experiment, run_name="train") as run:
        mlflow.set_tags(
            {"role": "final", "data_version": data["data_version"], "git_commit": git_commit()}
        )
        mlflow.log_params({f"lgbm.{k}": v for k, v in tuned["best_params"].items()})
        mlflow.log_params(
            {
                "factors": ", ".join(tuned["factors"]),
                "cutoffs": ", ".join(f"{c} {v}" for c, v in trained.model.cutoffs.items()),
                **{k: v for k, v in data.items() if k != "data_version"},
            }
        )
        mlflow.log_metric(  # in sample: the map was fitted on these out-of-time scores
            "calibration_error_in_sample", calibration_error(*trained.model.model.out_of_time_)
        )
        version = log_model(trained.model, trained.rows, name, trained.card)
        if reference is not None:
            log_reference(reference)
    return version, run.info.run_id


def log_reference(reference: pd.DataFrame) -> None:
    """Store a version's monitoring reference in the active run."""
    import tempfile
    from pathlib import Path

    from riskdraw.training.reference import REFERENCE_ARTIFACT

    folder, name = REFERENCE_ARTIFACT.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=folder)
    mlflow.set_tag("monitoring_reference", REFERENCE_ARTIFACT)


def log_evaluation(
    experiment: str, metrics: dict, metrics_path: Path, plots: Path, data_version: str
) -> str:
    """The held-out round's measures, tagged with the model's name and version, the round and
    the data version; the metrics file and the plots as artifacts. Returns the run id."""
    with mlflow.start_run(experiment_id=experiment, run_name="evaluate") as run:
        mlflow.set_tags(
            {
                "role": "evaluation",
                "model_name": metrics["model_name"],
                "model_version": metrics["model_version"],
                "round": metrics["round"],
                "data_version": data_version,
                "git_commit": git_commit(),
            }
        )
        flat = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        flat |= {
            f"hit_rate_class_{c}": v
            for c, v in metrics["hit_rate_by_class"].items()
            if v is not None
        }
        mlflow.log_metrics(flat | {"promoted": int(metrics["promoted"])})
        mlflow.log_artifact(str(metrics_path))
        mlflow.log_artifacts(str(plots), "evaluation")
    return run.info.run_id
