"""A configured city's tables read into riskdraw's hand-off: entities, events, quarantine.

`prepare(city, folder)` reads every table its file names with ingest's readers, maps its
columns and codes, parses its dates and amounts with ingest's parsers, and returns the same
hand-off `resolve` gives the simulated city: one row per enterprise (`entities`), one table of
events per kind keyed by `entity_id` (`entity_id, occurred_on, known_on, source_id, row`, what
the kind carries), and the quarantine: every row refused, with its table, row, field, rule and
value. Every row of every table is accepted, refused (quarantined) or left out by the city's
own choice (`keep`, outcomes `not_counted`), and the counts reconcile per table. What cannot
be used at all (a missing file or column, an unmapped outcome, overlapping rounds, more
unjoined keys or refused rows than `checks` allows) is an `Issue` of level `error`: the city
check names it and no stage starts. Nothing here computes an attribute (`cities.profile`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from riskdraw.governance import values as V

from .config import City, Event, Value
from .profile import slug

LEFT_OUT = ("left_out_by_keep", "outcome_not_counted")
"""The rules of rows the city itself leaves out (not faults: never held against `checks`)."""
QUARANTINE_COLUMNS = ["table", "row", "field", "rule", "value"]


@dataclass(frozen=True)
class Issue:
    """Something `city check` reports: an `error` stops the flow, a `warning` does not."""

    level: str
    table: str
    field: str
    rule: str
    message: str
    count: int = 0


@dataclass
class Prepared:
    """The city's tables as riskdraw's hand-off (see the module docstring)."""

    entities: pd.DataFrame | None
    events: dict[str, pd.DataFrame]
    features: pd.DataFrame | None
    pool: pd.DataFrame | None
    rounds: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    issues: list[Issue] = field(default_factory=list)
    attribute_plan: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]


class _Refusals:
    """Rows refused so far, per table: the first rule each row broke, with its field and value."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, table: str, rows: np.ndarray, field: str, rule, values) -> None:
        if len(rows):
            self.frames.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "row": rows,
                        "field": field,
                        "rule": rule,
                        "value": pd.Series(values, dtype=object)
                        .astype(str)
                        .str.slice(0, 80)
                        .to_numpy(),
                    }
                )
            )

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=QUARANTINE_COLUMNS).astype({"row": "int64"})
        out = pd.concat(self.frames, ignore_index=True)
        return out.drop_duplicates(["table", "row"]).reset_index(drop=True)  # the first reason


def read_table(city: City, folder: Path, name: str) -> pd.DataFrame:
    """One table as text (every value a string, "" where empty), read by ingest's readers.

    Raises:
        CityFileError: the file is missing or cannot be read (its path and the fault).
    """
    spec = city.tables[name]
    path = Path(folder) / spec.path
    if not path.is_file():
        raise CityFileError(f"table {name}: {path} not found")
    if spec.format == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as fault:
            raise CityFileError(f"table {name}: {path} cannot be read: {fault}") from None
        table = pa.table({c: table[c].cast(pa.string()) for c in table.column_names})
    elif path.suffix == ".gz":  # a compressed extract: ingest's reader reads it unpacked
        import gzip
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / path.stem
            try:
                with gzip.open(path, "rb") as packed, plain.open("wb") as unpacked:
                    shutil.copyfileobj(packed, unpacked)
            except (OSError, EOFError) as fault:
                raise CityFileError(f"table {name}: {path} cannot be unpacked: {fault}") from None
            table = _extract(plain, spec, name)
    else:
        table = _extract(path, spec, name)
    return table.to_pandas().fillna("").astype(str)


class CityFileError(Exception):
    """A table file that cannot be read."""


def _extract(path: Path, spec, name: str) -> pa.Table:
    from riskdraw.governance.readers import read_extract

    result = read_extract(path, spec.format, spec.encoding)
    if result.error:
        raise CityFileError(f"table {name}: {result.error}")
    return result.table


