"""Fused inspection checklists (一表通行): one list for a visit that checks several domains.

Each supervision domain has its own list of inspection items (`catalogue/checklists.yaml`), as
its department used to check on a visit of its own. A fused visit checks every domain its
enterprise calls for (`visit_domains`) with one list, merged by this rule: items with the same
`checks` key are one check, whether they come from different domains or twice from one
domain (the old forms repeat themselves across sections), and become one item. The merged
item is worded as the first of them (catalogue order: domains as the file lists them, items
in their order), rests on all their distinct bases, serves all their domains, counts how many
separate items it replaces and takes the longest of their times. Different `checks` keys are
never merged, however alike their wording.

Before fusion a visit's domains were one separate visit each (`visit_minutes` of overhead
each, plus every item of every list); after, one visit (`visit_minutes` once, plus the fused
items). The report puts the two side by side per industry, as Foshan reports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .allocation import PlanError
from .inspectors import Domain

ITEM_KEYS = ("id", "checks", "text", "basis", "minutes")
"""The keys of every item of a checklist, all required."""
ITEM_COLUMNS = ["domain", *ITEM_KEYS]
FUSED_COLUMNS = ["item", "checks", "text", "basis", "domains", "merged", "minutes"]
BASIS_SEPARATOR = "；"
_CHECKS_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, eq=False)  # eq=False: the items frame has no truth value to compare
class Checklists:
    """Every domain's inspection items and the overhead of one visit.

    Attributes:
        visit_minutes: overhead of one visit (travel, opening, closing), in minutes.
        items: one row per item, in catalogue order: domain, id, checks, text, basis, minutes.
        source: where the catalogue came from (named in errors).
    """

    visit_minutes: float
    items: pd.DataFrame
    source: str = "checklists"

    @property
    def domains(self) -> tuple[str, ...]:
        """The domains with a list, in catalogue order."""
        return tuple(pd.unique(self.items["domain"]))


def _is_number(value: object) -> bool:
    """Whether a YAML value is a real number (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _item_fault(item: object) -> str | None:
    """What is wrong with one raw item (None: nothing): keys, then each key's type."""
    if not isinstance(item, dict):
        return f"is a {type(item).__name__}, not a mapping of {list(ITEM_KEYS)}"
    missing = [k for k in ITEM_KEYS if k not in item]
    if missing:
        return f"missing keys {missing}"
    unknown = sorted(set(item) - set(ITEM_KEYS), key=str)
    if unknown:
        return f"unknown keys {unknown} (an item has {list(ITEM_KEYS)})"
    for key in ("id", "text", "basis"):
        if not isinstance(item[key], str) or not item[key].strip():
            return f"`{key}` must be non-empty text, got {item[key]!r}"
    if not isinstance(item["checks"], str) or not _CHECKS_KEY.fullmatch(item["checks"]):
        return f"`checks` must be a snake_case key, got {item['checks']!r}"
    if not _is_number(item["minutes"]) or item["minutes"] <= 0:
        return f"`minutes` must be a number > 0, got {item['minutes']!r}"
    return None


def _domain_items(path: Path | str, domain: str, raw: object) -> list[dict]:
    """One domain's validated items, as rows of the items table.

    Raises:
        PlanError: the list is not a non-empty list, or an item breaks a rule.
    """
    if not isinstance(raw, list) or not raw:
        raise PlanError(f"{path}: domains.{domain}: needs a non-empty list of items")
    rows = []
    for k, item in enumerate(raw):
        fault = _item_fault(item)
        if fault:
            name = item.get("id") if isinstance(item, dict) else None
            label = f"item {name}" if isinstance(name, str) else f"item #{k + 1}"
            raise PlanError(f"{path}: domains.{domain}, {label}: {fault}")
        rows.append({"domain": domain, **{key: item[key] for key in ITEM_KEYS}})
    return rows


def _check_domains(path: Path | str, listed: Iterable[str], domains: dict[str, Domain]) -> None:
    """Every domain of the domains catalogue has a list, and no list is for another domain.

    Raises:
        PlanError: naming the domains without a list, or the lists of unknown domains.
    """
    listed = list(listed)
    unknown = [d for d in listed if d not in domains]
    if unknown:
        raise PlanError(
            f"{path}: domains {unknown} are not in the domains catalogue (known: {sorted(domains)})"
        )
    missing = [d for d in domains if d not in listed]
    if missing:
        raise PlanError(f"{path}: domains {missing} of the domains catalogue have no checklist")


def load_checklists(path: Path | str, domains: dict[str, Domain] | None = None) -> Checklists:
    """The checklists catalogue, validated.

    Args:
        path: the catalogue (`catalogue/checklists.yaml`).
        domains: the domains catalogue (`load_domains`); if given, the lists must be exactly
            its domains.

    Returns:
        The catalogue's visit overhead and items, in the file's order.

    Raises:
        PlanError: the file is not a mapping with `visit_minutes` (> 0) and `domains:` (domain
            -> non-empty list of items); an item lacks a key, has an unknown one or one of the
            wrong type, `minutes` <= 0; an id repeats; a domain is missing or unknown.
    """
    from riskdraw.io import read_mapping

    raw = read_mapping(path, PlanError)
    unknown = sorted(set(raw) - {"visit_minutes", "domains"}, key=str)
    if unknown:
        raise PlanError(f"{path}: unknown keys {unknown} (needs `visit_minutes` and `domains`)")
    lists = raw.get("domains")
    if not isinstance(lists, dict) or not lists:
        raise PlanError(f"{path}: needs `domains:`, a mapping of domain -> list of items")
    minutes = raw.get("visit_minutes")
    if not _is_number(minutes) or minutes <= 0:
        raise PlanError(f"{path}: `visit_minutes` must be a number > 0, got {minutes!r}")
    rows = [row for domain, items in lists.items() for row in _domain_items(path, domain, items)]
    first: dict[str, str] = {}
    for row in rows:
        if row["id"] in first:
            raise PlanError(
                f"{path}: domains.{row['domain']}, item {row['id']}: duplicate id "
                f"(ids are unique across the file; first in domains.{first[row['id']]})"
            )
        first[row["id"]] = row["domain"]
    if domains is not None:
        _check_domains(path, lists, domains)
    return Checklists(float(minutes), pd.DataFrame(rows, columns=ITEM_COLUMNS), str(path))


def _domain_set(domains: object) -> frozenset[str]:
    """A visit's domains as a set: any iterable of names, ';'-separated text, or missing."""
    if domains is None or (isinstance(domains, float) and domains != domains):
        return frozenset()
    if isinstance(domains, str):
        return frozenset(p.strip() for p in domains.split(";") if p.strip())
    return frozenset(str(d) for d in domains)


def fuse(domains: Iterable[str], checklists: Checklists) -> pd.DataFrame:
    """The one merged checklist of a visit that checks `domains` (see the module docstring).

    Args:
        domains: the domains the visit checks (any order; ';'-separated text works too).
        checklists: the catalogue (`load_checklists`).

    Returns:
        One row per distinct `checks` key among the domains' items, in catalogue order: item
        (1..n), checks, text (the first item's), basis (the distinct bases, "；"-joined),
        domains (tuple of the domains served), merged (separate items replaced), minutes (the
        longest). No domains: an empty frame with these columns.

    Raises:
        PlanError: a domain has no checklist.
    """
    wanted = _domain_set(domains)
    unknown = sorted(wanted - set(checklists.domains))
    if unknown:
        raise PlanError(
            f"{checklists.source}: no checklist for domains {unknown} "
            f"(known: {list(checklists.domains)})"
        )
    items = checklists.items[checklists.items["domain"].isin(wanted)]
    if items.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FUSED_COLUMNS})
    fused = (
        items.groupby("checks", sort=False)
        .agg(
            text=("text", "first"),
            basis=("basis", lambda b: BASIS_SEPARATOR.join(pd.unique(b))),
            domains=("domain", lambda d: tuple(pd.unique(d))),
            merged=("id", "size"),
            minutes=("minutes", "max"),
        )
        .reset_index()
    )
    return fused.assign(item=np.arange(1, len(fused) + 1))[FUSED_COLUMNS]


