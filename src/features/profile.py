"""The enterprise profile: one row per `(entity_id, as_of_date)`, every attribute point in time.

Rules (the time contract):

- A record counts for an as-of date only if it was known before it (`known_on < as_of_date`);
  windows look back from the as-of date over when things happened (`occurred_on`).
- The registry extract is today's registry. Its record counts from when it was known; an
  enterprise is open at an as-of date unless its deregistration date is before it. Its other
  fields (capital, address, legal representative) are taken as the extract states them.
- Snapshots: one per inspection round (the round's task, as of the day its first inspection
  was made, i.e. before any of its results were known), labelled with what that round found,
  and one at the screening date (no labels). Rows: the enterprises open at the as-of date, and
  every enterprise the round inspected.

Written with Ibis over DuckDB (the embedded default): the same expressions run on any backend
Ibis supports. No Python loop touches a row.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import ibis
import pandas as pd

from riskdraw.config import parse_size
from riskdraw.domain.industries import INDUSTRIES, LICENCE_DOMAINS, SECTION_RANGES
from riskdraw.domain.inspections import PROBLEM_RESULTS
from riskdraw.domain.registry import ENTITY_TYPES
from riskdraw.outputs import require_complete, staged_folder, write_completion

from .attributes import Attribute, attributes

log = logging.getLogger(__name__)

KEY = ["entity_id", "as_of_date"]
# The registration record's fields the registry and network attributes read (newest known).
REGISTRY_FIELDS = (
    "founded_on",
    "deregistered_on",
    "entity_type",
    "industry_code",
    "subscribed_capital",
    "paid_in_capital",
    "address",
    "legal_rep_id",
)


def connect(memory_limit: int | str = 4 * 2**30, threads: int | None = None) -> ibis.BaseBackend:
    """An in-process DuckDB backend for Ibis, with a memory cap (it spills beyond it).

    Args:
        memory_limit: bytes (as `params.yaml` sizes are parsed), or text such as "4GB"; handed
            to DuckDB as a setting's value, never pasted into SQL.
        threads: DuckDB threads (None: every core).
    """
    settings = {"memory_limit": f"{parse_size(memory_limit)}B"}
    if threads:
        settings["threads"] = int(threads)
    return ibis.duckdb.connect(**settings)


def _events(con: ibis.BaseBackend, events: Path, kind: str) -> ibis.Table | None:
    path = Path(events) / f"{kind}.parquet"
    return con.read_parquet(path) if path.exists() else None


def snapshots(
    con: ibis.BaseBackend, events: Path, screening_date: str | None, rounds: bool = True
) -> pd.DataFrame:
    """The as-of dates: each inspection round (by task) and the screening date.

    A round is as of the day of its first inspection; the screening snapshot has no task.
    """
    frames = []
    inspections = _events(con, events, "inspection")
    if rounds and inspections is not None:
        by_task = (
            inspections.group_by("task")
            .aggregate(as_of_date=inspections.occurred_on.min())
            .order_by("as_of_date")
            .to_pandas()
        )
        frames.append(by_task.assign(snapshot="round"))
    if screening_date is not None:
        frames.append(
            pd.DataFrame(
                {
                    "task": [None],
                    "as_of_date": [pd.Timestamp(screening_date)],
                    "snapshot": "screening",
                }
            )
        )
    if not frames:
        raise ValueError("no snapshot: no inspection rounds in the events and no screening date")
    out = pd.concat(frames, ignore_index=True)
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).astype("datetime64[us]")
    out["task"] = out["task"].astype(object)
    return out[["as_of_date", "snapshot", "task"]]


def _registry(con: ibis.BaseBackend, events: Path, snaps: ibis.Table) -> ibis.Table:
    """The registration record known at each as-of date (the newest known), per enterprise."""
    reg = _events(con, events, "registration")
    if reg is None:
        raise FileNotFoundError(f"{events}/registration.parquet: the profile needs the registry")
    j = reg.join(snaps.select("as_of_date"), reg.known_on < snaps.as_of_date)
    return j.group_by(KEY).aggregate(**{f: j[f].argmax(j.known_on) for f in REGISTRY_FIELDS})


def _labels(con: ibis.BaseBackend, events: Path, snaps: ibis.Table) -> ibis.Table | None:
    inspections = _events(con, events, "inspection")
    if inspections is None:
        return None
    rounds = snaps.filter(snaps.task.notnull()).select("task", "as_of_date")
    j = inspections.join(rounds, "task")
    return j.group_by(KEY).aggregate(
        problem=j.result.isin(list(PROBLEM_RESULTS)).ifelse(1, 0).max(),
        inclusion_probability=j.inclusion_probability.max(),
    )


def kind_table(
    con: ibis.BaseBackend, events: Path, kind: str, attrs: list[Attribute], snaps: ibis.Table
) -> ibis.Table | None:
    """One kind's event attributes for every (entity, as-of date) that has records of it."""
    ev = _events(con, events, kind)
    if ev is None:
        return None
    j = ev.join(snaps.select("as_of_date"), ev.known_on < snaps.as_of_date)
    return j.group_by(KEY).aggregate(**{a.name: a.expr(j) for a in attrs})


