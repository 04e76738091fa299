"""The results of a plan's visits, as the simulated city's district bureaus deliver them.

The product draws a plan; the inspectors go out; the bureaus send back what they found. Here
the simulator plays the inspectors and the bureaus: whether a visited enterprise breaks the
rules at the screening date is drawn from its true probability (`p_full`, the truth of the
screening round), with a uniform of its own per enterprise, so that the same enterprise gives
the same outcome whichever plan visits it. What comes back is a department's file, not the
truth: one row per visit (credit code, name, task, inspection date, inspectors, items checked
and failed, result, the day it was recorded), late for some, with mixed date styles, a visit
reported twice, a few visits not reported, and rows no plan allows (an enterprise that was not
drawn, an inspector who was not assigned, a date before the plan's), for `record-results` to
refuse. The product reads them only through `record-results` and the next ingest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .activity import CLEAN_RESULTS, CLEAN_WEIGHTS, PROBLEM_RESULTS, PROBLEM_WEIGHTS

UNREACHABLE = PROBLEM_RESULTS[2]  # cannot be reached at the registered address: no item checked
STREAM = 15485863
"""The results' own random stream (with the city's seed): the rest of the city is unchanged."""


def _styled(days: np.ndarray, rng: np.random.Generator, mixed_share: float) -> np.ndarray:
    """Dates as a bureau types them: ISO mostly, a share as 2025/7/3 or 2025年7月3日."""
    stamps = pd.DatetimeIndex(days)
    iso = stamps.strftime("%Y-%m-%d").to_numpy(dtype=object)
    slash = np.array([f"{d.year}/{d.month}/{d.day}" for d in stamps], dtype=object)
    chinese = np.array([f"{d.year}年{d.month}月{d.day}日" for d in stamps], dtype=object)
    pick = rng.random(len(days))
    return np.where(pick < mixed_share / 2, slash, np.where(pick < mixed_share, chinese, iso))


def screening_violations(truth: Path, seed: int, as_of: str | None = None) -> pd.Series:
    """Per credit code, whether the enterprise breaks the rules when the plan's visits go out:
    at a planned round (`simulate.planned_rounds`) whose as-of date is the plan's, the round's
    own truth; otherwise the truth folder's screening round (`violations`)."""
    probabilities = pd.read_parquet(Path(truth) / "probabilities.parquet")
    registry = pd.read_parquet(Path(truth) / "entities.parquet",
                               columns=["entity_uid", "credit_code"])  # fmt: skip
    at = probabilities["as_of_date"] == pd.Timestamp(as_of) if as_of else False
    planned = probabilities[at & (probabilities["round"] > 0)]
    if len(planned):
        bad = pd.Series(planned["violates"].to_numpy(dtype=bool), index=planned["entity_uid"])
    else:
        bad = violations(probabilities[probabilities["round"] == 0], seed)
    return pd.Series(bad.reindex(registry["entity_uid"], fill_value=False).to_numpy(dtype=bool),
                     index=registry["credit_code"].to_numpy())  # fmt: skip


def registry(truth: Path) -> pd.DataFrame:
    """The city's enterprises as the bureaus know them: credit_code and name."""
    return pd.read_parquet(Path(truth) / "entities.parquet", columns=["credit_code", "name"])


def violations(truth: pd.DataFrame, seed: int) -> pd.Series:
    """Whether each enterprise breaks the rules at the screening date: its own uniform below
    its true probability (`truth`: entity_uid and p_full of the screening round), by uid."""
    rng = np.random.default_rng([seed, STREAM])
    top = int(truth["entity_uid"].max()) + 1 if len(truth) else 0
    u = rng.random(top)
    uid = truth["entity_uid"].to_numpy()
    return pd.Series(u[uid] < truth["p_full"].to_numpy(), index=uid)