def _fused_by_set(visits: pd.DataFrame, checklists: Checklists) -> tuple[pd.Series, dict]:
    """Each visit's domain set, and the fused list of every distinct set (fused once each).

    Raises:
        PlanError: `visits` has no `domains` column, or a domain has no checklist.
    """
    if "domains" not in visits.columns:
        raise PlanError("checklists: the visits table has no `domains` column (visit_domains)")
    sets = visits["domains"].map(_domain_set)
    return sets, {s: fuse(s, checklists) for s in pd.unique(sets)}


def checklists_table(visits: pd.DataFrame, checklists: Checklists) -> pd.DataFrame:
    """Every visit's fused checklist, one row per item of each visit.

    Args:
        visits: entity_id and domains (names per visit) of each planned visit.
        checklists: the catalogue.

    Returns:
        entity_id, then `fuse`'s columns, in the visits' order and each list's item order
        (`domains` stays a tuple: writing it as text is the caller's choice).

    Raises:
        PlanError: see `fuse`.
    """
    sets, fused = _fused_by_set(visits, checklists)
    keys = {s: k for k, s in enumerate(fused)}
    parts = [frame.assign(_set=keys[s]) for s, frame in fused.items() if len(frame)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ["entity_id", *FUSED_COLUMNS]})
    lists = pd.concat(parts, ignore_index=True)
    left = pd.DataFrame(
        {"entity_id": visits["entity_id"].to_numpy(), "_set": sets.map(keys.__getitem__).to_numpy()}
    )
    table = left.merge(lists, on="_set", how="inner", sort=False)
    return table[["entity_id", *FUSED_COLUMNS]].reset_index(drop=True)