def _text(values: pd.Series) -> pd.Series:
    cleaned = V.clean_text(pa.array(values.to_numpy(dtype=object), type=pa.string()))
    return pd.Series(
        cleaned.values.to_numpy(zero_copy_only=False), index=values.index, dtype=object
    ).fillna("")


def _dates(values: pd.Series, style, earliest: str, latest) -> tuple[np.ndarray, np.ndarray]:
    parsed = V.parse_dates(
        pa.array(values.to_numpy(dtype=object), type=pa.string()),
        style,
        dt.date.fromisoformat(earliest),
        latest,
    )
    return parsed.values.astype("datetime64[us]"), np.asarray(parsed.rule, dtype=object)


def _value(
    values: pd.Series, spec: Value, unit: str, style, checks
) -> tuple[np.ndarray, np.ndarray]:
    """A mapped value's parsed values and, per row, the rule it broke (None if none)."""
    n = len(values)
    if spec.type == "date":  # a value's date may lie ahead (a licence's expiry)
        return _dates(values, style, checks.earliest, None)
    if spec.type in ("number", "amount"):
        if spec.type == "amount":
            parsed = V.parse_amounts(
                pa.array(values.to_numpy(dtype=object), type=pa.string()), unit
            )
            out, rule = parsed.values.astype(float), np.asarray(parsed.rule, dtype=object)
        else:
            text = _text(values)
            out = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
            rule = np.full(n, None, dtype=object)
            rule[(text != "").to_numpy() & np.isnan(out)] = "number_unparseable"
        lo = -np.inf if spec.minimum is None else spec.minimum
        hi = np.inf if spec.maximum is None else spec.maximum
        rule[np.equal(rule, None) & ~np.isnan(out) & ((out < lo) | (out > hi))] = "out_of_range"
        return out, rule
    text = _text(values)
    rule = np.full(n, None, dtype=object)
    if spec.map is None:
        return text.where(text != "", None).to_numpy(dtype=object), rule
    mapped = text.map(spec.map)
    rule[(text != "").to_numpy() & mapped.isna().to_numpy()] = "value_not_mapped"
    return mapped.where(mapped.notna(), None).to_numpy(dtype=object), rule


def _missing_columns(table: str, frame: pd.DataFrame, columns: list[str]) -> list[Issue]:
    return [
        Issue(
            "error",
            table,
            c,
            "column_missing",
            f"table {table} has no column {c!r} (it has {', '.join(frame.columns[:12])}"
            f"{', ...' if len(frame.columns) > 12 else ''})",
        )
        for c in columns
        if c not in frame.columns
    ]


