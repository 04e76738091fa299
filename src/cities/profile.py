"""The generic profile: point-in-time attributes of a configured city, by record kind.

From any city's hand-off (`cities.tables`: entities, events by kind, rounds), one row per
`(entity_id, as_of_date)` under the same time contract as the simulated city's profile
(`features.profile`): a record counts only if it was known before the as-of date; windows look
back over when things happened. Each round is as of its first day and labelled by the
inspections made within it; the screening date has no labels. Rows: the enterprises open at
the as-of date, and every enterprise the round inspected.

Attributes, by kind (`city_attributes`):

- every kind: its records counted in the windows of `features.attributes.WINDOWS`, days since
  the latest, and the trend (the last 365 days' count less the 365 before): for inspections,
  complaints, licences, penalties and lawsuits by the simulated city's own definitions and
  names (`inspection_count_count_365d`, `complaint_count_days_since`, ...);
- inspections: those that found a problem, counted, as a share, and days since the latest;
- each category value: its records counted in every window, and whether the latest has it;
- each number or amount: its sum and largest value in every window, and its latest value;
- licences' `valid_until`: licences valid and lapsed at the as-of date;
- the registry: years in existence, size, and one 0/1 attribute per district, industry and
  entity type.

A city with a published per-inspection feature table (`features` in its file) is profiled by
that table as it is: each row is one inspection, in the round it was made (`features_profile`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from riskdraw.features.attributes import Attribute, Measure, _expand, _is, _latest
from riskdraw.features.profile import (
    FAMILIES_KEY,
    KEY,
    WORDING_KEY,
    connect,
    join_keyed,
    keyed,
    kind_table,
)

from .config import City, CityError

log = logging.getLogger(__name__)

MAX_CATEGORY_VALUES = 20
"""A category without a map gets one attribute per value for its most frequent values."""
_KIND_WORDS = {
    "inspection": ("count", "检查", "inspections"),
    "complaint": ("count", "投诉举报", "complaints and reports"),
    "licence": ("issued", "取得许可", "licences issued"),
    "penalty": ("count", "行政处罚", "administrative penalties"),
    "lawsuit": ("count", "涉诉案件", "lawsuits"),
}
"""kind -> (measure, zh, en): the simulated city's names where the kinds match."""


def slug(text: str) -> str:
    """A value as part of an attribute's name: lower-case letters, digits and underscores."""
    import re

    out = re.sub(r"[^0-9a-z]+", "_", str(text).strip().lower()).strip("_")
    return out or f"x{abs(hash(text)) % 10**6}"


def round_of(dates: pd.Series, rounds: pd.DataFrame) -> pd.Series:
    """Each date's round (its index in `rounds`), -1 outside every round."""
    out = np.full(len(dates), -1)
    values = pd.to_datetime(dates).dt.normalize().to_numpy()
    for i, r in rounds.iterrows():
        out[(values >= r.start.to_datetime64()) & (values <= r.end.to_datetime64())] = i
    return pd.Series(out, index=dates.index)


def _words(kind: str) -> tuple[str, str, str]:
    return _KIND_WORDS.get(kind, ("count", kind, f"{kind.replace('_', ' ')} records"))


def _trend(kind: str, measure: str, zh: str, en: str) -> Attribute:
    def expr(t: ibis.Table) -> ibis.Value:
        gap = (t.as_of_date.epoch_seconds() - t.occurred_on.epoch_seconds()) / 86400
        recent = (gap <= 365).ifelse(1, 0).sum()
        before = ((gap > 365) & (gap <= 730)).ifelse(1, 0).sum()
        return recent - before

    return Attribute(
        f"{kind}_{measure}_trend_365d",
        f"{kind}:{measure}",
        (kind,),
        f"近365天{zh}次数减前365天",
        f"{en} in the last 365 days less the 365 before",
        expr=expr,
    )


def _category(kind: str, name: str, values: list[str]) -> list[Attribute]:
    out: list[Attribute] = []
    for value in values:
        out += _expand(
            Measure(
                kind,
                f"{name}_{slug(value)}",
                f"{name}为{value}的记录",
                f"{kind} records with {name} {value}",
                _is(name, value),
                family=f"{kind}:{name}",
            )
        )
        out.append(
            Attribute(
                f"{kind}_{name}_latest_{slug(value)}",
                f"{kind}:{name}",
                (kind,),
                f"最近一条记录的{name}为{value}",
                f"the latest {kind} record's {name} is {value}",
                expr=_latest(lambda t, n=name, v=value: (t[n] == v).ifelse(1, 0)),
                empty=None,
            )
        )
    return out


