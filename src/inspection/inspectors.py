"""The second random: inspectors drawn for each visit from the pool.

The pool is a table (a CSV a city supplies; the simulated city delivers its own): one row per
sworn inspector with `inspector_id`, `unit`, `district_code`, `qualifications` (domains,
separated by ";"), `available_visits` (the most visits this round; 0: not available) and
`conflicts` (credit codes of enterprises the inspector declared a conflict with, ";"). Every
row is validated (pandera); a row that breaks a rule is quarantined with its reason and the
counts reconcile.

Each visit gets `per_visit` inspectors, drawn at random among the eligible: together qualified
for every domain the visit checks (`visit_domains`), from the enterprise's district where the
pool allows (else from anywhere), never one who inspected the enterprise last time, none with a
declared conflict, none past their workload (the smaller of their availability and the cap).
The visits are staffed in a random order and the candidates shuffled by a generator seeded from
the draw's seed, so the assignment re-runs the same. A pool that cannot staff the plan is an
error naming each district and qualification short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskdraw.errors import USAGE

from .allocation import PlanError

POOL_COLUMNS = ["inspector_id", "unit", "district_code", "qualifications", "available_visits",
                "conflicts"]  # fmt: skip


@dataclass(frozen=True)
class Domain:
    """A supervision domain and what calls for it (`catalogue/domains.yaml`)."""

    name: str
    zh: str
    always: bool = False
    licences: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()


def load_domains(path: Path | str) -> dict[str, Domain]:
    """The domains catalogue.

    Raises:
        PlanError: the file is not a mapping of domains with known keys.
    """
    from riskdraw.io import read_mapping

    raw = read_mapping(path, PlanError).get("domains")
    if not isinstance(raw, dict) or not raw:
        raise PlanError(f"{path}: needs `domains:`, a mapping of domain -> what calls for it")
    out = {}
    for name, spec in raw.items():
        spec = spec or {}
        unknown = set(spec) - {"zh", "always", "licences", "industries"}
        if unknown:
            raise PlanError(f"{path}: domains.{name}: unknown keys {sorted(unknown)}")
        out[name] = Domain(
            name, str(spec.get("zh", name)), bool(spec.get("always", False)),
            tuple(spec.get("licences") or ()), tuple(str(i) for i in spec.get("industries") or ()),
        )  # fmt: skip
    return out


def _split(values: pd.Series) -> pd.Series:
    """';'-separated text as tuples of its non-empty parts (missing: empty)."""
    return values.fillna("").astype(str).map(lambda v: tuple(p.strip() for p in v.split(";")
                                                             if p.strip()))  # fmt: skip


def read_pool(path: Path | str, domains: dict[str, Domain]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pool's accepted rows, and the quarantine of the rest (source, row, field, rule, value).

    Rules: every column present; `inspector_id` present and unique (a repeat is quarantined);
    `district_code` present; `qualifications` known domains, at least one; `available_visits`
    a whole number >= 0; `conflicts` valid credit codes (GB 32100).

    Raises:
        PlanError: the file cannot be read, or lacks a column.
    """
    import pandera.pandas as pda
    from pandera.errors import SchemaErrors

    from riskdraw.domain.codes import valid_uscc_mask
    from riskdraw.io import read_text_csv

    path = Path(path)
    if not path.is_file():
        raise PlanError(
            f"inspector pool {path} not found: the simulated city delivers it with its extracts "
            "(inspectors/pool.csv); a real city gives its own CSV with --pool",
            USAGE,
        )
    raw = read_text_csv(path, POOL_COLUMNS, PlanError, "inspector pool")
    frame = raw.assign(row=np.arange(len(raw)))
    known = set(domains)

    def qualified(values: pd.Series) -> pd.Series:
        parts = _split(values)
        return parts.map(lambda q: bool(q) and set(q) <= known)

    def conflicts_valid(values: pd.Series) -> pd.Series:
        parts = _split(values)
        flat = [c for p in parts for c in p]
        ok = dict(zip(flat, valid_uscc_mask(pd.Series(flat, dtype=object)), strict=True))
        return parts.map(lambda p: all(ok[c] for c in p))

    def matches(pattern: str, name: str) -> pda.Check:
        return pda.Check(lambda s: s.str.fullmatch(pattern), name=name)

    schema = pda.DataFrameSchema(
        {
            "inspector_id": pda.Column(str, matches(r"\S+", "present")),
            "unit": pda.Column(str),
            "district_code": pda.Column(str, matches(r"\S+", "present")),
            "qualifications": pda.Column(str, pda.Check(qualified, name="known_domains")),
            "available_visits": pda.Column(str, matches(r"[0-9]{1,6}", "whole_number")),
            "conflicts": pda.Column(str, pda.Check(conflicts_valid, name="credit_codes")),
        }
    )
    failures = []
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as error:
        cases = error.failure_cases.dropna(subset=["index"])
        for case in cases.itertuples():
            failures.append({"row": int(case.index), "field": case.column, "rule": case.check})
    bad = {f["row"] for f in failures}
    repeated = frame["inspector_id"].duplicated() & ~frame["row"].isin(bad)
    failures += [{"row": int(r), "field": "inspector_id", "rule": "duplicate_inspector"}
                 for r in frame.loc[repeated, "row"]]  # fmt: skip
    quarantine = pd.DataFrame(failures, columns=["row", "field", "rule"])
    quarantine = quarantine.assign(
        source=str(path),
        value=[str(frame.at[r, f]) for r, f in zip(quarantine["row"], quarantine["field"],
                                                   strict=True)],
    )[["source", "row", "field", "rule", "value"]]  # fmt: skip
    accepted = frame[~frame["row"].isin(set(quarantine["row"]))].copy()
    accepted["qualifications"] = _split(accepted["qualifications"]).map(frozenset)
    accepted["conflicts"] = _split(accepted["conflicts"]).map(frozenset)
    accepted["available_visits"] = accepted["available_visits"].astype(int)
    return accepted.reset_index(drop=True), quarantine


