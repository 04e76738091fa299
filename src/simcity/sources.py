"""The departments' sources: expand `simulate.sources` into one entry per source, route events.

A source is one (department, level, record kind): most are district branches of the market
supervision bureau, each with its own delivery habits (format, encoding, date style, key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from riskdraw.config import SimulateParams
from riskdraw.domain.regions import DISTRICTS

CITY = "city"
CITY_AREA = "佛山市"
CITY_SHARE = 0.1  # share of a kind's events a department's city bureau handles itself
LICENCE_PREFIX = "licence_"


@dataclass(frozen=True)
class Source:
    source_id: str
    department: str
    group: str  # the department across levels (routing unit)
    level: str  # "city" or a district's short name
    district_code: str | None
    kind: str  # the record kind (licences share one kind, "licence")
    licence_domain: str | None
    format: str
    encoding: str
    date_style: str
    key: str
    amount_unit: str
    weight: float

    @property
    def folder(self) -> str:
        return f"{self.source_id}-{self.kind.replace('_', '-')}"

    @property
    def file_name(self) -> str:
        return f"extract.{self.format}"

    def manifest_entry(self) -> dict:
        entry = asdict(self)
        entry["file"] = f"{self.folder}/{self.file_name}"
        return entry


def _district_code(short: str) -> str:
    for code, district in DISTRICTS.items():
        if district.short_name == short:
            return code
    raise ValueError(f"simulate.sources: unknown level {short!r} (use 'city' or a district)")


def build_sources(params: SimulateParams) -> list[Source]:
    """Expand the source families of params into the list of sources, numbered S001..."""
    sources: list[Source] = []
    for family in params.sources:
        for dept in family.depts:
            group = family.department.replace("{dept}", dept)
            for kind in family.kinds:
                for level in family.levels:
                    habit = family.default.model_dump()
                    habit.update(
                        {
                            k: v
                            for k, v in family.habits.get(level, family.default)
                            .model_dump()
                            .items()
                            if v is not None
                        }
                    )
                    if kind in family.overrides:
                        habit.update(
                            {
                                k: v
                                for k, v in family.overrides[kind].model_dump().items()
                                if v is not None
                            }
                        )
                    if level == CITY:
                        code, area, district = None, CITY_AREA, CITY_AREA
                    else:
                        code = _district_code(level)
                        district = DISTRICTS[code].name
                        area = CITY_AREA + district
                    name = group.replace("{area}", area).replace("{district}", district)
                    domain = (
                        kind[len(LICENCE_PREFIX) :] if kind.startswith(LICENCE_PREFIX) else None
                    )
                    sources.append(
                        Source(
                            source_id=f"S{len(sources) + 1:03d}",
                            department=name,
                            group=group,
                            level=level,
                            district_code=code,
                            kind="licence" if domain else kind,
                            licence_domain=domain,
                            weight=family.weights.get(kind, 1.0),
                            **habit,
                        )
                    )
    return sources


def route(
    rng: np.random.Generator,
    sources: list[Source],
    kind: str,
    districts: np.ndarray,
    domain: str | None = None,
) -> np.ndarray:
    """For each event of `kind` (by its enterprise's district), the index of its source.

    A department is chosen by weight among those delivering the kind; within it, the district
    branch of the enterprise's district, or the city bureau (all of it where there is no branch,
    `CITY_SHARE` of it where there are both).
    """
    candidates = [i for i, s in enumerate(sources) if s.kind == kind and s.licence_domain == domain]
    if not candidates:
        raise ValueError(
            f"simulate.sources: no source delivers record kind {kind!r}"
            + (f" ({domain})" if domain else "")
        )
    groups = sorted({sources[i].group for i in candidates})
    weights = np.array(
        [max(sources[i].weight for i in candidates if sources[i].group == g) for g in groups]
    )
    pick = rng.choice(len(groups), len(districts), p=weights / weights.sum())
    out = np.full(len(districts), -1, dtype=np.int64)
    for g, group in enumerate(groups):
        members = [i for i in candidates if sources[i].group == group]
        city = [i for i in members if sources[i].level == CITY]
        by_district = {sources[i].district_code: i for i in members if sources[i].level != CITY}
        mask = pick == g
        to_city = mask & (rng.random(len(districts)) < (CITY_SHARE if by_district else 1.0))
        if not city:
            to_city[:] = False
        for code, i in by_district.items():
            out[mask & ~to_city & (districts == code)] = i
        if city:
            out[mask & (to_city | (out < 0))] = city[0]
        left = mask & (out < 0)
        if left.any():  # a district this department has no branch in: its nearest is random
            out[left] = rng.choice(list(by_district.values()), int(left.sum()))
    return out