def _number(kind: str, name: str) -> list[Attribute]:
    out = _expand(
        Measure(
            kind,
            name,
            name,
            f"{kind} {name}",
            value=lambda t, n=name: t[n].cast("float64").fill_null(0),
            aggs=("sum", "max"),
        )
    )
    out.append(
        Attribute(
            f"{kind}_{name}_latest",
            f"{kind}:{name}",
            (kind,),
            f"最近一条记录的{name}",
            f"{name} of the latest {kind} record",
            expr=_latest(lambda t, n=name: t[n].cast("float64")),
            empty=None,
        )
    )
    return out


def _validity(kind: str) -> list[Attribute]:
    """The simulated city's licence validity, for any kind with a `valid_until` date."""
    return [
        Attribute(
            f"{kind}_valid_now",
            f"{kind}:lapsed",
            (kind,),
            "有效许可证数",
            "licences valid at the as-of date",
            expr=lambda t: (t.valid_until >= t.as_of_date).ifelse(1, 0).sum(),
        ),
        Attribute(
            f"{kind}_lapsed_now",
            f"{kind}:lapsed",
            (kind,),
            "已过期许可证数",
            "licences lapsed and not renewed",
            expr=lambda t: (t.valid_until < t.as_of_date).ifelse(1, 0).sum(),
        ),
    ]


def kind_attributes(kind: str, values: dict[str, tuple[str, list[str]]]) -> list[Attribute]:
    """One kind's attributes (see the module docstring).

    Args:
        kind: the record kind.
        values: the kind's values: name -> (type, the category's values; [] otherwise).
    """
    measure, zh, en = _words(kind)
    out = _expand(Measure(kind, measure, zh, en, aggs=("count", "days_since")))
    out.append(_trend(kind, measure, zh, en))
    if kind == "inspection":
        out += _expand(
            Measure(
                "inspection",
                "problem",
                "检查发现问题",
                "inspections that found a problem",
                lambda t: t.problem == 1,
                aggs=("count", "share", "days_since"),
            )
        )
    for name, (kind_of, categories) in values.items():
        if kind_of == "category":
            out += _category(kind, name, categories)
        elif kind_of in ("number", "amount"):
            out += _number(kind, name)
        elif name == "valid_until":
            out += _validity(kind)
    return out


def _registry_attributes(districts, industries, types, sized: bool) -> list[Attribute]:
    def reg(name, family, zh, en, empty=None):
        return Attribute(name, family, ("registration",), zh, en, source="registry", empty=empty)

    out = [reg("years_in_existence", "registration:founded_on", "成立年限", "years since founding")]
    if sized:
        out += [
            reg("size", "registration:size", "规模", "size (as the registry states it)"),
            reg("size_log", "registration:size", "规模(对数)", "log10 of 1 + size"),
        ]
    for prefix, family, word, values in (
        ("district", "registration:district", "district", districts),
        ("industry", "registration:industry_code", "industry", industries),
        ("type", "registration:entity_type", "entity type", types),
    ):
        out += [
            reg(f"{prefix}_{slug(v)}", family, f"{word}为{v}", f"{word} is {v}", empty=0.0)
            for v in values
        ]
    return out


def _frequent(values: pd.Series, limit: int = MAX_CATEGORY_VALUES) -> list[str]:
    counts = values.dropna().astype(str).value_counts()
    return sorted(counts.index[:limit])