def visit_domains(
    visits: pd.DataFrame,
    licences: pd.DataFrame | None,
    as_of: pd.Timestamp,
    domains: dict[str, Domain],
) -> pd.Series:
    """The domains each visit checks (a frozenset per visit, in the visits' order).

    Args:
        visits: entity_id and industry_code of each visit.
        licences: resolve's licence events (entity_id, licence_name, issued_on, valid_until,
            known_on), or None if none were delivered; a licence counts when known and in force
            at `as_of`.
        as_of: the screening date.
    """
    always = frozenset(d.name for d in domains.values() if d.always)
    by_licence = {lic: d.name for d in domains.values() for lic in d.licences}
    held: dict[str, set[str]] = {}
    if licences is not None and len(licences):
        valid = licences[(licences["known_on"] < as_of) & (licences["issued_on"] < as_of)
                         & (licences["valid_until"] >= as_of)]  # fmt: skip
        valid = valid[valid["licence_name"].isin(by_licence)
                      & valid["entity_id"].isin(visits["entity_id"])]  # fmt: skip
        for entity, name in zip(valid["entity_id"], valid["licence_name"], strict=True):
            held.setdefault(entity, set()).add(by_licence[name])
    prefixes = [(p, d.name) for d in domains.values() for p in d.industries]
    by_industry: dict[str, frozenset[str]] = {}  # a few hundred codes among the visits
    out = []
    for entity, industry in zip(visits["entity_id"], visits["industry_code"], strict=True):
        code = "" if industry is None or industry != industry else str(industry)
        if code not in by_industry:
            by_industry[code] = always | {name for p, name in prefixes if code.startswith(p)}
        out.append(by_industry[code] | held.get(entity, frozenset()))
    return pd.Series(out, index=visits.index, dtype=object)


def previous_inspectors(inspections: pd.DataFrame | None) -> dict[str, frozenset[str]]:
    """Per enterprise, the inspectors of its latest inspection (resolve's inspection events,
    `inspectors` separated by ";")."""
    if inspections is None or not len(inspections):
        return {}
    latest = inspections.sort_values(["occurred_on", "source_id", "row"]).drop_duplicates(
        "entity_id", keep="last"
    )
    return dict(zip(latest["entity_id"], _split(latest["inspectors"]).map(frozenset),
                    strict=True))  # fmt: skip


@dataclass(frozen=True)
class Staffing:
    """The inspectors of each visit and the pool's workload."""

    assignments: pd.DataFrame  # entity_id, inspectors, units, from_district, domains, excluded
    workload: pd.DataFrame  # inspector_id, unit, district_code, visits, capacity


