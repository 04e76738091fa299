"""The model judged on the held-out round, as the regulator would use it.

On the held-out round every open enterprise is scored; the inspectors' capacity is the share
of them the round's draw visited. From that round's draw (each inspection weighted by the
inverse of its inclusion probability) this module estimates: the hit rate of the random draw;
the hit rate if the inspectors had visited the model's highest-ranked enterprises instead; the
hit rate of each risk class and of a plan that draws each class at its ratio; the share of
visits to law-abiding enterprises such a plan saves; AUC, PR-AUC, Brier and calibration; and
all of it per slice (district, industry section, entity type).

In a simulated city, `oracle_ratios` compares the model's picks with the picks of the best
probabilities knowable from the records, from the simulator's truth: evaluation code only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES, risk_class

from .metrics import (
    calibration_error,
    calibration_table,
    capacity_threshold,
    compliant_reduction,
    gains_table,
    ht_mean,
    ranking_metrics,
    reordering_measures,
    weighted_wilson_interval,
)
from .rounds import RoundSplit, population
from .scoring import SCORES, ScoringModel, score

TOP_SHARES = [0.05, 0.10, 0.20]
"""The top shares of a ranking whose hit rates are reported beside the re-ordering measures."""
SLICES = {"district": "district_", "industry": "industry_", "entity_type": "type_"}
"""Slice -> the prefix of its one-hot attributes in the profile."""


def slice_labels(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """The category of each row from its one-hot attributes `<prefix><category>` ("unknown"
    where none is set)."""
    columns = [c for c in frame.columns if c.startswith(prefix)]
    if not columns:
        return pd.Series("unknown", index=frame.index)
    onehot = frame[columns].fillna(0).to_numpy()
    labels = np.array([c.removeprefix(prefix) for c in columns], dtype=object)
    return pd.Series(
        np.where(onehot.max(axis=1) > 0, labels[onehot.argmax(axis=1)], "unknown"),
        index=frame.index,
    )


def scored(model: ScoringModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of `frame` with the one scoring function's probability, ranking score and risk
    class beside them."""
    scores = score(model, frame)
    return frame.reset_index(drop=True).assign(**{c: scores[c] for c in SCORES})


def evaluate_round(
    model: ScoringModel,
    population: pd.DataFrame,
    plan_ratios: dict[str, float],
    capacity: float | None = None,
    slice_min_inspections: int = 20,
) -> dict:
    """Every measure of the model on one labelled round (see the module docstring); where the
    inspections carry their dates (`inspection_date`), also the round's work re-ordered by the
    model's ranking (`reordering_measures`: days earlier, first-half share, top shares).

    Args:
        model: the scoring model (its classes are its own cut-offs).
        population: the round's snapshot: every enterprise, the inspected ones labelled.
        plan_ratios: class -> the share of it a plan draws.
        capacity: the share of the population the inspectors visit; None: as many as the
            round's draw inspected.
        slice_min_inspections: slices with fewer inspections in classes C and D are not gated.
    """
    s = scored(model, population)
    insp = s[s["inspected"].astype(bool)]
    y = insp["problem"].to_numpy(dtype=int)
    pi = insp["inclusion_probability"].to_numpy(dtype=float)
    capacity = capacity if capacity is not None else len(insp) / len(s)
    threshold = capacity_threshold(s["rank_score"].to_numpy(), capacity)
    picked = insp["rank_score"].to_numpy() >= threshold
    random_rate = ht_mean(y, pi)
    by_class, sizes = {}, {}
    for c in RISK_CLASSES:
        in_class = insp["risk_class"].to_numpy() == c
        by_class[c] = ht_mean(y[in_class], pi[in_class]) if in_class.any() else None
        sizes[c] = int((s["risk_class"] == c).sum())
    draws = {c: plan_ratios[c] * sizes[c] for c in RISK_CLASSES}
    known = [c for c in RISK_CLASSES if by_class[c] is not None and draws[c] > 0]
    volume = sum(draws[c] for c in known)
    plan = sum(draws[c] * by_class[c] for c in known) / volume if volume else float("nan")
    out = {
        "enterprises": len(s),
        "inspections": len(insp),
        "capacity": capacity,
        "hit_rate_random": random_rate,
        "hit_rate_model": ht_mean(y[picked], pi[picked]),
        "model_picks_inspected": int(picked.sum()),
        "hit_rate_by_class": by_class,
        "class_sizes": sizes,
        "inspections_by_class": {c: int((insp["risk_class"] == c).sum()) for c in RISK_CLASSES},
        "plan_ratios": dict(plan_ratios),
        "plan_draws_by_class": {c: round(draws[c], 1) for c in RISK_CLASSES},
        "hit_rate_plan": plan,
        "compliant_reduction": compliant_reduction(plan, random_rate),
        "compliant_reduction_at_capacity": compliant_reduction(
            ht_mean(y[picked], pi[picked]), random_rate
        ),
        "calibration_error": calibration_error(y, insp["probability"].to_numpy(), 1 / pi),
        **ranking_metrics(y, insp["probability"].to_numpy(), 1 / pi),
    }
    if "inspection_date" in insp.columns:  # a city whose inspections carry their dates
        out |= {
            k: v
            for k, v in reordering_measures(
                insp["inspection_date"].to_numpy(), insp["rank_score"].to_numpy(), y, TOP_SHARES
            ).items()
            if k not in ("auc", "inspections", "problems_found")
        }
    out["slices"] = slice_table(s, threshold, slice_min_inspections)
    out["tables"] = {
        "calibration": calibration_table(y, insp["probability"].to_numpy(), 1 / pi),
        "gains": gains_table(s["rank_score"].to_numpy(), insp["rank_score"].to_numpy(), y, pi),
    }
    out["scored"] = s
    return out


