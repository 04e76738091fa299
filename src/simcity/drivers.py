"""Mechanisms by which recorded facts raise the chance of a violation (the simulator's truth).

Each mechanism reads only what the regulator's records show as of a date (`known_on < as_of`)
and returns a shaped value (non-linear: decays, saturating counts, thresholds). The violation
log-odds of an enterprise is the sum of `effect * value` over the configured drivers, plus
interactions, plus latent risk no record shows. Mechanisms not configured as drivers still
leave their records: that is what factor selection has to see through.

Every mechanism carries a `family` (the record kind and attribute it lives in) so evaluation can
tell whether a selected factor captured a true driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskdraw.domain.industries import INDUSTRIES

from .activity import World


@dataclass(frozen=True)
class Mechanism:
    name: str
    family: str
    description: str
    shape: str
    compute: Callable[[World, np.datetime64], np.ndarray]


MECHANISMS: dict[str, Mechanism] = {}


def mechanism(name: str, family: str, shape: str, description: str):
    def register(fn: Callable[[World, np.datetime64], np.ndarray]):
        MECHANISMS[name] = Mechanism(name, family, description, shape, fn)
        return fn

    return register


def _log2p(counts: np.ndarray) -> np.ndarray:
    """Saturating count: 0 -> 0, 1 -> 1, 3 -> 2, 7 -> 3."""
    return np.log2(1.0 + counts)


def window_count(
    frame: pd.DataFrame,
    as_of: np.datetime64,
    days: int | None,
    n: int,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Per enterprise, events known before `as_of` that occurred in the last `days` days."""
    known = frame["known_on"].to_numpy() < as_of
    if days is not None:
        known &= frame["occurred_on"].to_numpy() >= as_of - np.timedelta64(days, "D")
    if where is not None:
        known &= where
    return np.bincount(frame["entity_uid"].to_numpy()[known], minlength=n).astype(float)


def latest(frame: pd.DataFrame, as_of: np.datetime64, column: str, n: int) -> np.ndarray:
    """Per enterprise, `column` of the latest record known before `as_of` (NaN where none)."""
    sub = frame[frame["known_on"].to_numpy() < as_of]
    sub = sub.sort_values("occurred_on", kind="stable").drop_duplicates("entity_uid", keep="last")
    out = np.full(n, np.nan, dtype=object if sub[column].dtype == object else float)
    out[sub["entity_uid"].to_numpy()] = sub[column].to_numpy()
    return out


def _years(world: World, as_of) -> np.ndarray:
    founded = world.entities["founded_on"].to_numpy().astype("datetime64[D]")
    return np.maximum((as_of - founded).astype(float) / 365.25, 0.0)


@mechanism(
    "age_years",
    "registration:founded_on",
    "decay",
    "years since founding; risk decays as exp(-years/3)",
)
def _age(world, as_of):
    return np.exp(-_years(world, as_of) / 3.0)


@mechanism(
    "subscribed_capital",
    "registration:subscribed_capital",
    "threshold",
    "subscribed capital; below 1 million yuan risk rises by log10 steps",
)
def _capital(world, as_of):
    cap = world.entities["subscribed_capital"].to_numpy()
    return np.clip((6.0 - np.log10(cap)) / 2.0, 0.0, 1.5)


@mechanism(
    "paid_in_ratio",
    "registration:paid_in_capital",
    "linear",
    "share of subscribed capital not paid in",
)
def _paid_in(world, as_of):
    ent = world.entities
    return 1.0 - ent["paid_in_capital"].to_numpy() / ent["subscribed_capital"].to_numpy()


@mechanism(
    "employees",
    "annual_report:employees",
    "threshold",
    "employees in the latest annual report: fewer is riskier; none reported yet = 0.5",
)
def _employees(world, as_of):
    emp = latest(world.events["annual_report"], as_of, "employees", len(world.entities))
    value = np.clip(1.0 - np.log10(1.0 + emp.astype(float)) / 1.5, 0.0, 1.0)
    return np.where(np.isnan(value), 0.5, value)


@mechanism(
    "past_problems", "inspection:problem", "saturating", "problems found in earlier inspections"
)
def _past_problems(world, as_of):
    frame = world.events.get("inspection")
    if frame is None:
        return np.zeros(len(world.entities))
    hit = frame["problem"].to_numpy()
    return _log2p(window_count(frame, as_of, None, len(world.entities), where=hit))


@mechanism("complaints_365", "complaint:count", "saturating", "complaints in the last year")
def _complaints(world, as_of):
    return _log2p(window_count(world.events["complaint"], as_of, 365, len(world.entities)))


@mechanism("penalties_1095", "penalty:count", "saturating", "penalties in the last three years")
def _penalties(world, as_of):
    return _log2p(window_count(world.events["penalty"], as_of, 1095, len(world.entities)))


@mechanism("abnormal_listed", "abnormal_list:listed", "flag", "on the abnormal-operation list now")
def _abnormal(world, as_of):
    ab = world.events["abnormal_list"]
    on = (ab["known_on"].to_numpy() < as_of) & ~(ab["removed_known_on"].to_numpy() < as_of)
    return (np.bincount(ab["entity_uid"].to_numpy()[on], minlength=len(world.entities)) > 0).astype(
        float
    )


@mechanism(
    "annual_report_missing",
    "annual_report:missing",
    "count",
    "of the last two annual reports due, how many were not filed",
)
def _ar_missing(world, as_of):
    ar = world.events["annual_report"]
    ent = world.entities
    n = len(ent)
    year = pd.Timestamp(as_of).year
    founded = ent["founded_on"].to_numpy()
    missing = np.zeros(n)
    for y in range(year - 3, year):
        due = np.datetime64(f"{y + 1}-06-30")
        if due >= as_of:
            continue
        liable = founded < np.datetime64(f"{y}-12-31")
        filed = window_count(ar, as_of, None, n, where=ar["year"].to_numpy() == y) > 0
        missing += liable & ~filed
    return np.minimum(missing, 2.0)