def assign(
    visits: pd.DataFrame,
    pool: pd.DataFrame,
    domains: pd.Series,
    previous: dict[str, frozenset[str]],
    seed: str,
    per_visit: int,
    max_visits: int,
) -> Staffing:
    """Draw `per_visit` inspectors for every visit (see the module docstring).

    Args:
        visits: entity_id, credit_code and district_code of each visit.
        pool: `read_pool`'s accepted rows.
        domains: the domains of each visit (`visit_domains`, aligned with `visits`).
        previous: the inspectors of each enterprise's latest inspection.
        seed: the draw's seed (the assignment re-runs the same from it).
        per_visit: inspectors per visit.
        max_visits: the cap on any inspector's visits this round.

    Raises:
        PlanError: the pool is empty, or visits cannot be staffed: each district and domain
            short is named, with the visits it leaves unstaffed.
    """
    if pool.empty:
        raise PlanError("plan: the inspector pool is empty: no visit can be staffed")
    order = np.argsort(visits["entity_id"].to_numpy(dtype=str), kind="stable")
    visits, domains = visits.iloc[order], domains.iloc[order]  # the same whatever the row order
    rng = np.random.Generator(np.random.PCG64(int(seed[:32], 16)))
    bit = {d: 1 << k for k, d in enumerate(sorted(set().union(*pool["qualifications"],
                                                             *domains)))}  # fmt: skip
    qual = np.array([sum(bit[d] for d in q) for q in pool["qualifications"]], dtype=np.int64)
    ids = pool["inspector_id"].to_numpy()
    index = {str(v): j for j, v in enumerate(ids)}
    district = pool["district_code"].to_numpy()
    room = np.minimum(pool["available_visits"].to_numpy(), max_visits).astype(int)
    load = np.zeros(len(pool), dtype=int)
    conflicted: dict[str, list[int]] = {}
    for j, codes in enumerate(pool["conflicts"]):
        for code in codes:
            conflicted.setdefault(code, []).append(j)
    by_district = {d: np.flatnonzero(district == d) for d in pd.unique(district)}
    everyone = np.arange(len(pool))
    units = pool["unit"].astype(str).to_numpy()
    entities, codes = visits["entity_id"].to_numpy(), visits["credit_code"].to_numpy()
    homes, wanted = visits["district_code"].to_numpy(), domains.to_numpy()
    rows, short, unstaffed = [None] * len(visits), Counter(), 0
    barred = np.zeros(len(pool), dtype=bool)  # per visit: its last inspectors, its conflicts
    for i in rng.permutation(len(visits)):
        entity, code, home = entities[i], codes[i], homes[i]
        need = sum(bit[d] for d in wanted[i])
        barred[:] = False
        barred[[index[v] for v in previous.get(entity, ()) if v in index]] = True
        barred[conflicted.get(code, [])] = True
        team, local = None, False
        for candidates, here in ((by_district.get(home, everyone[:0]), True), (everyone, False)):
            order = candidates[rng.permutation(len(candidates))]
            eligible = order[(load[order] < room[order]) & ~barred[order]]
            team = _team(eligible, qual, need, per_visit)
            if team is not None:
                local = here
                break
        if team is None:
            unstaffed += 1
            free = load < room
            if not free.any():
                lacking = ["every inspector at their workload"]
            else:
                held = int(np.bitwise_or.reduce(qual[free]))
                lacking = [d for d in sorted(wanted[i]) if not bit[d] & held] or [
                    "too few eligible (last inspectors and conflicts barred)"
                ]
            for domain in lacking:
                short[(home, domain)] += 1
            continue
        load[team] += 1
        rows[i] = {"entity_id": entity, "inspectors": [str(ids[j]) for j in team],
                   "units": sorted({units[j] for j in team}),
                   "from_district": local, "domains": sorted(wanted[i]),
                   "excluded": sorted(previous.get(entity, ()))}  # fmt: skip
    if short:
        detail = "; ".join(
            f"district {d}, {q}: {n} visit(s)" for (d, q), n in sorted(short.items())
        )
        raise PlanError(
            f"plan: the inspector pool cannot staff {unstaffed:,} visit(s) with "
            f"{per_visit} eligible inspectors each (qualified together, available, no conflict, "
            f"not the enterprise's last inspector): short in {detail}"
        )
    workload = pool[["inspector_id", "unit", "district_code"]].assign(visits=load, capacity=room)
    return Staffing(pd.DataFrame(rows), workload)


def _team(eligible: np.ndarray, qual: np.ndarray, need: int, size: int) -> list[int] | None:
    """`size` of `eligible` (in their shuffled order) that together cover the domains `need`
    (bitmasks): each next member the first who covers all that is left, else the first who
    covers some of it, else (nothing left) the next; None if no such team."""
    if len(eligible) < size:
        return None
    masks = qual[eligible]
    free = np.ones(len(eligible), dtype=bool)
    team: list[int] = []
    left = need
    for _ in range(size):
        chosen = free & ((masks & left) == left)
        if left and not chosen.any():
            chosen = free & ((masks & left) != 0)
        if not chosen.any():
            chosen = free
        k = int(chosen.argmax())  # the first, in the shuffled order
        team.append(int(eligible[k]))
        left &= ~int(masks[k])
        free[k] = False
    return team if not left else None


def assignments_bytes(assignments: pd.DataFrame) -> bytes:
    """`assignments.csv` exactly (lists joined by ";", in entity_id order): what `verify` with
    the pool re-creates."""
    frame = assignments.sort_values("entity_id", ignore_index=True)
    frame = frame.assign(**{c: frame[c].map(";".join) for c in
                            ("inspectors", "units", "domains", "excluded")})  # fmt: skip
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def staffing_report(staffing: Staffing, pool: pd.DataFrame, refused: pd.DataFrame) -> dict:
    """The pool and its use: inspectors accepted and quarantined (by rule), inspectors used,
    visits staffed from outside their district, the workload's spread."""
    load = staffing.workload["visits"]
    used = load[load > 0]
    a = staffing.assignments
    return {
        "pool": len(pool) + refused["row"].nunique() if len(refused) else len(pool),
        "accepted": len(pool),
        "quarantined": int(refused["row"].nunique()) if len(refused) else 0,
        "quarantine_rules": refused["rule"].value_counts().to_dict() if len(refused) else {},
        "used": int((load > 0).sum()),
        "visits_from_other_districts": int((~a["from_district"]).sum()) if len(a) else 0,
        "workload_max": int(load.max()) if len(load) else 0,
        "workload_mean_of_used": float(used.mean()) if len(used) else 0.0,
    }
