"""The monitor's Evidently reports and the checks read back from their tests.

Three reports, each an Evidently 0.7 `Report` with tests whose thresholds come from params.yaml
`monitor`:

- **model**: the screening snapshot against the version's reference on the model's factors and
  its scores. Data quality (missing values, values outside what the attribute can take),
  drift of each factor, drift of the predicted probability and each class's share.
- **families**: drift of every attribute of the profile, on a sample, read family by family
  (a family drifts when a share of its attributes does: a warning, not a failure).
- **performance** (once a round's results are recorded): per class, per district and overall,
  the observed share of visits that found a problem against the model's probability for the
  same visits, within `z` standard errors of a binomial.

Each test becomes a `Check` (group, subject, status, value, the rule in words); a check that
fails names what it saw. New categories (a district or code the reference never saw) are
read from the columns, not from a test.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from riskdraw.errors import DATA, UserError

RISK_CLASSES = ("A", "B", "C", "D")
GROUPS = (
    "source", "data_quality", "factor_drift", "family_drift", "prediction_drift", "performance"
)  # fmt: skip
"""The kinds of check, in the order a reader takes them (a source's fault explains the rest)."""


class MonitorError(UserError):
    """Inputs the monitor cannot compare as they are (exit status 3)."""

    exit_code = DATA


@dataclass(frozen=True)
class Check:
    """One monitoring check.

    Attributes:
        group: one of `GROUPS`.
        subject: what was checked (a factor, a family, a class, a source).
        status: pass, warn, fail, or skipped (too little to judge).
        value: what was measured (a drift score, a share, a difference), or None.
        rule: the threshold in words ("drift score < 0.1").
        detail: what was seen, in plain words.
    """

    group: str
    subject: str
    status: str
    value: float | None
    rule: str
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def _dataset(frame: pd.DataFrame, numerical: list[str], categorical: list[str]):
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    return Dataset.from_pandas(frame[numerical + categorical], data_definition=definition)


def _run_options(report: str, about: dict | None) -> dict:
    """Name, tags and metadata of a report's snapshot (what the workspace's UI lists)."""
    about = {k: str(v) for k, v in (about or {}).items()}
    return {"name": f"riskdraw {report}", "tags": [report], "metadata": about | {"report": report}}


def _tests_by_metric(snapshot) -> dict[str, list[dict]]:
    """metric id -> the results of the tests bound to it."""
    out: dict[str, list[dict]] = {}
    for test in snapshot.dict()["tests"]:
        out.setdefault(test["metric_config"]["metric_id"], []).append(test)
    return out


def _values(snapshot) -> dict[str, object]:
    return {m["id"]: m["value"] for m in snapshot.dict()["metrics"]}


def _passed(tests: list[dict]) -> bool:
    return all(t["status"] in ("SUCCESS", "WARNING") for t in tests)


def _share(value) -> float:
    """A count metric's share (Evidently gives {"count", "share"})."""
    return float(value["share"]) if isinstance(value, dict) else float(value)


def model_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    factors: list[str],
    bounds: dict[str, tuple[float, float]],
    settings,
    tolerance: dict[str, float] | None = None,
    about: dict | None = None,
):
    """The model report: data quality and drift of the factors, drift of the scores.

    Args:
        reference: the version's reference (factors, `probability`, `risk_class`).
        current: the screening snapshot scored (the same columns).
        factors: the model's factors.
        bounds: factor -> (lowest, highest) value it can take.
        settings: the `monitor` section (`MonitorParams`).
        tolerance: factor -> the drift the version was validated across (`tolerances`): a
            factor drifts at the larger of it and `drift.threshold`.
        about: metadata of the snapshot (model version, screening date).

    Returns:
        (the Evidently snapshot, the checks).
    """
    from evidently import Report
    from evidently.metrics import (
        CategoryCount,
        MaxValue,
        MinValue,
        MissingValueCount,
        OutRangeValueCount,
        ValueDrift,
    )
    from evidently.tests import gte, lte

    q, d, p = settings.quality, settings.drift, settings.prediction
    ref_shares = reference["risk_class"].value_counts(normalize=True)
    plan: list[tuple[str, str, object, str]] = []  # (group, subject, metric, rule)
    skipped: list[Check] = []
    for f in factors:
        lo, hi = bounds.get(f, (-math.inf, math.inf))
        # An empty value is "none on record" (a share with nothing to divide): what may not
        # happen is more of them than the city the model learnt from had.
        most = min(1.0, float(reference[f].isna().mean()) + q.max_missing_increase)
        missing = MissingValueCount(column=f, share_tests=[lte(most)])
        plan.append(("data_quality", f"{f}: missing", missing, f"share empty <= {most:.1%}"))
        if min(reference[f].notna().sum(), current[f].notna().sum()) < d.min_values:
            skipped.append(
                Check(
                    "factor_drift",
                    f,
                    "skipped",
                    None,
                    f"at least {d.min_values} values on each side",
                    "too few values to compare (a share with nothing to divide)",
                )
            )
            continue
        if math.isfinite(lo) and math.isfinite(hi):
            out = OutRangeValueCount(column=f, left=lo, right=hi,
                                     share_tests=[lte(q.max_out_of_range_share)])  # fmt: skip
            plan.append(("data_quality", f"{f}: range", out, f"within [{lo:g}, {hi:g}]"))
        elif math.isfinite(lo):
            plan.append(("data_quality", f"{f}: range", MinValue(column=f, tests=[gte(lo)]),
                         f"lowest value >= {lo:g}"))  # fmt: skip
        else:
            plan.append(("data_quality", f"{f}: range", MaxValue(column=f), "finite"))
        limit = (
            max(d.threshold, (tolerance or {}).get(f, 0.0))
            if d.method == "wasserstein"
            else d.threshold
        )
        drift = ValueDrift(column=f, method=d.method, threshold=limit)
        validated = " (the drift the model was validated across)" * (limit > d.threshold)
        plan.append(("factor_drift", f, drift, f"{d.method} < {limit:.3g}{validated}"))
    drift = ValueDrift(column="probability", method=p.method, threshold=p.threshold)
    plan.append(("prediction_drift", "probability", drift, f"{p.method} < {p.threshold:g}"))
    for c in RISK_CLASSES:
        was = float(ref_shares.get(c, 0.0))
        lo, hi = max(0.0, was - p.class_share_change), min(1.0, was + p.class_share_change)
        count = CategoryCount(column="risk_class", category=c,
                              share_tests=[gte(lo), lte(hi)])  # fmt: skip
        plan.append(("prediction_drift", f"class {c} share", count,
                     f"within {was:.1%} ± {p.class_share_change:.0%}"))  # fmt: skip
    report = Report([m for _, _, m, _ in plan], include_tests=True)
    numerical = [*factors, "probability"]
    snapshot = report.run(
        current_data=_dataset(current, numerical, ["risk_class"]),
        reference_data=_dataset(reference, numerical, ["risk_class"]),
        **_run_options("model", about),
    )
    tests, values = _tests_by_metric(snapshot), _values(snapshot)
    checks = []
    for group, subject, metric, rule in plan:
        mid = metric.get_fingerprint()
        value, bound = values.get(mid), tests.get(mid, [])
        checks.append(_check(group, subject, value, rule, bound, reference, current))
    return snapshot, checks + skipped