def _set_figures(domains: frozenset[str], fused: pd.DataFrame, checklists: Checklists) -> dict:
    """Items and minutes of one domain set before fusion (a visit per domain) and after."""
    items = checklists.items[checklists.items["domain"].isin(domains)]
    return {
        "domains": len(domains),
        "items_before": len(items),
        "items_after": len(fused),
        "minutes_before": len(domains) * checklists.visit_minutes + float(items["minutes"].sum()),
        "minutes_after": checklists.visit_minutes + float(fused["minutes"].sum()),
    }


def _industry_name(code: str) -> str:
    """The industry class's name, "other" when the code is not in the table."""
    from riskdraw.domain.industries import industry_by_code

    try:
        return industry_by_code(code).name
    except ValueError:
        return "other"


def _industry_codes(values: pd.Series) -> pd.Series:
    """Industry codes as text ("" where missing)."""
    return values.map(lambda c: "" if c is None or c != c else str(c).strip())


def _summary(per_visit: pd.DataFrame) -> dict:
    """Visits, domains per visit, items and hours before and after of a group of visits."""
    hours_before, hours_after = per_visit["minutes_before"] / 60, per_visit["minutes_after"] / 60
    return {
        "visits": len(per_visit),
        "domains_per_visit": round(float(per_visit["domains"].mean()), 2),
        "items_before_median": float(per_visit["items_before"].median()),
        "items_after_median": float(per_visit["items_after"].median()),
        "hours_before_median": round(float(hours_before.median()), 2),
        "hours_after_median": round(float(hours_after.median()), 2),
        "hours_before": round(float(hours_before.sum()), 2),
        "hours_after": round(float(hours_after.sum()), 2),
    }


def checklist_report(visits: pd.DataFrame, checklists: Checklists) -> dict:
    """What fusion saves: per industry and overall, items and hours before and after.

    Before: one separate visit per domain (`visit_minutes` each, plus every separate item's
    minutes); after: one fused visit (`visit_minutes` once, plus the fused items' minutes).

    Args:
        visits: entity_id, industry_code (GB/T 4754) and domains of each planned visit.
        checklists: the catalogue.

    Returns:
        JSON-ready: `overall` (fused visits, the single-domain visits they replace, items and
        hours before and after in total) and `by_industry`, one entry per industry code
        (its name, "other" if unknown) with visits, mean domains per visit, median items and
        hours per visit before and after, and total hours; most visits first.

    Raises:
        PlanError: see `fuse`.
    """
    sets, fused = _fused_by_set(visits, checklists)
    figures = {s: _set_figures(s, frame, checklists) for s, frame in fused.items()}
    per_visit = pd.DataFrame(
        [figures[s] for s in sets],
        columns=["domains", "items_before", "items_after", "minutes_before", "minutes_after"],
    ).assign(industry_code=_industry_codes(visits["industry_code"]).to_numpy())
    groups = [
        {"industry_code": code, "industry": _industry_name(code), **_summary(group)}
        for code, group in per_visit.groupby("industry_code", sort=True)
    ]
    groups.sort(key=lambda g: -g["visits"])  # stable: ties stay in code order
    return {
        "visit_minutes": checklists.visit_minutes,
        "overall": {
            "fused_visits": len(per_visit),
            "single_domain_visits": int(per_visit["domains"].sum()),
            "items_before": int(per_visit["items_before"].sum()),
            "items_after": int(per_visit["items_after"].sum()),
            "hours_before": round(float(per_visit["minutes_before"].sum()) / 60, 2),
            "hours_after": round(float(per_visit["minutes_after"].sum()) / 60, 2),
        },
        "by_industry": groups,
    }