def slice_table(s: pd.DataFrame, threshold: float, min_inspections: int) -> pd.DataFrame:
    """Per slice value: enterprises, the share the model would visit at capacity (selection
    rate) and the hit rate of its inspected picks there; the hit rate of the inspected in the
    high classes C and D, the ones a plan draws most (none under `min_inspections`:
    these are what the slice gate checks); and the slice's random-draw hit rate."""
    rows = []
    insp_mask = s["inspected"].astype(bool).to_numpy()
    chosen = s["rank_score"].to_numpy() >= threshold
    high = s["risk_class"].isin(["C", "D"]).to_numpy()
    y, pi = s["problem"].to_numpy(), s["inclusion_probability"].to_numpy()
    for name, prefix in SLICES.items():
        labels = slice_labels(s, prefix).to_numpy()
        for value in sorted(set(labels)):
            here = labels == value
            sub = here & insp_mask
            hit, targeted = sub & chosen, sub & high
            rows.append(
                {
                    "slice": name,
                    "value": value,
                    "enterprises": int(here.sum()),
                    "selection_rate": float(chosen[here].mean()),
                    "inspections": int(sub.sum()),
                    "picked_inspections": int(hit.sum()),
                    "hit_rate_model": ht_mean(y[hit], pi[hit]) if hit.any() else None,
                    "targeted_inspections": int(targeted.sum()),
                    "hit_rate_targeted": (
                        ht_mean(y[targeted], pi[targeted])
                        if targeted.sum() >= min_inspections
                        else None
                    ),
                    "hit_rate_random": ht_mean(y[sub], pi[sub]) if sub.any() else None,
                }
            )
    return pd.DataFrame(rows)