def _check(group, subject, value, rule, tests, reference, current) -> Check:
    passed = _passed(tests)
    if group == "factor_drift" or subject == "probability":
        column = subject
        was, now = reference[column].astype(float), current[column].astype(float)
        detail = (f"mean {was.mean():.3g} -> {now.mean():.3g}, 90th percentile "
                  f"{was.quantile(0.9):.3g} -> {now.quantile(0.9):.3g}")  # fmt: skip
        return Check(group, subject, "pass" if passed else "fail", float(value), rule, detail)
    if group == "prediction_drift":  # a class's share
        c = subject.split()[1]
        was = float((reference["risk_class"] == c).mean())
        now = _share(value)
        return Check(group, subject, "pass" if passed else "fail", now, rule,
                     f"class {c}: {was:.1%} of the reference, {now:.1%} now")  # fmt: skip
    if isinstance(value, dict):  # a count: missing or out of range
        share = _share(value)
        return Check(group, subject, "pass" if passed else "fail", share, rule,
                     f"{int(value['count']):,} enterprises ({share:.2%})")  # fmt: skip
    shown = None if value is None or not np.isfinite(value) else float(value)
    ok = passed and shown is not None
    return Check(group, subject, "pass" if ok else "fail", shown, rule, f"value {value}")


def new_categories(reference: pd.DataFrame, current: pd.DataFrame, attributes: list[str]):
    """One-hot categories (district_*, industry_*, ...) the reference never saw: a column the
    current snapshot holds and the reference lacks, or one the reference holds all zero that
    is set now. Returns a check."""
    onehot = [a for a in attributes if a.startswith(("district_", "industry_", "entity_type_"))]
    new = [a for a in onehot if a not in reference.columns]
    new += [a for a in onehot if a in reference.columns and not reference[a].any()
            and current[a].any()]  # fmt: skip
    detail = ", ".join(f"{a} ({int(current[a].astype(bool).sum()):,} enterprises)" for a in new)
    return Check("data_quality", "new categories", "fail" if new else "pass", float(len(new)),
                 "no category the reference never saw", detail or "none")  # fmt: skip