def _section(industry_code: ibis.Value) -> ibis.Value:
    division = industry_code.substr(0, 2).try_cast("int32")
    return ibis.cases(
        *[((division >= lo) & (division <= hi), s) for s, lo, hi in SECTION_RANGES], else_=None
    )


def _missing_licences(t: ibis.Table, delivered: set[str]) -> ibis.Value:
    """Licence domains the enterprise's industry class requires with no valid licence held
    (unknown where no licence records were delivered at all)."""
    if "licence" not in delivered:
        return ibis.null("float64")
    missing = ibis.literal(0)
    for domain in LICENCE_DOMAINS:
        needs = [i.code for i in INDUSTRIES if domain in i.domains]
        held = t[f"licence_valid_{domain}"].fill_null(0) > 0
        missing = missing + (t.industry_code.isin(needs) & ~held).ifelse(1, 0)
    return missing


def _registry_values(t: ibis.Table, districts: list[str]) -> dict[str, ibis.Value]:
    days = (t.as_of_date.epoch_seconds() - t.founded_on.epoch_seconds()) / 86400
    section = _section(t.industry_code)
    regulated = [i.code for i in INDUSTRIES if i.domains]
    values = {
        "years_in_existence": days / 365.25,
        "subscribed_capital": t.subscribed_capital,
        "subscribed_capital_log": (t.subscribed_capital.fill_null(0) + 1).log10(),
        "paid_in_capital": t.paid_in_capital,
        "paid_in_ratio": t.paid_in_capital / t.subscribed_capital.nullif(0),
        "regulated_trade": t.industry_code.isin(regulated).ifelse(1, 0),
    }
    for zh, short in ENTITY_TYPES.items():
        values[f"type_{short}"] = (t.entity_type == zh).ifelse(1, 0)
    for s, _, _ in SECTION_RANGES:
        values[f"industry_{s}"] = (section == s).ifelse(1, 0)
    for code in districts:
        values[f"district_{code}"] = (t.district_code == code).ifelse(1, 0)
    return values


