"""`riskdraw city check` and `city ingest`: a configured city checked, then handed off.

`check_city` reads and maps every table (`cities.tables.prepare`) and says, before any compute,
what the flow would get: each table's rows accepted, refused and left out (they reconcile),
the keys that never join the registry, the dates out of range, the codes not mapped, the
rounds with their inspections and problems, and the attributes the profile will derive from
each kind. An `error` issue means no stage starts (`write_handoff` refuses). `write_handoff`
writes the hand-off the profile, screening and plan read: `entities.parquet`,
`events/<kind>.parquet`, `features.parquet` (a published feature table), `pool.csv` (the
inspector pool, in `riskdraw plan --pool`'s columns), `rounds.csv` and `quarantine.csv`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskdraw.errors import DATA

from .config import City, CityError
from .profile import attribute_plan, city_attributes
from .tables import Prepared, prepare


def check_city(city: City, folder: Path) -> tuple[dict, Prepared]:
    """The city's check report and its prepared tables (see the module docstring)."""
    prepared = prepare(city, folder)
    q = prepared.quarantine
    inspections = prepared.events.get("inspection")
    rounds = []
    for r in prepared.rounds.itertuples():
        inside = pd.DataFrame()
        if inspections is not None:
            days = inspections["occurred_on"]
            inside = inspections[(days >= r.start) & (days < r.end + pd.Timedelta(days=1))]
        rounds.append(
            {
                "round": r.task,
                "as_of_date": str(r.as_of_date.date()),
                "inspections": len(inside),
                "hit_rate": round(float(inside["problem"].mean()), 4) if len(inside) else None,
            }
        )
    if city.features is None and not prepared.errors:
        prepared.attribute_plan = attribute_plan(
            city_attributes(city, prepared.entities, prepared.events)
        )
    elif city.features is not None:
        prepared.attribute_plan = {
            "features": [
                *city.features.attributes,
                *[f"{c}={v}" for c, vs in city.features.categories.items() for v in vs],
            ]
        }
    report = {
        "city": city.name,
        "status": "error" if prepared.errors else "ok",
        "tables": prepared.counts,
        "entities": None if prepared.entities is None else len(prepared.entities),
        "events": {k: len(v) for k, v in prepared.events.items()},
        "refused_by_rule": {
            f"{t}.{f}: {r}": int(n)
            for (t, f, r), n in q.groupby(["table", "field", "rule"]).size().items()
        },
        "rounds": rounds,
        "screening_date": city.rounds.screening_date,
        "attributes": {k: len(v) for k, v in prepared.attribute_plan.items()},
        "issues": [vars(i) for i in prepared.issues],
        "can_screen": city.registry is not None and city.rounds.screening_date is not None,
        "can_plan": city.inspectors is not None and city.rounds.screening_date is not None,
    }
    return report, prepared


def write_handoff(city: City, folder: Path, out: Path, city_file: Path) -> dict:
    """Check the city and write its hand-off to `out` (beside itself, swapped in on success).

    Raises:
        CityError: the check found an error (exit status 3): every error is in the message.
    """
    from riskdraw.io import write_csv
    from riskdraw.outputs import staged_folder, write_completion

    report, prepared = check_city(city, folder)
    if prepared.errors:
        lines = "\n".join(f"  {i.message}" for i in prepared.errors)
        raise CityError(
            f"city {city.name}: the check found {len(prepared.errors)} error(s); "
            f"nothing was written:\n{lines}",
            DATA,
        )
    inputs = {
        "city": Path(city_file),
        **{f"table {n}": Path(folder) / t.path for n, t in city.tables.items()},
    }
    with staged_folder(out, inputs) as work:
        if prepared.entities is not None:
            prepared.entities.drop(columns="row").to_parquet(work / "entities.parquet", index=False)
        (work / "events").mkdir()
        for kind, frame in prepared.events.items():
            frame.to_parquet(work / "events" / f"{kind}.parquet", index=False)
        if prepared.features is not None:
            prepared.features.drop(columns="row").to_parquet(work / "features.parquet", index=False)
        if prepared.pool is not None:
            write_csv(prepared.pool, work / "pool.csv", index=False)
        write_csv(prepared.rounds, work / "rounds.csv", index=False)
        write_csv(prepared.quarantine, work / "quarantine.csv", index=False)
        write_completion(
            work,
            "city-ingest",
            inputs,
            params={"city": city.name},
            counts={"tables": prepared.counts, "events": report["events"]},
        )
    return report