def families_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    families: dict[str, str],
    settings,
    tolerance: dict[str, float] | None = None,
    about: dict | None = None,
):
    """Drift of every attribute the two frames share, read family by family.

    Every attribute's drift score is computed at once (`reference.normed_wasserstein`, the
    same score as Evidently's `wasserstein`); a family drifts when `drift.family_share` of its
    attributes reach their threshold. The Evidently report shows, for each family, its most
    drifted attribute with the same method and threshold (so its test agrees).

    Args:
        reference: the version's reference.
        current: the screening snapshot (a sample of it: drift scores are effect sizes).
        families: attribute -> its family.
        settings: the `monitor` section.
        tolerance: attribute -> the drift the model was validated across (see `tolerances`).
        about: metadata of the snapshot.

    Returns:
        (the Evidently snapshot, one check per family, attributes left out: constant, or with
        fewer than `drift.min_values` values on a side). A family's drift is a warning: the
        model's own factors and scores have checks of their own, and a family the model does
        not use cannot move its scores.
    """
    from evidently import Report
    from evidently.metrics import ValueDrift

    from riskdraw.training.reference import normed_wasserstein

    d, tolerance = settings.drift, tolerance or {}
    shared = [a for a in families if a in reference.columns and a in current.columns]
    # A column constant in both has nothing to drift; an empty one (a share with nothing to
    # divide) has no distribution to compare.
    filled = [a for a in shared if reference[a].notna().sum() >= d.min_values
              and current[a].notna().sum() >= d.min_values]  # fmt: skip
    varying = [a for a in filled if reference[a].nunique() > 1 or current[a].nunique() > 1]
    constant = sorted(set(shared) - set(varying))
    scores = normed_wasserstein(reference, current, varying)
    limit = {a: max(d.threshold, tolerance.get(a, 0.0)) for a in varying}
    checks, shown = [], []
    for family in sorted({families[a] for a in varying}):
        attrs = [a for a in varying if families[a] == family]
        drifted = sorted((a for a in attrs if scores[a] >= limit[a]), key=lambda a: -scores[a])
        share = len(drifted) / len(attrs)
        worst = ", ".join(f"{a} {scores[a]:.2f}" for a in drifted[:3])
        checks.append(Check(
            "family_drift", family, "warn" if share >= d.family_share else "pass", share,
            f"share of attributes drifted < {d.family_share:g}",
            f"{len(drifted)} of {len(attrs)} attributes drifted" + (f": {worst}" if worst else ""),
        ))  # fmt: skip
        shown.append(max(attrs, key=lambda a: scores[a]))
    metrics = [ValueDrift(column=a, method="wasserstein", threshold=limit[a]) for a in shown]
    snapshot = Report(metrics, include_tests=True).run(
        current_data=_dataset(current, shown, []),
        reference_data=_dataset(reference, shown, []),
        **_run_options("families", about),
    )
    return snapshot, checks, constant


def tolerances(reference: pd.DataFrame, validated: pd.DataFrame, columns) -> dict[str, float]:
    """Per column, the largest move the version has been shown to handle: how far the rounds
    it was judged on (its held-out rounds, on which it passed its gates) drifted from its
    reference, and how far each round it was calibrated and judged on moved from the round
    before it (each calibration round was scored by a model of the rounds before it, rolling
    origin). A screening that drifts no further is within that: a held-out round in another
    season moves the seasonal attributes, and counts over all of a source's history grow by a
    year of records every round. Empty if nothing was validated.

    Args:
        reference: the version's reference (its latest training round), with `as_of_date`.
        validated: the profile's snapshots of those rounds (`as_of_date` tells them apart; a
            frame without it is one round judged against the reference).
        columns: the attributes to judge.
    """
    from riskdraw.training.reference import normed_wasserstein

    if validated is None or validated.empty:
        return {}
    if "as_of_date" not in validated.columns:
        judged, rounds = validated, [validated]
    else:
        dates = pd.to_datetime(validated["as_of_date"])
        judged = validated
        if "as_of_date" in reference.columns:  # the held-out rounds, after the reference's
            judged = validated[dates > pd.to_datetime(reference["as_of_date"]).max()]
        rounds = [validated[dates == d] for d in sorted(dates.unique())]
    moves = [normed_wasserstein(reference, judged, columns)] if len(judged) else []
    moves += [normed_wasserstein(a, b, columns) for a, b in itertools.pairwise(rounds)]
    if not moves:
        return {}
    largest = pd.concat(moves, axis=1).max(axis=1, skipna=True)
    return {c: float(v) for c, v in largest.items() if np.isfinite(v)}