def build_profile(
    con: ibis.BaseBackend,
    events: Path,
    entities: Path,
    snaps: pd.DataFrame,
) -> tuple[ibis.Table, list[Attribute]]:
    """The profile as a lazy Ibis table, and its attributes in column order.

    Args:
        con: an Ibis backend (`connect()`).
        events: resolve's `events/` folder (one Parquet file per record kind).
        entities: resolve's `entities.parquet` (for the district of the credit code).
        snaps: the as-of dates (`snapshots()`).
    """
    events = Path(events)
    snap_t = ibis.memtable(snaps)
    ents = con.read_parquet(entities).select("entity_id", "district_code")
    districts = sorted(
        d for d in ents.select("district_code").distinct().to_pandas()["district_code"] if d
    )
    attrs = attributes(districts)
    registry = _registry(con, events, snap_t)
    is_open = registry.deregistered_on.isnull() | (registry.deregistered_on >= registry.as_of_date)
    population = registry.filter(is_open).select(KEY)
    labels = _labels(con, events, snap_t)
    if labels is not None:
        population = population.union(labels.select(KEY), distinct=True)
    # Every table joins on (entity_id, as_of_date) under its own key names, in one flat chain:
    # no name collides and the SQL stays one level deep, however many kinds there are.
    tables: dict[str, ibis.Table] = {
        "snap": snap_t.rename(snap__as_of_date="as_of_date"),
        "registry": keyed(registry, "registry"),
        "entity": ents.rename(entity__entity_id="entity_id"),
    }
    if labels is not None:
        tables["labels"] = keyed(labels, "labels")
    kinds: dict[str, list[Attribute]] = {}
    for a in attrs:
        if a.source == "event":
            kinds.setdefault(a.kinds[0], []).append(a)
    delivered: set[str] = set()
    for kind, kind_attrs in kinds.items():
        table = kind_table(con, events, kind, kind_attrs, snap_t)
        if table is None:
            log.warning("no %s records: its %d attributes stay unknown", kind, len(kind_attrs))
            continue
        delivered.add(kind)
        tables[kind] = keyed(table, kind)
    chain = population.join(
        tables["snap"], population.as_of_date == tables["snap"].snap__as_of_date
    )
    chain = join_keyed(chain, {k: t for k, t in tables.items() if k != "snap"})
    wide = chain.select(
        *KEY,
        "snapshot",
        "task",
        *REGISTRY_FIELDS,
        "district_code",
        **(
            {"problem": "problem", "inclusion_probability": "inclusion_probability"}
            if labels is not None
            else {
                "problem": ibis.null("int32"),
                "inclusion_probability": ibis.null("float64"),
            }
        ),
        **{a.name: a.name for k, ka in kinds.items() if k in delivered for a in ka},
        **{
            a.name: ibis.null("float64")
            for k, ka in kinds.items()
            if k not in delivered
            for a in ka
        },
    )
    values: dict[str, ibis.Value] = _registry_values(wide, districts)
    values["licence_missing_required"] = _missing_licences(wide, delivered)
    # Network attributes: other open enterprises sharing an address or a legal representative,
    # and what the records say of them.
    open_now = wide.deregistered_on.isnull() | (wide.deregistered_on >= wide.as_of_date)
    one = open_now.ifelse(1, 0)
    none = one * 0  # a column of zeros where a kind is not delivered (a literal has no window)
    listed = (
        wide.abnormal_list_listed_count_all.fill_null(0) if "abnormal_list" in delivered else none
    )
    fined = wide.penalty_count_count_all.fill_null(0) if "penalty" in delivered else none
    by_address = ibis.window(group_by=[wide.as_of_date, wide.address])
    by_rep = ibis.window(group_by=[wide.as_of_date, wide.legal_rep_id])
    has_address, has_rep = wide.address.notnull(), wide.legal_rep_id.notnull()
    values["same_address_enterprises"] = has_address.ifelse(one.sum().over(by_address) - one, 0)
    values["same_legal_rep_enterprises"] = has_rep.ifelse(one.sum().over(by_rep) - one, 0)
    values["same_address_abnormal"] = has_address.ifelse(listed.sum().over(by_address) - listed, 0)
    values["same_legal_rep_penalised"] = has_rep.ifelse(fined.sum().over(by_rep) - fined, 0)
    # Where an enterprise has no record of a delivered kind: counts and sums are 0, days since
    # the last one is the horizon; values that need a record stay unknown. (Cast first: a
    # decimal sum would stay decimal beside a float literal.)
    filled = {}
    for a in attrs:
        column = (values[a.name] if a.name in values else wide[a.name]).cast("float64")
        if a.empty is not None and (a.source != "event" or a.kinds[0] in delivered):
            column = column.fill_null(float(a.empty))
        filled[a.name] = column
    profile = wide.select(
        *KEY,
        "snapshot",
        task=wide.task.cast("string"),
        inspected=wide.problem.notnull(),
        problem=wide.problem.cast("int8"),
        inclusion_probability=wide.inclusion_probability.cast("float64"),
        **filled,
    ).order_by(["as_of_date", "entity_id"])
    return profile, attrs


def join_keyed(chain: ibis.Table, tables: dict[str, ibis.Table]) -> ibis.Table:
    """`chain` left-joined, in order, with each table on its `<name>__entity_id` and, where it
    has one, its `<name>__as_of_date` (tables keyed by `keyed`, or by the entity alone)."""
    for name, table in tables.items():
        on = [chain.entity_id == table[f"{name}__entity_id"]]
        if f"{name}__as_of_date" in table.columns:
            on.append(chain.as_of_date == table[f"{name}__as_of_date"])
        chain = chain.left_join(table, on)
    return chain


