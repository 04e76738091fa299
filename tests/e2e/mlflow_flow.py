"""The e2e test's check of a project's MLflow store, run in a process of its own:
`python -m tests.e2e.mlflow_flow PROJECT` (with MLFLOW_TRACKING_URI pointing at its store)."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow


def check(project: Path) -> None:
    """Every stage's run of `project`, with its key figures, in the store MLFLOW_TRACKING_URI
    names."""
    assert str(project) in mlflow.get_tracking_uri(), "not the project's store"
    runs = {
        name.removeprefix("riskdraw-"): mlflow.search_runs(experiment_names=[name])
        for name in ("riskdraw-simulate", "riskdraw-ingest", "riskdraw-resolve",
                     "riskdraw-select", "riskdraw-model", "riskdraw-screen", "riskdraw-plan")
    }  # fmt: skip

    def one(experiment: str, column: str, value: str):
        found = runs[experiment][runs[experiment][column] == value]
        assert len(found), f"riskdraw-{experiment}: no run with {column} = {value}"
        return found.iloc[0]

    assert one("simulate", "tags.stage", "simulate")["metrics.random_hit_rate"] > 0
    ingest = one("ingest", "tags.stage", "ingest")
    assert ingest["metrics.records_in"] > 0 and ingest["metrics.source.S001.records_in"] > 0
    assert one("resolve", "tags.stage", "resolve")["metrics.linked"] > 0
    assert one("resolve", "tags.stage", "resolution")["metrics.precision"] > 0.9
    select = runs["select"][runs["select"]["tags.stage"] == "select"]
    assert len(select) == 1  # the simulated city's (Chicago's stages are tested on their own)
    for parent in select["run_id"]:
        children = runs["select"][runs["select"]["tags.mlflow.parentRunId"] == parent]
        assert set(children["params.method"]) == {"iv", "gbm", "l1", "perm", "consensus"}
    assert (
        one("select", "tags.stage", "selection-evaluation")["metrics.true_drivers_recovered"] >= 0
    )
    model = runs["model"]
    for role in ("tuning", "trial", "baseline", "final", "evaluation"):
        assert (model["tags.role"] == role).any(), role
    evaluated = model[model["tags.role"] == "evaluation"]
    assert set(evaluated["tags.model_name"]) == {"riskdraw-risk"}
    assert evaluated["metrics.hit_rate_model"].notna().all()
    screened = one("screen", "tags.stage", "screen")
    assert screened["metrics.enterprises"] > 0 and screened["tags.model_version"]
    assert one("plan", "tags.stage", "plan")["metrics.visits"] > 0
    assert one("plan", "tags.stage", "plan-evaluation")["metrics.plan_oracle_ratio"] > 0


if __name__ == "__main__":
    check(Path(sys.argv[1]))
    print("the whole flow is in MLflow")