def city_attributes(
    city: City, entities: pd.DataFrame | None, events: dict[str, pd.DataFrame]
) -> list[Attribute]:
    """Every attribute the city's profile holds, in column order: events' kinds, then the
    registry's (a category's values: its map's, else its most frequent in the data)."""
    out: list[Attribute] = []
    for event in city.events:
        frame = events.get(event.kind)
        if frame is None:
            continue
        values: dict[str, tuple[str, list[str]]] = {}
        if event.kind == "inspection":
            values["outcome"] = (
                "category",
                sorted(set(event.outcome.map.values()) - set(city.label.not_counted)),
            )
        for name, spec in event.values.items():
            if spec.type == "category":
                cats = sorted(set(spec.map.values())) if spec.map else _frequent(frame[name])
                values[name] = ("category", cats)
            else:
                values[name] = (spec.type, [])
        out += kind_attributes(event.kind, values)
    if entities is not None:
        reg = city.registry

        def cats(column: str, spec) -> list[str]:
            if spec is None:
                return []
            return sorted(set(spec.map.values())) if spec.map else _frequent(entities[column])

        out += _registry_attributes(
            cats("district_code", reg.district),
            cats("industry_code", reg.industry),
            cats("entity_type", reg.entity_type),
            reg.size is not None,
        )
    return out


def attribute_plan(attrs: list[Attribute]) -> dict[str, list[str]]:
    """kind (or `registration`) -> the names of the attributes derived from it."""
    plan: dict[str, list[str]] = {}
    for a in attrs:
        plan.setdefault(a.kinds[0], []).append(a.name)
    return plan


def _registry_values(t: ibis.Table, attrs: list[Attribute]) -> dict[str, ibis.Value]:
    days = (t.as_of_date.epoch_seconds() - t.opened_on.epoch_seconds()) / 86400
    values = {
        "years_in_existence": days / 365.25,
        "size": t.size,
        "size_log": (t.size.fill_null(0).clip(lower=0) + 1).log10(),
    }
    for a in attrs:
        for prefix, column in (
            ("district_", "district_code"),
            ("industry_", "industry_code"),
            ("type_", "entity_type"),
        ):
            if a.source == "registry" and a.name.startswith(prefix):
                value = a.en.split(" is ", 1)[1]
                values[a.name] = (t[column] == value).ifelse(1, 0)
    return {a.name: values[a.name] for a in attrs if a.source == "registry"}


def build_profile(
    con: ibis.BaseBackend, folder: Path, snaps: pd.DataFrame, attrs: list[Attribute]
) -> ibis.Table:
    """The profile of the snapshots `snaps` (as_of_date, snapshot, task, end) as a lazy table.

    Args:
        con: an Ibis backend (`features.profile.connect()`).
        folder: the city's hand-off (`entities.parquet`, `events/`).
        attrs: `city_attributes`.
    """
    events = Path(folder) / "events"
    snap_t = ibis.memtable(snaps[["as_of_date", "snapshot", "task", "end"]])
    ents = con.read_parquet(Path(folder) / "entities.parquet")
    grid = ents.cross_join(snap_t.select("as_of_date"))
    is_open = (grid.opened_on < grid.as_of_date) & (
        grid.closed_on.isnull() | (grid.closed_on >= grid.as_of_date)
    )
    population = grid.filter(is_open).select(KEY)
    insp = con.read_parquet(events / "inspection.parquet")
    rounds = snap_t.filter(snap_t.snapshot == "round")
    j = insp.join(
        rounds,
        (insp.occurred_on >= rounds.as_of_date)
        & (insp.occurred_on < rounds.end + ibis.interval(days=1)),
    )
    labels = j.group_by(KEY).aggregate(
        problem=j.problem.max(), inclusion_probability=j.inclusion_probability.max()
    )
    population = population.union(labels.select(KEY), distinct=True)
    kinds: dict[str, list[Attribute]] = {}
    for a in attrs:
        if a.source == "event":
            kinds.setdefault(a.kinds[0], []).append(a)
    tables = {"entity": ents.rename(entity__entity_id="entity_id"),
              "labels": keyed(labels, "labels")}  # fmt: skip
    for kind, kind_attrs in kinds.items():
        tables[kind] = keyed(kind_table(con, events, kind, kind_attrs, snap_t), kind)
    snap_keyed = snap_t.rename(snap__as_of_date="as_of_date")
    chain = population.join(snap_keyed, population.as_of_date == snap_keyed.snap__as_of_date)
    chain = join_keyed(chain, tables)
    wide = chain.select(
        *KEY,
        "snapshot",
        "task",
        "opened_on",
        "size",
        "district_code",
        "industry_code",
        "entity_type",
        "problem",
        "inclusion_probability",
        *[a.name for a in attrs if a.source == "event"],
    )
    values = _registry_values(wide, attrs)
    filled = {}
    for a in attrs:
        column = (values[a.name] if a.name in values else wide[a.name]).cast("float64")
        filled[a.name] = column.fill_null(float(a.empty)) if a.empty is not None else column
    return wide.select(
        *KEY,
        "snapshot",
        task=wide.task.cast("string"),
        inspected=wide.problem.notnull(),
        problem=wide.problem.cast("int8"),
        inclusion_probability=wide.inclusion_probability.cast("float64"),
        **filled,
    ).order_by(["as_of_date", "entity_id"])