def oracle_ratios(
    scored_population: pd.DataFrame,
    truth: pd.DataFrame,
    capacity: float,
    cutoffs: dict[str, float],
    plan_ratios: dict[str, float],
) -> dict:
    """The model's picks against the best picks knowable (simulated city only).

    Args:
        scored_population: `scored()` rows of the round (entity_id, rank_score, risk_class).
        truth: per entity_id of the round, `p_known` (the best probability the records allow)
            and `p_full` (with the latent risk no record shows).
        capacity: the share of the population picked.
        cutoffs: the class cut-offs (for the oracle's own classes, cut on `p_known`).
        plan_ratios: class -> the share of it a plan draws.

    Returns:
        `oracle_ratio`: expected hit rate (mean true probability) of the model's picks over
        that of the same number picked by `p_known`; `oracle_ratio_full`: over picks by
        `p_full`; the three expected hit rates; and the plan's expected hit rate and
        compliant-inspection reduction with the model's classes and with the oracle's.
    """
    frame = scored_population[["entity_id", "rank_score", "risk_class"]].merge(
        truth[["entity_id", "p_known", "p_full"]], on="entity_id", how="inner"
    )
    k = max(1, round(capacity * len(frame)))
    expected = frame["p_full"].to_numpy()

    def top(column: str) -> float:
        order = np.argsort(-frame[column].to_numpy(), kind="stable")[:k]
        return float(expected[order].mean())

    def plan(classes: np.ndarray) -> float:
        w = pd.Series(classes).map(plan_ratios).to_numpy(dtype=float)
        return float((w * expected).sum() / w.sum())

    model, known, full = top("rank_score"), top("p_known"), top("p_full")
    by_class = frame.groupby("risk_class")["p_full"].mean()
    plan_model = plan(frame["risk_class"].to_numpy())
    plan_oracle = plan(risk_class(frame["p_known"].to_numpy(), cutoffs))
    return {
        "oracle_ratio": model / known,
        "oracle_ratio_full": model / full,
        "expected_hit_rate_random": float(expected.mean()),
        "expected_hit_rate_model": model,
        "expected_hit_rate_oracle": known,
        "expected_hit_rate_full_oracle": full,
        "expected_hit_rate_by_class": {
            c: (float(by_class[c]) if c in by_class else None) for c in RISK_CLASSES
        },
        "expected_hit_rate_plan": plan_model,
        "expected_compliant_reduction": compliant_reduction(plan_model, float(expected.mean())),
        "expected_hit_rate_plan_oracle": plan_oracle,
        "expected_compliant_reduction_oracle": compliant_reduction(
            plan_oracle, float(expected.mean())
        ),
        "matched_enterprises": len(frame),
    }


def truth_round(truth: Path, as_of: str) -> int:
    """The simulated round whose as-of date is `as_of` (a planned round of `simulate-rounds`),
    or 0, the screening date's truth (evaluation code only)."""
    p = pd.read_parquet(Path(truth) / "probabilities.parquet", columns=["round", "as_of_date"])
    hit = p.loc[p["as_of_date"] == pd.Timestamp(as_of), "round"]
    return int(hit.iloc[0]) if len(hit) else 0


def simulated_truth(truth: Path, entities: Path, round_number: int) -> pd.DataFrame:
    """The simulator's probabilities of one round (1 = the first labelled round) per
    entity_id, matched on the credit code (evaluation code only).

    Args:
        truth: the simulated city's truth folder.
        entities: resolve's `entities.parquet`.
        round_number: the round's position among the city's rounds.
    """
    truth = Path(truth)
    uid = pd.read_parquet(truth / "entities.parquet", columns=["entity_uid", "credit_code"])
    ours = pd.read_parquet(entities, columns=["entity_id", "credit_code"])
    p = pd.read_parquet(truth / "probabilities.parquet")
    p = p[p["round"] == round_number][["entity_uid", "p_known", "p_full"]]
    return ours.merge(uid, on="credit_code").merge(p, on="entity_uid")[
        ["entity_id", "p_known", "p_full"]
    ]


def promotion_gates(
    result: dict,
    slices: pd.DataFrame,
    champion_rate: float | None,
    champion_version: str | None,
    bounds,
) -> dict[str, dict]:
    """What a challenger must show on the held-out round to become champion, each gate with
    whether it passed and the figures it rests on.

    Args:
        result: `evaluate_round()`'s measures of the challenger.
        slices: its slice table; slices with a targeted hit rate (enough inspections in the
            high classes) are gated.
        champion_rate: the current champion's hit rate at capacity on the same round (None:
            no champion, or the challenger is the champion).
        champion_version: the current champion's version, for the record.
        bounds: `max_calibration_error`, `slice_floor` (the `evaluate.gates` params).
    """
    gated = slices[slices["hit_rate_targeted"].notna()]
    weakest = gated.loc[gated["hit_rate_targeted"].idxmin()] if len(gated) else None
    return {
        "beats_random": {
            "passed": bool(result["hit_rate_model"] > result["hit_rate_random"]),
            "detail": {"model": result["hit_rate_model"], "random": result["hit_rate_random"]},
        },
        "beats_champion": {
            "passed": bool(champion_rate is None or result["hit_rate_model"] >= champion_rate),
            "detail": {"champion_version": champion_version, "champion": champion_rate},
        },
        "calibration": {
            "passed": bool(result["calibration_error"] <= bounds.max_calibration_error),
            "detail": {"error": result["calibration_error"], "bound": bounds.max_calibration_error},
        },
        "slices": {
            "passed": bool(weakest is None or weakest["hit_rate_targeted"] >= bounds.slice_floor),
            "detail": {
                "gated_slices": len(gated),
                "weakest": None if weakest is None else f"{weakest['slice']}={weakest['value']}",
                "weakest_hit_rate": None if weakest is None else weakest["hit_rate_targeted"],
                "floor": bounds.slice_floor,
            },
        },
    }