def _registry(city: City, folder: Path, refused: _Refusals, issues: list[Issue]):
    reg = city.registry
    frame = read_table(city, folder, reg.table)
    spec = city.tables[reg.table]
    optional = {
        "district": reg.district,
        "industry": reg.industry,
        "size": reg.size,
        "entity_type": reg.entity_type,
    }
    columns = [reg.entity_id, reg.opened_on, reg.name, reg.closed_on, reg.credit_code]
    columns += [v.column for v in optional.values() if v is not None]
    problems = _missing_columns(reg.table, frame, [c for c in columns if c])
    if problems:
        issues += problems
        return None, len(frame)
    rows = np.arange(len(frame))
    out = pd.DataFrame({"entity_id": _text(frame[reg.entity_id]).to_numpy(), "row": rows})
    empty = out["entity_id"] == ""
    refused.add(reg.table, rows[empty], reg.entity_id, "missing_value", [""] * int(empty.sum()))
    repeated = out["entity_id"].duplicated() & ~empty
    refused.add(
        reg.table,
        rows[repeated],
        reg.entity_id,
        "duplicate_entity_id",
        out.loc[repeated, "entity_id"],
    )
    out["name"] = _text(frame[reg.name]).to_numpy() if reg.name else None
    out["credit_code"] = (
        _text(frame[reg.credit_code]).where(lambda s: s != "", None) if reg.credit_code else None
    )
    for key, column in (("opened_on", reg.opened_on), ("closed_on", reg.closed_on)):
        if column is None:
            out[key] = np.datetime64("NaT", "us")
            continue
        days, rule = _dates(frame[column], spec.date_style, city.checks.earliest, dt.date.today())
        bad = ~np.equal(rule, None)
        refused.add(reg.table, rows[bad], column, rule[bad], frame.loc[bad, column])
        if key == "opened_on":
            gone = ~bad & np.isnat(days)
            refused.add(reg.table, rows[gone], column, "missing_value", [""] * int(gone.sum()))
        out[key] = days
    before = out["closed_on"] < out["opened_on"]
    refused.add(
        reg.table,
        rows[before.to_numpy()],
        reg.closed_on or "",
        "closed_before_opened",
        out.loc[before, "closed_on"].astype(str),
    )
    names = {
        "district": "district_code",
        "industry": "industry_code",
        "size": "size",
        "entity_type": "entity_type",
    }
    for key, spec_value in optional.items():
        if spec_value is None:
            out[names[key]] = None if key != "size" else np.nan
            continue
        values, rule = _value(
            frame[spec_value.column], spec_value, spec.amount_unit, spec.date_style, city.checks
        )
        bad = ~np.equal(rule, None)
        refused.add(
            reg.table, rows[bad], spec_value.column, rule[bad], frame.loc[bad, spec_value.column]
        )
        out[names[key]] = values
    return out, len(frame)


def _events(
    city: City,
    folder: Path,
    event: Event,
    registered: set[str] | None,
    refused: _Refusals,
    issues: list[Issue],
):
    frame = read_table(city, folder, event.table)
    spec = city.tables[event.table]
    problems = _missing_columns(event.table, frame, event.columns())
    if problems:
        issues += problems
        return None, len(frame)
    rows = np.arange(len(frame))
    name = event.table
    out = pd.DataFrame(
        {"entity_id": _text(frame[event.entity_id]).to_numpy(), "source_id": name, "row": rows}
    )
    for column, allowed in event.keep.items():
        left = ~_text(frame[column]).isin(allowed).to_numpy()
        refused.add(name, rows[left], column, "left_out_by_keep", frame.loc[left, column])
    empty = (out["entity_id"] == "").to_numpy()
    refused.add(name, rows[empty], event.entity_id, "missing_value", [""] * int(empty.sum()))
    if registered is not None:
        orphan = ~empty & ~out["entity_id"].isin(registered).to_numpy()
        refused.add(
            name, rows[orphan], event.entity_id, "key_not_registered", out.loc[orphan, "entity_id"]
        )
    occurred, rule = _dates(
        frame[event.occurred_on], spec.date_style, city.checks.earliest, dt.date.today()
    )
    bad = ~np.equal(rule, None) | np.isnat(occurred)
    rule = np.where(np.equal(rule, None), "missing_value", rule)
    refused.add(name, rows[bad], event.occurred_on, rule[bad], frame.loc[bad, event.occurred_on])
    out["occurred_on"] = occurred
    if event.known_on is not None:
        known, rule = _dates(
            frame[event.known_on], spec.date_style, city.checks.earliest, dt.date.today()
        )
        bad = ~np.equal(rule, None) | np.isnat(known)
        rule = np.where(np.equal(rule, None), "missing_value", rule)
        refused.add(name, rows[bad], event.known_on, rule[bad], frame.loc[bad, event.known_on])
        early = ~bad & (known < occurred)
        refused.add(
            name,
            rows[early],
            event.known_on,
            "known_before_occurred",
            frame.loc[early, event.known_on],
        )
        out["known_on"] = known
    else:
        out["known_on"] = occurred + np.timedelta64(event.known_after_days, "D")
    if event.id is not None:
        ids = _text(frame[event.id])
        out["record_id"] = ids.to_numpy()
        repeated = (ids.duplicated() & (ids != "")).to_numpy()
        refused.add(name, rows[repeated], event.id, "duplicate_id", ids[repeated])
    if event.kind == "inspection":
        outcome, rule = _value(
            frame[event.outcome.column],
            event.outcome,
            spec.amount_unit,
            spec.date_style,
            city.checks,
        )
        column = event.outcome.column
        unmapped = ~np.equal(rule, None)
        refused.add(name, rows[unmapped], column, "value_not_mapped", frame.loc[unmapped, column])
        absent = np.equal(rule, None) & pd.isna(outcome)
        refused.add(name, rows[absent], column, "missing_value", [""] * int(absent.sum()))
        skipped = np.isin(outcome.astype(str), city.label.not_counted) & ~pd.isna(outcome)
        refused.add(name, rows[skipped], column, "outcome_not_counted", frame.loc[skipped, column])
        out["outcome"] = outcome
        out["problem"] = np.isin(outcome.astype(str), city.label.problem).astype("int8")
        out["inspectors"] = _text(frame[event.inspector]).to_numpy() if event.inspector else ""
        if event.inclusion_probability:
            p, rule = _value(
                frame[event.inclusion_probability],
                Value(column=event.inclusion_probability, type="number"),
                spec.amount_unit,
                spec.date_style,
                city.checks,
            )
            bad = ~np.equal(rule, None) | ~((p > 0) & (p <= 1))
            refused.add(
                name,
                rows[bad],
                event.inclusion_probability,
                "probability_not_in_0_1",
                frame.loc[bad, event.inclusion_probability],
            )
            out["inclusion_probability"] = p
        else:
            out["inclusion_probability"] = 1.0
    for key, value in event.values.items():
        parsed, rule = _value(
            frame[value.column], value, spec.amount_unit, spec.date_style, city.checks
        )
        bad = ~np.equal(rule, None)
        refused.add(name, rows[bad], value.column, rule[bad], frame.loc[bad, value.column])
        out[key] = parsed
    return out, len(frame)


