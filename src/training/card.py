"""The model card stored with every registered version: what a governance review reads first."""

from __future__ import annotations


def model_card(
    name: str, factors: list[str], tuned: dict, data: dict, cutoffs: dict[str, float]
) -> str:
    """A Markdown model card: intended use, data, factors, parameters, validation, limitations.

    Args:
        name: the registered model's name.
        factors: the factors it reads, in order.
        tuned: tune's report (best parameters, validation metrics, baselines).
        data: the data version and the rounds it was fitted and calibrated on.
        cutoffs: the risk classes registered with it (class -> probability it begins at).
    """
    best = tuned["compared"]["LightGBM tuned (best trial)"]
    lines = [
        f"# Model card: {name}",
        "",
        "## Intended use",
        "",
        "Ranks the open enterprises of a city by the probability that an inspection finds a "
        "problem, and sorts them into the credit-risk classes A-D that set each class's "
        "sampling ratio in the risk-differentiated double-random draw. It decides how often an "
        "enterprise is drawn, never whether: every enterprise keeps a chance of being drawn, "
        "and the inspection, not the score, establishes a violation. Not for penalties, "
        "licensing decisions or any use about a person.",
        "",
        "## Data",
        "",
        f"- data version (profile digest): `{data['data_version']}`",
        f"- fitted on {data['fit_rows']:,} inspections of rounds {', '.join(data['fit_rounds'])}",
        f"- calibrated (isotonic) on {data['calibration_rows']:,} inspections of rounds "
        f"{', '.join(data['calibration_rounds'])}, each scored by a model fitted on the rounds "
        "before it",
        f"- held out for evaluation: {', '.join(data['held_out_rounds'])} (never read in training)",
        "- inspections weighted by the inverse of their inclusion probability in the draw",
        "",
        "## Factors",
        "",
        *[f"{i}. `{f}`" for i, f in enumerate(factors, 1)],
        "",
        "## Risk classes",
        "",
        "Registered with this version (its scores are classed by them wherever it is used): "
        + ", ".join(f"{c} from {cutoffs[c]:.0%}" for c in ("B", "C", "D"))
        + f"; A below {cutoffs['B']:.0%}.",
        "",
        "## Model",
        "",
        "LightGBM, parameters tuned by Optuna (TPE) on the hit rate at capacity over rolling "
        "validation rounds:",
        "",
        *[f"- `{k}`: {v}" for k, v in sorted(tuned["best_params"].items())],
        "",
        "## Validation (mean over the validation rounds "
        f"{', '.join(tuned['validation_rounds'])}; capacity {tuned['capacity']:.0%})",
        "",
        "| model | hit rate at capacity | AUC | PR-AUC | Brier | log-loss |",
        "|---|---|---|---|---|---|",
        *[
            f"| {m} | {v['val_hit_rate_at_capacity']:.1%} | {v['val_auc']:.3f} | "
            f"{v['val_pr_auc']:.3f} | {v['val_brier']:.3f} | {v['val_log_loss']:.3f} |"
            for m, v in tuned["compared"].items()
        ],
        "",
        "The held-out round's figures, the slices and the promotion gates are recorded on this "
        "version by `riskdraw evaluate` (tags `gate.*`).",
        "",
        "## Limitations",
        "",
        "- It learns from what past draws found: problems inspectors do not look for stay "
        "invisible to it.",
        "- The hit rate at capacity rests on the few inspected enterprises among each round's "
        "highest-ranked; read it with the number of inspections behind it.",
        "- Risk no record shows (the latent part) is beyond any model: the oracle ratio says how "
        "close it comes to the best the records allow.",
        "- A targeted draw changes who is inspected next; training and evaluation weight "
        "inspections by inverse inclusion probabilities so the model does not learn its own "
        "targeting.",
        f"- Best trial's validation hit rate: {best['val_hit_rate_at_capacity']:.1%}; a tuned "
        "score is optimistic for the rounds it was tuned on.",
        "",
    ]
    return "\n".join(lines)
