"""The round in MLflow (experiments `riskdraw-screen` and `riskdraw-plan`), and the frontier plot.

Each run is tagged with the model name and version it used and the profile's data version, so
the model's governance review finds every screening and draw made with a version.
"""

from __future__ import annotations

from pathlib import Path

from riskdraw.tracking import file_digest, git_commit, log_stage_run, use_experiment


def _tags(result: dict) -> dict:
    return {
        "model_name": result["model_name"],
        "model_version": result["model_version"],
        "data_version": result["data_version"],
        "screening_date": result["screening_date"],
        "git_commit": git_commit(),
    }


def log_screen(result: dict, report: Path) -> str:
    """One run of the screening: class counts and expected problems. Returns the run id."""
    import mlflow

    with log_stage_run(use_experiment("screen"), "screen", file_digest(report)) as run:
        mlflow.set_tags(_tags(result))
        mlflow.log_metrics({"enterprises": result["enterprises"],
                            "expected_problems": result["expected_problems"],
                            "explained": result["explained"]})  # fmt: skip
        for c, v in result["by_class"].items():
            mlflow.log_metrics({f"enterprises_{c}": v["enterprises"],
                                f"expected_problems_{c}": v["expected_problems"]})  # fmt: skip
        mlflow.log_artifact(str(report))
        return run.info.run_id


def log_plan(result: dict, report: Path, plot: Path) -> str:
    """One run of the draw: capacity, policy, expected hit rate and reduction, per class, the
    truth's figures where known. Returns the run id."""
    import mlflow

    with log_stage_run(use_experiment("plan"), "plan", file_digest(report)) as run:
        mlflow.set_tags(_tags(result) | {"commitment": result["draw"]["commitment"],
                                         "policy": result["policy"]})  # fmt: skip
        mlflow.log_params({"capacity": result["capacity"], "policy": result["policy"],
                           "floor": result["floor"], "cap": result["cap"],
                           "public_value": result["draw"]["public_value"]})  # fmt: skip
        mlflow.log_metrics(
            {k: result[k] for k in ("visits", "expected_visits", "expected_hit_rate",
                                    "expected_compliant_reduction", "low_risk_visited_share")}
        )  # fmt: skip
        for c, v in result["by_class"].items():
            mlflow.log_metric(f"drawn_{c}", v["drawn"])
        for path in (report, plot):
            mlflow.log_artifact(str(path))
        return run.info.run_id


def log_plan_truth(result: dict, report: Path) -> str:
    """The plan judged against the simulated truth (stage `plan-evaluation`). Returns the run id."""
    import mlflow

    with log_stage_run(use_experiment("plan"), "plan-evaluation", file_digest(report)) as run:
        mlflow.set_tags(_tags(result) | {"role": "evaluation", "policy": result["policy"]})
        picks = result["picks_at_capacity"]
        metrics = {
            "plan_oracle_ratio": result["plan_oracle_ratio"],
            "true_expected_hit_rate_plan": result["expected_hit_rate_plan"],
            "true_compliant_reduction_plan": result["expected_compliant_reduction_plan"],
            "true_expected_hit_rate_picks": picks["expected_hit_rate"],
            "true_compliant_reduction_picks": picks["expected_compliant_reduction"],
            "oracle_ratio_picks": picks["oracle_ratio"],
        }
        for policy, v in result["by_policy"].items():
            metrics[f"plan_oracle_ratio_{policy}"] = v["plan_oracle_ratio"]
        mlflow.log_metrics(metrics)
        mlflow.log_artifact(str(report))
        return run.info.run_id


def frontier_figure(table, result: dict):
    """What the floor costs: expected hit rate and compliant reduction (left) and the share of
    low-risk enterprises visited (right) against the floor, the chosen plan marked (the
    backend is the caller's: Agg in the command, inline in a notebook)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(table["floor"], table["expected_hit_rate"], marker="o", label="expected hit rate")
    left.plot(table["floor"], table["compliant_reduction"], marker="s",
              label="compliant-inspection reduction")  # fmt: skip
    left.axhline(0.83, color="gray", linestyle=":", label="Foshan's 83% reduction")
    right.plot(table["floor"], table["low_risk_visited_share"], marker="o", color="tab:green")
    chosen = f"the plan ({result['policy']})"
    if result["policy"] == "optimal":
        for ax in (left, right):
            ax.axvline(result["floor"], color="tab:red", linestyle="--", label=chosen)
    else:
        floor = min(v["inclusion_probability_mean"] or 1 for v in result["by_class"].values())
        left.plot([floor], [result["expected_hit_rate"]], "r*", markersize=14, label=chosen)
        right.plot([floor], [result["low_risk_visited_share"]], "r*", markersize=14, label=chosen)
    left.set_xlabel("floor: every open enterprise's least chance of a visit")
    left.set_ylabel("expected, by the model's probabilities")
    left.set_title(f"Capacity {result['capacity']:,} visits: what a floor costs")
    left.legend(fontsize=8)
    right.set_xlabel("floor")
    right.set_ylabel("expected share of class A visited")
    right.set_title("Low-risk enterprises visited")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