def _periods(city: City, inspections: pd.DataFrame | None) -> tuple[pd.DataFrame, list[Issue]]:
    """The rounds as (start, end) days, oldest first; overlapping rounds are an error."""
    first = None
    if inspections is not None and len(inspections):
        first = pd.Timestamp(inspections["occurred_on"].min()).normalize()
    spans = []
    for period in city.rounds.periods:
        until = pd.Timestamp(period.until)
        if period.every_days is None:
            spans.append((pd.Timestamp(period.start), until))
            continue
        step = pd.Timedelta(days=period.every_days)
        end = until
        while first is not None and end >= first:
            spans.append((end - step + pd.Timedelta(days=1), end))
            end = end - step
    frame = pd.DataFrame(spans, columns=["start", "end"]).sort_values("start", kind="stable")
    frame = frame.reset_index(drop=True)
    issues = []
    overlap = frame["start"].iloc[1:].to_numpy() <= frame["end"].iloc[:-1].to_numpy()
    for i in np.flatnonzero(overlap):
        a, b = frame.iloc[i], frame.iloc[i + 1]
        issues.append(
            Issue(
                "error",
                "(rounds)",
                "rounds.periods",
                "rounds_overlap",
                f"the round {a.start.date()}..{a.end.date()} overlaps the round "
                f"{b.start.date()}..{b.end.date()}: an inspection would label two "
                "snapshots",
            )
        )
    if frame.empty:
        issues.append(
            Issue(
                "error",
                "(rounds)",
                "rounds.periods",
                "no_rounds",
                "no round holds an inspection: no snapshot can be labelled",
            )
        )
    screening = city.rounds.screening_date
    if screening is not None and len(frame) and pd.Timestamp(screening) <= frame["end"].max():
        issues.append(
            Issue(
                "warning",
                "(rounds)",
                "rounds.screening_date",
                "screening_in_round",
                f"the screening date {screening} is not after the last round",
            )
        )
    frame["as_of_date"] = frame["start"].astype("datetime64[us]")
    frame["task"] = [
        f"{s.date()}..{e.date()}" for s, e in zip(frame["start"], frame["end"], strict=True)
    ]
    return frame, issues