def evaluation_figures(tables: dict[str, pd.DataFrame]) -> dict:
    """The held-out round's calibration and gains plots (Matplotlib figures, by name) from
    `evaluate_round`'s tables."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cal, gains = tables["calibration"], tables["gains"]
    figures = {}
    for name, x, y, diagonal, xlabel, ylabel, title, size in (
        ("calibration", cal["predicted"], cal["observed"], "perfect", "predicted probability",
         "share found with a problem", "Calibration on the held-out round", (5, 5)),
        ("gains", gains["share_visited"], gains["share_of_problems_found"], "random draw",
         "share of enterprises visited (highest risk first)", "share of the problems found",
         "Gains on the held-out round", (6, 5)),
    ):  # fmt: skip
        fig, ax = plt.subplots(figsize=size)
        ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label=diagonal)
        ax.plot(x, y, marker="o", label="model")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        figures[name] = fig
    return figures


@dataclass(frozen=True)
class Evaluation:
    """What `run_evaluate` measured: the metrics (`reports/metrics.json`), the tables behind
    the plots, the slices and the gates."""

    metrics: dict
    tables: dict[str, pd.DataFrame]
    slices: pd.DataFrame
    gates: dict[str, dict]


def run_evaluate(
    settings,
    frame: pd.DataFrame,
    holdout_rounds: int,
    model: ScoringModel,
    champion: tuple[ScoringModel, str] | None,
    truth: tuple[Path, Path] | None = None,
) -> Evaluation:
    """The `evaluate` stage's measures and gates on the first held-out round.

    Args:
        settings: the `evaluate` section (`EvaluateParams`).
        frame: the profile's round snapshots.
        holdout_rounds: how many of the last rounds are held out.
        model: the version judged (the one `train` recorded).
        champion: the current champion and its version, if another version (for the
            `beats_champion` gate).
        truth: simulated city only: (the truth folder, resolve's `entities.parquet`), for the
            oracle ratios. Evaluation code is the only reader of the truth.
    """
    split = RoundSplit.of(frame, holdout_rounds)
    held = split.holdout[0]
    pop = population(frame, held)
    args = (settings.plan_ratios, settings.capacity, settings.gates.slice_min_inspections)
    result = evaluate_round(model, pop, *args)
    out = {k: v for k, v in result.items() if k not in ("slices", "tables", "scored")}
    out |= {"round": str(held.date()), "cutoffs": dict(model.cutoffs)}
    if truth is not None:
        number = sorted(frame["as_of_date"].unique()).index(held) + 1
        out |= oracle_ratios(
            result["scored"],
            simulated_truth(truth[0], truth[1], number),
            result["capacity"],
            model.cutoffs,
            settings.plan_ratios,
        )
    rival, rival_version = champion or (None, None)
    rival_rate = None if rival is None else evaluate_round(rival, pop, *args)["hit_rate_model"]
    return Evaluation(
        metrics=out,
        tables=result["tables"],
        slices=result["slices"],
        gates=promotion_gates(out, result["slices"], rival_rate, rival_version, settings.gates),
    )


def loop_round(
    visited: pd.DataFrame,
    frame: pd.DataFrame,
    plan: dict,
    plan_truth: dict,
    results: dict,
    weighting: str,
    drawn_status: str = "drawn",
) -> dict:
    """One round of the rounds loop judged when its results are back (`simulate-rounds`).

    Args:
        visited: the round's accepted results: `risk_class` (the plan's), `probability` (the
            model's when it planned), `inclusion_probability` and `problem`.
        frame: every enterprise the plan could visit: `risk_class`, `probability`,
            `inclusion_probability`, `in_draw` (not visited outside the draw), and the
            simulated truth's `violates` (evaluation only).
        plan, plan_truth, results: the round's plan.json, plan-truth.json and results.json.
        weighting: the arm's `train.weighting`; `none` also takes the plain share of the
            visits as its estimate of the violation rate, as an analysis blind to the draw's
            probabilities would.
        drawn_status: the status of the drawn visits in `results["by_status"]` (the others
            came outside the draw).

    Returns the round's figures: by the plan's class, the hit rate of the drawn visits
    observed, expected by the plan (the model's probabilities weighted by the inclusion
    probabilities) and expected by the truth (the truth weighted alike); the plan's hit
    rate observed and expected; calibration: the error of the model's probabilities on the
    results (weighted by 1 / inclusion probability) and the model's mean probability over the
    frame less the truth's rate; the oracle and plan oracle ratios; both estimates of the
    violation rate with their 95% intervals, against the truth.
    """
    y = visited["problem"].to_numpy(dtype=int)
    pi = visited["inclusion_probability"].to_numpy(dtype=float)
    p = visited["probability"].to_numpy(dtype=float)
    truth_rate = float(frame["violates"].mean())
    predicted_rate = float(frame["probability"].mean())
    rate = results["violation_rate"]
    plain = float(y.mean())
    plain_ci = list(weighted_wilson_interval(y, np.ones(len(y))))  # every visit alike
    estimate, ci = (rate["estimate"], rate["ci95"]) if weighting != "none" else (plain, plain_ci)
    drawn = results["by_status"].get(drawn_status, {})
    is_drawn = (visited["status"] == drawn_status).to_numpy()
    classes = visited["risk_class"].to_numpy()

    def by_class(values) -> dict:
        return {c: values(c) for c in RISK_CLASSES}

    def observed(c):
        found = y[is_drawn & (classes == c)]
        return float(found.mean()) if len(found) else None

    def expected(c):
        return plan["by_class"].get(c, {}).get("expected_hit_rate")

    def true(c):
        draw = frame[frame["risk_class"] == c]
        weight = draw["inclusion_probability"].to_numpy(dtype=float) * draw["in_draw"]
        if not weight.sum():
            return None
        return float(weight @ draw["violates"].to_numpy(dtype=float) / weight.sum())

    return {
        "weighting": weighting,
        "visits": len(visited),
        "drawn_visits": drawn.get("visits", 0),
        "drawn_visits_by_class": by_class(lambda c: int((is_drawn & (classes == c)).sum())),
        "hit_rate_by_class_observed": by_class(observed),
        "hit_rate_by_class_expected": by_class(expected),
        "hit_rate_by_class_truth": by_class(true),
        "hit_rate_plan_observed": drawn.get("hit_rate"),
        "hit_rate_plan_expected": plan["expected_hit_rate"],
        "calibration_error": calibration_error(y, p, 1 / pi),
        # The model's expected violation rate among the enterprises the plan could visit
        # against the truth's: what a model that learns its own targeting gets wrong first.
        "predicted_rate": predicted_rate,
        "calibration_in_the_large": predicted_rate - truth_rate,
        **ranking_metrics(y, p, 1 / pi),
        "oracle_ratio": plan_truth["picks_at_capacity"]["oracle_ratio"],
        "plan_oracle_ratio": plan_truth["plan_oracle_ratio"],
        "violation_rate_truth": truth_rate,
        "violation_rate_estimate": estimate,
        "violation_rate_ci95": ci,
        "violation_rate_covered": bool(ci[0] <= truth_rate <= ci[1]),
        "violation_rate_weighted": rate["estimate"],
        "violation_rate_weighted_ci95": rate["ci95"],
        "violation_rate_effective_size": rate["effective_size"],
        "violation_rate_plain": plain,
        "violation_rate_plain_ci95": plain_ci,
    }
