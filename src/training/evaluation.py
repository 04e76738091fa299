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

from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.domain.risk import RISK_CLASSES, risk_class

from .metrics import (
    calibration_error,
    calibration_table,
    capacity_threshold,
    compliant_reduction,
    days_earlier,
    first_half_share,
    gains_table,
    ht_mean,
    ranking_metrics,
    top_share_hit_rates,
)

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


def scored(model, frame: pd.DataFrame, cutoffs: dict[str, float]) -> pd.DataFrame:
    """Rows of `frame` with the model's probability, ranking score and risk class."""
    p = model.predict_proba(frame)[:, 1]
    rank = model.raw_score(frame) if hasattr(model, "raw_score") else p
    return frame.assign(probability=p, rank_score=rank, risk_class=risk_class(p, cutoffs))


def evaluate_round(
    model,
    population: pd.DataFrame,
    cutoffs: dict[str, float],
    plan_ratios: dict[str, float],
    capacity: float | None = None,
    slice_min_inspections: int = 20,
) -> dict:
    """Every measure of the model on one labelled round (see the module docstring); where the
    inspections carry their dates (`inspection_date`), also the round's work re-ordered by the
    model's ranking (`reordering_measures`: days earlier, first-half share, top shares).

    Args:
        model: fitted; `predict_proba` gives calibrated probabilities, `raw_score` (if any)
            the finer ranking.
        population: the round's snapshot: every enterprise, the inspected ones labelled.
        cutoffs: class -> the probability at which it begins (B, C, D; A below B).
        plan_ratios: class -> the share of it a plan draws.
        capacity: the share of the population the inspectors visit; None: as many as the
            round's draw inspected.
        slice_min_inspections: slices with fewer inspections in classes C and D are not gated.
    """
    s = scored(model, population, cutoffs)
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


def reordering_measures(
    dates: np.ndarray, scores: np.ndarray, found: np.ndarray, shares: list[float]
) -> dict:
    """A period's work re-ordered by score (Chicago's evaluation): mean days earlier a problem
    is found, share of the problems found in the first half (re-ordered, and as done), AUC,
    and the hit rate in the top shares of the ranking."""
    found = np.asarray(found, dtype=int)
    scores = np.asarray(scores, dtype=float)
    return {
        "days_earlier": days_earlier(dates, scores, found),
        "first_half_share": first_half_share(dates, found, scores),
        "first_half_share_business_as_usual": first_half_share(dates, found),
        "auc": ranking_metrics(found, scores, np.ones(len(found)))["auc"],
        "top_share_hit_rates": top_share_hit_rates(scores, found, shares),
        "inspections": len(found),
        "problems_found": int(found.sum()),
    }