def _features(city: City, folder: Path, inspections: pd.DataFrame | None, refused, issues):
    feats = city.features
    frame = read_table(city, folder, feats.table)
    needed = [feats.inspection_id, *feats.attributes, *feats.categories]
    problems = _missing_columns(feats.table, frame, needed)
    if problems:
        issues += problems
        return None, len(frame)
    rows = np.arange(len(frame))
    out = pd.DataFrame({"record_id": _text(frame[feats.inspection_id]).to_numpy(), "row": rows})
    for column in feats.attributes:
        values, rule = _value(
            frame[column], Value(column=column, type="number"), "yuan", None, city.checks
        )
        bad = ~np.equal(rule, None)
        refused.add(feats.table, rows[bad], column, rule[bad], frame.loc[bad, column])
        out[column] = values
    for column, wanted in feats.categories.items():
        text = _text(frame[column])
        for value in wanted:
            out[f"{slug(column)}_{slug(value)}"] = (text == value).astype(float).to_numpy()
    known = set() if inspections is None else set(inspections["record_id"])
    lost = ~out["record_id"].isin(known).to_numpy()
    refused.add(
        feats.table,
        rows[lost],
        feats.inspection_id,
        "inspection_not_accepted",
        out.loc[lost, "record_id"],
    )
    return out, len(frame)


def _pool(city: City, folder: Path, refused, issues):
    spec = city.inspectors
    frame = read_table(city, folder, spec.table)
    columns = [spec.inspector_id, spec.qualifications.column, spec.available_visits]
    columns += [c for c in (spec.unit, spec.district.column if spec.district else None) if c]
    problems = _missing_columns(spec.table, frame, columns)
    if problems:
        issues += problems
        return None, len(frame)
    rows = np.arange(len(frame))
    parts = _text(frame[spec.qualifications.column]).str.split(spec.separator)
    mapping = spec.qualifications.map
    unmapped = parts.map(lambda q: mapping is not None and any(x.strip() not in mapping for x in q))
    refused.add(
        spec.table,
        rows[unmapped.to_numpy()],
        spec.qualifications.column,
        "value_not_mapped",
        frame.loc[unmapped, spec.qualifications.column],
    )
    quals = parts.map(
        lambda q: ";".join(
            dict.fromkeys((mapping or {}).get(x.strip(), x.strip()) for x in q if x.strip())
        )
    )
    district = None
    if spec.district is not None:
        district, rule = _value(
            frame[spec.district.column], spec.district, "yuan", None, city.checks
        )
        bad = ~np.equal(rule, None)
        refused.add(
            spec.table,
            rows[bad],
            spec.district.column,
            rule[bad],
            frame.loc[bad, spec.district.column],
        )
    out = pd.DataFrame(
        {
            "inspector_id": _text(frame[spec.inspector_id]).to_numpy(),
            "unit": _text(frame[spec.unit]).to_numpy() if spec.unit else city.name,
            "district_code": district if district is not None else "",
            "qualifications": quals.to_numpy(),
            "available_visits": _text(frame[spec.available_visits]).to_numpy(),
            "conflicts": "",
            "row": rows,
        }
    )
    return out, len(frame)


