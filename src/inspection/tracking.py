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


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def rounds_markdown(result: dict) -> str:
    """The rounds loop as Markdown: one table per arm, a row per round (`simulate-rounds`)."""
    gate = result["gate_max_calibration_error"]
    lines = [
        f"Rounds after the reform in a simulated city of {result['entities']:,} enterprises, "
        "each drawn by the plan on the model retrained with every round's results so far. By "
        "the plan's class, the hit rate of the drawn visits: observed / expected by the plan "
        "(the model's probabilities weighted by the inclusion probabilities) / expected by the "
        "simulated truth (weighted alike). Calibration: the error of the model's "
        "probabilities on the round's results (weighted by 1 / inclusion probability) and the "
        "model's mean "
        "probability over the enterprises the plan could visit less the truth's rate, both "
        f"against the gate {gate:.2f} (✗ beyond it). The violation rate among those "
        "enterprises: the arm's estimate and its 95% interval (✗: the truth outside it).",
        "",
    ]
    for arm, rows in result["arms"].items():
        lines += [
            f"**{arm}** (`train.weighting: {rows[0]['weighting']}`)",
            "",
            "| round | as of | visits | A obs / exp / true | B | C | D | plan obs / exp "
            "| calibration error / in the large | oracle | plan oracle | estimate (95%) | truth |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            by_class = [
                " / ".join(
                    _pct(r[f"hit_rate_by_class_{k}"][c]) for k in ("observed", "expected", "truth")
                )
                for c in "ABCD"
            ]
            low, high = r["violation_rate_ci95"]
            error, large = r["calibration_error"], r["calibration_in_the_large"]
            lines.append(
                f"| {r['round']} | {r['as_of_date']} | {r['visits']:,} | {' | '.join(by_class)} "
                f"| {_pct(r['hit_rate_plan_observed'])} / {_pct(r['hit_rate_plan_expected'])} "
                f"| {error:.3f}{'' if error <= gate else ' ✗'} / {large:+.3f}"
                f"{'' if abs(large) <= gate else ' ✗'} "
                f"| {r['oracle_ratio']:.3f} | {r['plan_oracle_ratio']:.3f} "
                f"| {_pct(r['violation_rate_estimate'])} ({_pct(low)}-{_pct(high)})"
                f"{'' if r['violation_rate_covered'] else ' ✗'} "
                f"| {_pct(r['violation_rate_truth'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def rounds_figure(result: dict):
    """Each arm's estimate of the violation rate with its interval against the truth, round by
    round, and the calibration error against the gate (a Matplotlib figure; the backend is
    the caller's: Agg in the command, inline in a notebook)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (arm, rows) in enumerate(result["arms"].items()):
        x = [r["round"] + (i - 0.5) * 0.15 for r in rows]
        est = [r["violation_rate_estimate"] for r in rows]
        low = [e - r["violation_rate_ci95"][0] for e, r in zip(est, rows, strict=True)]
        high = [r["violation_rate_ci95"][1] - e for e, r in zip(est, rows, strict=True)]
        left.errorbar(x, est, yerr=[low, high], fmt="o", capsize=4, label=f"{arm}: estimate")
        line = right.plot(
            [r["round"] for r in rows],
            [r["calibration_error"] for r in rows],
            "o-",
            label=f"{arm}: error on the results",
        )
        right.plot(
            [r["round"] for r in rows],
            [abs(r["calibration_in_the_large"]) for r in rows],
            "s--",
            color=line[0].get_color(),
            label=f"{arm}: |mean probability - truth|",
        )
    first = next(iter(result["arms"].values()))
    left.plot(
        [r["round"] for r in first],
        [r["violation_rate_truth"] for r in first],
        "k_",
        markersize=22,
        label="truth",
    )
    left.set(
        xlabel="round after the reform",
        ylabel="violation rate",
        title="the city's violation rate: estimate (95%) and truth",
    )
    right.axhline(result["gate_max_calibration_error"], color="grey", linestyle="--", label="gate")
    right.set(
        xlabel="round after the reform",
        ylabel="calibration error",
        title="calibration on each round's results",
    )
    for ax in (left, right):
        ax.set_xticks([r["round"] for r in first])
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


ROUND_METRICS = (
    "calibration_error",
    "calibration_in_the_large",
    "oracle_ratio",
    "plan_oracle_ratio",
    "violation_rate_truth",
    "violation_rate_estimate",
    "violation_rate_plain",
    "predicted_rate",
)
"""The figures of each round of `simulate-rounds` logged to MLflow."""


def log_rounds(result: dict, artifacts: list[Path]) -> None:
    """One MLflow run per arm of the rounds loop (experiment riskdraw-rounds), each round's
    figures as metrics at its step."""
    import mlflow

    experiment = use_experiment("rounds")
    for arm, rows in result["arms"].items():
        with mlflow.start_run(experiment_id=experiment, run_name=f"rounds-{arm}"):
            mlflow.set_tags(
                {
                    "stage": "simulate-rounds",
                    "arm": arm,
                    "weighting": rows[0]["weighting"],
                    "git_commit": git_commit(),
                }
            )
            mlflow.log_params({"entities": result["entities"], "rounds": len(rows)})
            for r in rows:
                mlflow.log_metrics(
                    {k: float(r[k]) for k in ROUND_METRICS}
                    | {"violation_rate_covered": float(r["violation_rate_covered"])},
                    step=r["round"],
                )
            for path in artifacts:
                mlflow.log_artifact(str(path))