def plan_results(
    visits: pd.DataFrame,
    registry: pd.DataFrame,
    items: pd.Series,
    violates: pd.Series,
    task: str,
    settings,
    seed: int,
) -> pd.DataFrame:
    """The bureaus' results file for a plan's visits.

    Args:
        visits: the plan's visits (credit_code, name, as_of_date, inspectors as lists).
        registry: credit_code and name of the city's enterprises (where a bureau's slip finds
            one the plan did not draw).
        items: per credit code, the items of the visit's fused checklist.
        violates: per credit code, whether the enterprise breaks the rules (`violations`).
        task: the round's task id (the plan's).
        settings: the `round_results` section (lags, shares, the rows no plan allows).
        seed: the city's seed.

    Returns:
        One row per reported visit (and per mistake), as text, in the columns
        `riskdraw.inspection.recording.RESULT_COLUMNS` reads.
    """
    rng = np.random.default_rng([seed, STREAM, 1])
    reported = visits[rng.random(len(visits)) >= settings.unreported_share].reset_index(drop=True)
    n = len(reported)
    codes = reported["credit_code"].astype(str)
    bad = violates.reindex(codes, fill_value=False).to_numpy(dtype=bool)
    result = np.where(
        bad,
        PROBLEM_RESULTS[rng.choice(len(PROBLEM_RESULTS), n, p=PROBLEM_WEIGHTS)],
        CLEAN_RESULTS[rng.choice(len(CLEAN_RESULTS), n, p=CLEAN_WEIGHTS)],
    )
    listed = items.reindex(codes, fill_value=0).to_numpy(dtype=int)
    checked = np.where(result == UNREACHABLE, 0, listed)
    failed = np.where(bad & (checked > 0),
                      np.minimum(1 + rng.binomial(np.maximum(checked - 1, 0), 0.04), checked),
                      0)  # fmt: skip
    start = pd.to_datetime(reported["as_of_date"]).to_numpy(dtype="datetime64[D]")
    low, high = settings.visit_days
    inspected = start + rng.integers(low, high + 1, n).astype("timedelta64[D]")
    lag = rng.integers(settings.lag_days[0], settings.lag_days[1] + 1, n)
    late = rng.random(n) < settings.late_share
    lag[late] = rng.integers(settings.late_days[0], settings.late_days[1] + 1, int(late.sum()))
    recorded = inspected + lag.astype("timedelta64[D]")
    out = pd.DataFrame(
        {
            "credit_code": codes.to_numpy(),
            "name": reported["name"].astype(str).to_numpy(),
            "task": task,
            "inspected_on": _styled(inspected, rng, settings.mixed_date_share),
            "inspectors": [";".join(map(str, v)) for v in reported["inspectors"]],
            "items_checked": checked.astype(str),
            "items_failed": failed.astype(str),
            "result": result,
            "recorded_on": _styled(recorded, rng, settings.mixed_date_share),
        }
    )
    return _with_mistakes(out, visits, registry, rng, settings)


def _with_mistakes(
    out: pd.DataFrame, visits: pd.DataFrame, registry: pd.DataFrame, rng, settings
) -> pd.DataFrame:
    """The rows a bureau gets wrong: a visit reported twice, an enterprise the plan did not
    draw, an inspector the plan did not assign, a date before the plan's."""
    if not len(out):
        return out
    rows = [out]
    twice = out.sample(n=min(len(out), settings.reported_twice), random_state=rng.integers(2**31))
    rows.append(twice)
    others = registry[~registry["credit_code"].isin(visits["credit_code"])]
    slips = others.sample(n=min(len(others), len(out), settings.not_drawn),
                          random_state=rng.integers(2**31))  # fmt: skip
    pick = out.sample(n=len(slips), random_state=rng.integers(2**31))
    rows.append(pick.assign(credit_code=slips["credit_code"].to_numpy(),
                            name=slips["name"].to_numpy()))  # fmt: skip
    pick = out.sample(n=min(len(out), settings.unassigned), random_state=rng.integers(2**31))
    rows.append(pick.assign(inspectors=pick["inspectors"].str.split(";").str[0] + ";449999999"))
    pick = out.sample(n=min(len(out), settings.before_plan), random_state=rng.integers(2**31))
    before = pd.to_datetime(visits["as_of_date"]).min() - pd.Timedelta(days=10)
    rows.append(pick.assign(inspected_on=before.strftime("%Y-%m-%d")))
    return pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=rng.integers(2**31))