def performance_frame(results: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The round's results beside the model's probability of each visited enterprise: one row
    per visit reported (`problem` 0/1, `probability`, `risk_class`, `district_code`,
    `residual` = problem - probability)."""
    keep = ["entity_id", "probability"] + [c for c in ("district_code",) if c in scores.columns]
    if results["entity_id"].duplicated().any():
        raise MonitorError("monitor: the round's results report an enterprise twice")
    frame = results[["entity_id", "problem", "risk_class"]].merge(
        scores[keep], on="entity_id", how="left"
    )
    if frame["probability"].isna().any():
        missing = frame.loc[frame["probability"].isna(), "entity_id"].head(3).tolist()
        raise MonitorError(
            f"monitor: the round's results name enterprises the screening did not score "
            f"({missing}): they are the results of another screening's plan"
        )
    problem = frame["problem"].astype(float)
    return frame.assign(problem=problem, residual=problem - frame["probability"])


def performance_report(frame: pd.DataFrame, settings, about: dict | None = None):
    """Observed against expected: per class, per district and over all the round's visits,
    the mean of (problem - probability) within `z` binomial standard errors of 0, or within
    `min_difference` where that is wider (a large round's standard errors are so small that a
    miss no one would act on is significant); groups with fewer than `min_visits` visits are
    reported, not judged.

    Returns:
        (the Evidently snapshot, the checks).
    """
    from evidently import Report
    from evidently.metrics import MeanValue
    from evidently.tests import gte, lte

    perf = settings.performance
    groups = {"all visits": np.ones(len(frame), bool)}
    groups |= {f"class {c}": (frame["risk_class"] == c).to_numpy() for c in RISK_CLASSES}
    if "district_code" in frame.columns:
        groups |= {f"district {k}": (frame["district_code"] == k).to_numpy()
                   for k in sorted(frame["district_code"].dropna().unique())}  # fmt: skip
    columns, plan = {}, []
    for i, (name, mask) in enumerate(groups.items()):
        n = int(mask.sum())
        if n == 0:
            continue
        p = frame["probability"].to_numpy()[mask]
        se = math.sqrt(float((p * (1 - p)).sum())) / n
        tol = max(perf.z * se, perf.min_difference)
        column = f"residual_{i}"
        columns[column] = np.where(mask, frame["residual"].to_numpy(), np.nan)
        judged = n >= perf.min_visits
        tests = [gte(-tol), lte(tol)] if judged else []
        widest = (
            "" if perf.z * se >= perf.min_difference else f", at least {perf.min_difference:.0%}"
        )
        plan.append((name, n, float(p.mean()), tol, judged, widest,
                     MeanValue(column=column, tests=tests)))  # fmt: skip
    data = pd.DataFrame(columns)
    snapshot = Report([m for *_, m in plan], include_tests=True).run(
        current_data=_dataset(data, list(columns), []),
        reference_data=None,
        **_run_options("performance", about),
    )
    tests, values = _tests_by_metric(snapshot), _values(snapshot)
    checks = []
    for name, n, expected, tol, judged, widest, metric in plan:
        mid = metric.get_fingerprint()
        gap = float(values[mid])
        status = ("pass" if _passed(tests.get(mid, [])) else "fail") if judged else "skipped"
        rule = (f"observed - expected within ±{tol:.1%} ({perf.z:g} standard errors{widest})"
                if judged else f"fewer than {perf.min_visits} visits: not judged")  # fmt: skip
        checks.append(Check("performance", name, status, gap, rule,
                            f"{n} visits: found {expected + gap:.1%}, the model expected "
                            f"{expected:.1%}"))  # fmt: skip
    return snapshot, checks