def keyed(table: ibis.Table, name: str) -> ibis.Table:
    """`table` with its key columns renamed `<name>__entity_id`, `<name>__as_of_date`."""
    return table.rename(**{f"{name}__{k}": k for k in KEY})


def write_profile(
    con: ibis.BaseBackend,
    events: Path,
    entities: Path,
    snaps: pd.DataFrame,
    out: Path,
    progress: bool = True,
    reuse: Path | None = None,
) -> list[Attribute]:
    """Build and write the profile one as-of date at a time, as a Parquet dataset `out/`
    (one file per date: `as_of=YYYY-MM-DD.parquet`), so that memory holds one snapshot.

    The folder is written beside `out` and swapped in whole on success (a failed run leaves
    the old profile), ending with its completion manifest. With `reuse` (an earlier profile),
    a round snapshot that profile already holds for the same date and task is copied from it
    instead of built: right only when every event added since is known after that round's
    labels were (the rounds loop, whose new events are later rounds' results; its test checks
    the copies against a full build).

    Returns the attributes, in column order.

    Raises:
        HandoffError: `out` overlaps the entities' folder, is a file, or is a folder riskdraw
            did not make.
    """
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    inputs = {"entities": Path(events).parent}
    attrs: list[Attribute] = []
    rows = {}
    with staged_folder(out, inputs) as work:
        for i in tqdm(range(len(snaps)), desc="profile", unit="snapshot", disable=not progress):
            one = snaps.iloc[[i]].reset_index(drop=True)
            date = pd.Timestamp(one["as_of_date"].iloc[0]).date().isoformat()
            if _reusable(reuse, one, date):
                name = f"as_of={date}.parquet"
                shutil.copyfile(Path(reuse) / name, work / name)
            else:
                table, attrs = build_profile(con, events, entities, one)
                table.to_parquet(work / f"as_of={date}.parquet")
            rows[date] = pq.read_metadata(work / f"as_of={date}.parquet").num_rows
        if not attrs:  # every snapshot copied: the attributes are the copies' columns
            names = pq.read_schema(work / f"as_of={date}.parquet").names
            known = catalogued(names)
            attrs = [known[n] for n in names if n in known]
        write_completion(work, "profile", inputs, counts={"rows_by_as_of_date": rows})
    return attrs


def _reusable(reuse: Path | None, snapshot: pd.DataFrame, date: str) -> bool:
    """Whether an earlier profile holds this round snapshot (same date, same task)."""
    import pyarrow.parquet as pq

    path = Path(reuse or "") / f"as_of={date}.parquet"
    if reuse is None or snapshot["snapshot"].iloc[0] != "round" or not path.exists():
        return False
    tasks = pq.read_table(path, columns=["snapshot", "task"]).to_pandas().drop_duplicates()
    return tasks.to_dict("records") == [{"snapshot": "round", "task": snapshot["task"].iloc[0]}]


def run_profile(
    settings,
    entities: Path,
    out: Path,
    screening_only: bool = False,
    progress: bool = True,
    reuse: Path | None = None,
) -> tuple[dict, list[Attribute]]:
    """The `profile` stage: every snapshot of resolve's output written to `out`, and its report.

    Args:
        settings: the `profile` section (`ProfileParams`).
        entities: resolve's output folder (`entities.parquet`, `events/`).
        out: the profile's Parquet folder (one file per as-of date).
        screening_only: only the screening date's snapshot.

    Returns:
        The report (rows, attributes, families, each snapshot's rows, inspections and hit
        rate, seconds) and the attributes in column order.
    """
    import time

    start = time.perf_counter()
    require_complete(entities, "resolve", "profile")
    con = connect(settings.memory_limit, settings.threads or None)
    events = Path(entities) / "events"
    snaps = snapshots(con, events, settings.screening_date, settings.rounds and not screening_only)
    attrs = write_profile(
        con, events, Path(entities) / "entities.parquet", snaps, out, progress, reuse
    )
    import pyarrow.parquet as pq

    keys = ["as_of_date", "snapshot", "task"]
    columns = pq.read_table(out, columns=[*keys, "inspected", "problem"]).to_pandas()
    summary = (
        columns.assign(inspected=columns["inspected"].astype("float64").fillna(0))
        .groupby(keys, dropna=False, sort=True)
        .agg(
            rows=("inspected", "size"),
            inspected=("inspected", "sum"),
            problems=("problem", "sum"),
        )
        .reset_index()
    )
    report = {
        "rows": int(summary["rows"].sum()),
        "attributes": len(attrs),
        "families": len({a.family for a in attrs}),
        "snapshots": [
            {
                "as_of_date": str(r.as_of_date.date()),
                "snapshot": r.snapshot,
                "task": r.task if isinstance(r.task, str) else None,  # the screening has none
                "rows": int(r.rows),
                "inspected": int(r.inspected or 0),
                "hit_rate": round(float(r.problems) / r.inspected, 4) if r.inspected else None,
            }
            for r in summary.itertuples()
        ],
        "seconds": round(time.perf_counter() - start, 1),
    }
    return report, attrs