def prepare(city: City, folder: Path) -> Prepared:
    """The city's tables as riskdraw's hand-off, with every refusal and issue (see the module
    docstring). Never raises for bad data: a table that cannot be read is an error `Issue`."""
    refused, issues = _Refusals(), []
    counts: dict[str, dict[str, int]] = {}
    sizes: dict[str, int] = {}

    def attempt(table: str, read):
        try:
            return read()
        except CityFileError as fault:
            issues.append(Issue("error", table, "(file)", "table_unreadable", str(fault)))
            return None, 0

    entities = None
    if city.registry is not None:
        entities, sizes[city.registry.table] = attempt(
            city.registry.table, lambda: _registry(city, folder, refused, issues)
        )
    refused_rows = refused.frame()
    registered = None
    if entities is not None:
        bad = refused_rows.loc[refused_rows["table"] == city.registry.table, "row"]
        entities = entities[~entities["row"].isin(bad)].reset_index(drop=True)
        registered = set(entities["entity_id"])
    events: dict[str, pd.DataFrame] = {}
    for event in city.events:
        table, n = attempt(
            event.table, lambda e=event: _events(city, folder, e, registered, refused, issues)
        )
        sizes[event.table] = max(sizes.get(event.table, 0), n)
        if table is not None:
            events[event.kind] = table
    inspections = events.get("inspection")
    rounds, round_issues = _periods(city, _accepted(inspections, refused, city.inspection.table))
    issues += round_issues
    features = pool = None
    if city.features is not None:
        features, sizes[city.features.table] = attempt(
            city.features.table,
            lambda: _features(
                city,
                folder,
                _accepted(inspections, refused, city.inspection.table),
                refused,
                issues,
            ),
        )
    if city.inspectors is not None:
        pool, sizes[city.inspectors.table] = attempt(
            city.inspectors.table, lambda: _pool(city, folder, refused, issues)
        )
    quarantine = refused.frame()
    # Every table once, whatever reads it (a table may hold events and features, as Chicago's).
    for table, n in sizes.items():
        mine = quarantine[quarantine["table"] == table]
        left = int(mine["rule"].isin(LEFT_OUT).sum())
        counts[table] = {
            "rows": n,
            "accepted": n - len(mine),
            "refused": len(mine) - left,
            "left_out": left,
        }
    events = {k: _accepted(v, refused, city.events_table(k)) for k, v in events.items()}
    if features is not None:
        features = features[
            ~features["row"].isin(quarantine.loc[quarantine["table"] == city.features.table, "row"])
        ]
        features = features.reset_index(drop=True)
    if pool is not None:
        pool = pool[
            ~pool["row"].isin(quarantine.loc[quarantine["table"] == city.inspectors.table, "row"])
        ]
        pool = pool.drop(columns="row").reset_index(drop=True)
    issues += _tolerance(city, quarantine, counts)
    return Prepared(entities, events, features, pool, rounds, quarantine, counts, issues)


def _accepted(frame: pd.DataFrame | None, refused: _Refusals, table: str) -> pd.DataFrame | None:
    if frame is None:
        return None
    bad = refused.frame()
    bad = bad.loc[bad["table"] == table, "row"]
    return frame[~frame["row"].isin(bad)].reset_index(drop=True)


def _tolerance(city: City, quarantine: pd.DataFrame, counts: dict) -> list[Issue]:
    """Errors where a table loses more rows than `checks` allows, warnings below that."""
    issues = []
    faults = quarantine[~quarantine["rule"].isin(LEFT_OUT)]
    outcome = (city.inspection.table, city.inspection.outcome.column)
    for (table, rule, column), group in faults.groupby(["table", "rule", "field"], sort=True):
        n, rows = len(group), counts.get(table, {}).get("rows", 0) or 1
        limit = (
            city.checks.max_unjoined_share
            if rule == "key_not_registered"
            else city.checks.max_refused_share
        )
        if rule == "value_not_mapped" and (table, column) == outcome:
            limit = 0.0  # an outcome nobody mapped could be a problem or not: never guessed
        level = "error" if n / rows > limit else "warning"
        examples = ", ".join(repr(v) for v in group["value"].drop_duplicates().head(3))
        what = {
            "key_not_registered": "keys that never join the registry",
            "value_not_mapped": "codes not in the map",
        }.get(rule, f"rows that break {rule}")
        issues.append(
            Issue(
                level,
                table,
                column,
                rule,
                f"table {table}, column {column!r}: {n:,} {what} ({n / rows:.1%} of "
                f"{rows:,} rows; checks allow {limit:.1%}), e.g. {examples}; first "
                f"at row {int(group['row'].min())}",
                n,
            )
        )
    return issues