def snapshots(rounds: pd.DataFrame, screening_date: str | None, with_rounds: bool) -> pd.DataFrame:
    """The as-of dates: each round (as of its first day) and the screening date."""
    frames = []
    if with_rounds:
        frames.append(rounds.assign(snapshot="round")[["as_of_date", "snapshot", "task", "end"]])
    if screening_date is not None:
        day = pd.Timestamp(screening_date)
        frames.append(
            pd.DataFrame(
                {"as_of_date": [day], "snapshot": ["screening"], "task": [None], "end": [day]}
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).astype("datetime64[us]")
    out["end"] = pd.to_datetime(out["end"]).astype("datetime64[us]")
    out["task"] = out["task"].astype(object)
    return out


def features_profile(city: City, folder: Path) -> tuple[pd.DataFrame, list[Attribute], int]:
    """A published feature table as the profile, from the city's hand-off (`features_frame`)."""
    folder = Path(folder)
    return features_frame(
        city,
        pd.read_parquet(folder / "features.parquet"),
        pd.read_parquet(folder / "events" / "inspection.parquet"),
        read_rounds(folder),
    )


def read_rounds(folder: Path) -> pd.DataFrame:
    """The hand-off's rounds (start, end, as_of_date, task)."""
    return pd.read_csv(Path(folder) / "rounds.csv", parse_dates=["start", "end", "as_of_date"])


def features_frame(
    city: City, feats: pd.DataFrame, insp: pd.DataFrame, rounds: pd.DataFrame
) -> tuple[pd.DataFrame, list[Attribute], int]:
    """A published feature table as the profile: one row per inspection, in its round.

    Args:
        feats, insp, rounds: the hand-off's features, inspection events and rounds.

    Returns:
        (frame, attributes, rows outside every round): the frame's columns are inspection_id,
        entity_id, as_of_date (the round's first day), inspection_date, snapshot, task,
        inspected, problem, inclusion_probability, then the attributes (the inspector's, as
        `inspector_<group>`, where the city's `features.inspector_attributes` says so).
    """
    merged = feats.merge(
        insp, on="record_id", how="inner", validate="one_to_one", suffixes=("", "_event")
    )
    which = round_of(merged["occurred_on"], rounds)
    outside = int((which < 0).sum())
    merged, which = merged[which >= 0].reset_index(drop=True), which[which >= 0].to_numpy()
    spec = city.features
    names = [
        *spec.attributes,
        *[f"{slug(c)}_{slug(v)}" for c, vs in spec.categories.items() for v in vs],
    ]
    attrs = [Attribute(n, n, ("features",), n, n, source="features", empty=None) for n in names]
    frame = pd.DataFrame(
        {
            "inspection_id": merged["record_id"].to_numpy(),
            "entity_id": merged["entity_id"].to_numpy(),
            "as_of_date": rounds["as_of_date"].to_numpy()[which].astype("datetime64[us]"),
            "inspection_date": merged["occurred_on"].to_numpy(),
            "snapshot": "round",
            "task": rounds["task"].to_numpy()[which],
            "inspected": True,
            "problem": merged["problem"].astype("int8").to_numpy(),
            "inclusion_probability": merged["inclusion_probability"].astype(float).to_numpy(),
        }
    )
    frame = pd.concat([frame, merged[names].astype(float)], axis=1)
    if spec.inspector_attributes:
        groups = sorted(set(merged["inspectors"]) - {""})
        flags = {
            f"inspector_{slug(g)}": (merged["inspectors"] == g).astype(float).to_numpy()
            for g in groups
        }
        frame = frame.assign(**flags)
        attrs += [
            Attribute(
                n,
                "inspector",
                ("inspection",),
                n,
                f"inspected by {g}",
                source="features",
                empty=None,
            )
            for n, g in zip(flags, groups, strict=True)
        ]
    return frame, attrs, outside


def _metadata(attrs: list[Attribute]) -> dict[bytes, bytes]:
    return {
        FAMILIES_KEY: json.dumps({a.name: a.family for a in attrs}).encode(),
        WORDING_KEY: json.dumps(
            {a.name: {"en": a.en, "zh": a.zh} for a in attrs}, ensure_ascii=False
        ).encode(),
    }


def _write(table, path: Path, meta: dict[bytes, bytes]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    pq.write_table(table, path)
    return table.num_rows


def run_city_profile(
    city: City,
    settings,
    folder: Path,
    out: Path,
    screening_only: bool = False,
    progress: bool = True,
) -> tuple[dict, list[Attribute]]:
    """The `profile` stage for a configured city: every snapshot written to `out` (one Parquet
    file per as-of date, carrying its attributes' families and wording), and its report.

    Args:
        city: the city (`cities.config.load_city`).
        settings: the `profile` section (screening date, rounds, DuckDB's resources).
        folder: the city's hand-off (`riskdraw city ingest`).
        out: the profile's folder.
    """
    from tqdm.auto import tqdm

    from riskdraw.outputs import require_complete, staged_folder, write_completion

    start = time.perf_counter()
    require_complete(folder, "city-ingest", "profile")
    folder = Path(folder)
    rows: dict[str, int] = {}
    outside = 0
    with staged_folder(out, {"city": folder}) as work:
        if city.features is not None:
            frame, attrs, outside = features_profile(city, folder)
            meta = _metadata(attrs)
            for date, part in frame.groupby("as_of_date"):
                day = pd.Timestamp(date).date().isoformat()
                rows[day] = _write(part, work / f"as_of={day}.parquet", meta)
        else:
            entities = pd.read_parquet(folder / "entities.parquet")
            events = {
                p.stem: pd.read_parquet(p) for p in sorted((folder / "events").glob("*.parquet"))
            }
            attrs = city_attributes(city, entities, events)
            meta = _metadata(attrs)
            rounds = read_rounds(folder)
            # The screening is the city file's: a city without a screening date has none.
            screening = city.rounds.screening_date
            with_rounds = settings.rounds and not screening_only
            if screening is None and not with_rounds:
                raise CityError(
                    f"city {city.name}: its file gives no screening date "
                    "(rounds.screening_date), so there is no screening snapshot to build"
                )
            snaps = snapshots(rounds, screening, with_rounds)
            con = connect(settings.memory_limit, settings.threads or None)
            for i in tqdm(range(len(snaps)), desc="profile", unit="snapshot", disable=not progress):
                one = snaps.iloc[[i]].reset_index(drop=True)
                day = pd.Timestamp(one["as_of_date"].iloc[0]).date().isoformat()
                table = build_profile(con, folder, one, attrs).to_pyarrow()
                rows[day] = _write(table, work / f"as_of={day}.parquet", meta)
        write_completion(
            work,
            "profile",
            {"city": folder},
            params={"city": city.name},
            counts={"rows_by_as_of_date": rows},
        )
    return _report(city, out, attrs, outside, time.perf_counter() - start), attrs


def _report(city: City, out: Path, attrs: list[Attribute], outside: int, seconds: float) -> dict:
    import pyarrow.parquet as pq

    keys = ["as_of_date", "snapshot", "task"]
    columns = pq.read_table(out, columns=[*keys, "inspected", "problem"]).to_pandas()
    summary = (
        columns.assign(inspected=columns["inspected"].astype("float64").fillna(0))
        .groupby(keys, dropna=False, sort=True)
        .agg(
            rows=("inspected", "size"), inspected=("inspected", "sum"), problems=("problem", "sum")
        )
        .reset_index()
    )
    return {
        "city": city.name,
        "rows": int(summary["rows"].sum()),
        "attributes": len(attrs),
        "families": len({a.family for a in attrs}),
        "inspections_outside_rounds": outside,
        "snapshots": [
            {
                "as_of_date": str(r.as_of_date.date()),
                "snapshot": r.snapshot,
                "task": r.task if isinstance(r.task, str) else None,
                "rows": int(r.rows),
                "inspected": int(r.inspected or 0),
                "hit_rate": round(float(r.problems) / r.inspected, 4) if r.inspected else None,
            }
            for r in summary.itertuples()
        ],
        "seconds": round(seconds, 1),
    }