@mechanism("tax_rating_low", "tax_rating:rating", "flag", "latest tax credit rating is C or D")
def _tax(world, as_of):
    rating = latest(world.events["tax_rating"], as_of, "rating", len(world.entities))
    return np.isin(rating, ["C", "D"]).astype(float)


def _stream_arrears(world, as_of, kind: str) -> np.ndarray:
    n = len(world.entities)
    total = np.zeros(n)
    for stream in world.streams:
        if stream.kind == kind:
            frame = stream.arrears.rename(columns={"month": "occurred_on"})
            frame = frame.assign(
                occurred_on=frame["occurred_on"].to_numpy().astype("datetime64[D]")
            )
            total += window_count(frame, as_of, 365, n)
    return _log2p(total)


@mechanism(
    "social_insurance_arrears_365",
    "social_insurance:arrears",
    "saturating",
    "months behind on social insurance in the last year",
)
def _si(world, as_of):
    return _stream_arrears(world, as_of, "social_insurance")


@mechanism(
    "medical_insurance_arrears_365",
    "medical_insurance:arrears",
    "saturating",
    "months behind on medical insurance in the last year",
)
def _mi(world, as_of):
    return _stream_arrears(world, as_of, "medical_insurance")


@mechanism(
    "utility_arrears_365",
    "utility:arrears",
    "saturating",
    "months behind on power or water bills in the last year",
)
def _utility(world, as_of):
    return _stream_arrears(world, as_of, "utility")


@mechanism("lawsuits_365", "lawsuit:count", "saturating", "lawsuits as defendant in the last year")
def _lawsuits(world, as_of):
    frame = world.events["lawsuit"]
    return _log2p(
        window_count(
            frame, as_of, 365, len(world.entities), where=frame["role"].to_numpy() == "被告"
        )
    )


@mechanism(
    "enforcement_1095",
    "enforcement:count",
    "saturating",
    "enforcement cases in the last three years",
)
def _enforcement(world, as_of):
    return _log2p(window_count(world.events["enforcement"], as_of, 1095, len(world.entities)))


@mechanism(
    "licence_lapsed",
    "licence:lapsed",
    "flag",
    "a regulated trade without a valid licence for one of its licence domains",
)
def _licence_lapsed(world, as_of):
    ent = world.entities
    n = len(ent)
    domains = {i.code: i.domains for i in INDUSTRIES}
    lic = world.events["licence"]
    valid = (
        (lic["known_on"].to_numpy() < as_of)
        & (lic["occurred_on"].to_numpy() <= as_of)
        & (lic["valid_until"].to_numpy() >= as_of)
    )
    industry = ent["industry_code"].to_numpy()
    lapsed = np.zeros(n, dtype=bool)
    for domain in sorted({d for ds in domains.values() for d in ds}):
        needs = np.array([domain in domains[c] for c in industry])
        has = (
            np.bincount(
                lic["entity_uid"].to_numpy()[valid & (lic["domain"].to_numpy() == domain)],
                minlength=n,
            )
            > 0
        )
        lapsed |= needs & ~has
    return lapsed.astype(float)


@mechanism(
    "changes_365",
    "registration_change:count",
    "saturating",
    "registration changes in the last year",
)
def _changes(world, as_of):
    return _log2p(
        window_count(world.events["registration_change"], as_of, 365, len(world.entities))
    )


@mechanism("dishonesty_listed", "dishonesty_list:listed", "flag", "on the serious-dishonesty list")
def _dishonest(world, as_of):
    frame = world.events.get("dishonesty_list")
    if frame is None or frame.empty:
        return np.zeros(len(world.entities))
    return (window_count(frame, as_of, None, len(world.entities)) > 0).astype(float)


@mechanism(
    "legal_rep_enterprises",
    "registration:legal_rep",
    "saturating",
    "other open enterprises with the same legal representative",
)
def _rep_network(world, as_of):
    return _shared(world, as_of, "legal_rep_uid")


@mechanism(
    "address_enterprises",
    "registration:address",
    "saturating",
    "other open enterprises at the same registered address",
)
def _address_network(world, as_of):
    return _shared(world, as_of, "address_id")


@mechanism(
    "regulated_trade",
    "registration:industry_code",
    "flag",
    "the industry needs a licence (food, drugs, devices, cosmetics, equipment...)",
)
def _regulated(world, as_of):
    regulated = {i.code for i in INDUSTRIES if i.domains}
    return np.isin(world.entities["industry_code"].to_numpy(), list(regulated)).astype(float)


def _shared(world, as_of, column: str) -> np.ndarray:
    ent = world.entities
    open_ = (ent["founded_on"].to_numpy() < as_of) & ~(ent["deregistered_on"].to_numpy() < as_of)
    keys = ent[column].to_numpy()
    codes, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse[open_], minlength=len(codes))
    return _log2p(np.maximum(counts[inverse] - 1, 0))


def driver_values(world: World, names: list[str], as_of: np.datetime64) -> dict[str, np.ndarray]:
    """The shaped value of each named mechanism for every enterprise, as of a date."""
    unknown = [n for n in names if n not in MECHANISMS]
    if unknown:
        raise KeyError(
            f"simulate.drivers: unknown mechanism(s) {unknown}; known: {sorted(MECHANISMS)}"
        )
    as_of = np.datetime64(as_of, "D")
    return {name: MECHANISMS[name].compute(world, as_of) for name in names}