FAMILIES_KEY = b"riskdraw.families"
"""The Parquet metadata key under which a real city's profile lists its attributes' families."""


def _metadata(path: Path) -> dict:
    import pyarrow.parquet as pq

    path = Path(path)
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return (pq.read_schema(files[0]).metadata or {}) if files else {}


def profile_families(path: Path, columns) -> dict[str, str]:
    """attribute -> family of a profile: its own list if it carries one (a real city's adapter
    writes it), else riskdraw's catalogue (the simulated city's attributes)."""
    import json

    meta = _metadata(path)
    if FAMILIES_KEY in meta:
        own = json.loads(meta[FAMILIES_KEY])
        return {c: own[c] for c in columns if c in own}
    known = catalogued(columns)
    return {c: known[c].family for c in columns if c in known}


WORDING_KEY = b"riskdraw.wording"
"""The Parquet metadata key under which a configured city's profile says what each attribute
is, in English and Chinese (`cities.profile`)."""


def attribute_wording(names: list[str], profile: Path | None = None) -> dict[str, dict[str, str]]:
    """attribute -> {"en": ..., "zh": ...}: what each attribute is (the words a score's reasons
    use): the profile's own words where it carries them (a configured city's), else what the
    catalogue says. Attributes neither holds (a published feature table's columns) are left
    out: they are described by their names."""
    import json

    meta = _metadata(profile) if profile is not None else {}
    if WORDING_KEY in meta:
        own = json.loads(meta[WORDING_KEY])
        return {n: own[n] for n in names if n in own}
    known = catalogued(names)
    return {n: {"en": known[n].en, "zh": known[n].zh} for n in names if n in known}


def attribute_bounds(names: list[str]) -> dict[str, tuple[float, float]]:
    """attribute -> (lowest, highest) value it can take (`Attribute.bounds`); attributes the
    catalogue does not hold (a real city's own) are left out: only finiteness is checked."""
    known = catalogued(names)
    return {n: known[n].bounds for n in names if n in known}


def screening_rows(
    profile: Path, consumer: str, factors=None, ids: list[str] | None = None
) -> pd.DataFrame:
    """The profile's screening snapshot (of `ids` only, if given), the profile checked complete.

    Args:
        profile: the profile folder.
        consumer: who reads it (named in the messages).
        factors: the attribute columns to read, those the profile holds (screening names any
            missing); None: every column.
        ids: read only these enterprises.
    """
    import pyarrow.parquet as pq

    require_complete(profile, "profile", consumer)
    filters = [("snapshot", "=", "screening")]
    if ids is not None:
        filters.append(("entity_id", "in", list(ids)))
    columns = None
    if factors is not None:
        held = set(pq.ParquetDataset(profile).schema.names)
        columns = ["entity_id", "as_of_date", *[f for f in factors if f in held]]
    return pq.read_table(profile, columns=columns, filters=filters).to_pandas()


def catalogued(names) -> dict[str, Attribute]:
    """name -> riskdraw's catalogue entry, for the districts the names' one-hots show."""
    districts = [n.removeprefix("district_") for n in names if n.startswith("district_")]
    return {a.name: a for a in attributes(districts)}
