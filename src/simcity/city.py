"""Build a whole simulated city: registry, activity, rounds, then every department's extract.

The extracts go to `raw_dir` (one folder per source plus `manifest.json`); the ground truth goes
to `truth_dir`, which only evaluation code may read.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from riskdraw.config import SimulateParams
from riskdraw.domain.regions import DISTRICTS
from riskdraw.io import write_csv, write_json

from . import drift
from .activity import DAY, STREAM_KINDS, Stream, World, derive_dishonesty, simulate_activity
from .drivers import MECHANISMS
from .inspectors import POOL_FILE, inspector_pool
from .mess import MESS_BITS, name_variants, replace_masked, spoil, text, typos
from .population import make_population
from .render import KEY_COLUMNS, Records, entity_keys, render
from .rounds import run_rounds, screening_truth
from .sources import CITY, Source, build_sources, route
from .writers import ExtractWriter, truncate

log = logging.getLogger(__name__)

STREAM_CHUNK_ENTITIES = 8_000
EVENT_CHUNK_ROWS = 250_000


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def build_world(params: SimulateParams) -> tuple[World, pd.DataFrame]:
    """The city's truth: population, activity and every round (no files written)."""
    r_pop, r_act, r_rounds, r_screen, r_dis = _rngs(params.seed, 5)
    start = np.datetime64(params.history_start, "D")
    end = np.datetime64(params.history_end, "D")
    population = make_population(
        r_pop,
        params.entities,
        start,
        end,
        params.active_share_at_start,
        params.conduct.deregistration_per_year,
        params.conduct.habitual_share,
        params.conduct.habitual_shift,
        drift.boom(params),
    )
    world = World(params=params, population=population)
    simulate_activity(r_act, world)
    # The dishonesty list before the rounds, so that each round reads the listings dated
    # before it; run_rounds adds those following from the listings each round makes.
    derive_dishonesty(r_dis, world, world.events["abnormal_list"])
    truth = run_rounds(r_rounds, world, r_dis)
    truth = pd.concat([truth, screening_truth(r_screen, world)], ignore_index=True)
    # Drift the truth does not see (more complaints, risk unchanged) or sees alone (a
    # district's rise, in the screening truth the round's results are drawn from).
    world.events["complaint"] = drift.extra_complaints(params, world.events["complaint"])
    truth = drift.district_truth(params, truth, world.entities["district_code"].to_numpy(),
                                 {c: d.short_name for c, d in DISTRICTS.items()})  # fmt: skip
    ent = world.entities
    world.events["registration"] = pd.DataFrame(
        {
            "entity_uid": ent["entity_uid"].to_numpy(),
            "occurred_on": ent["founded_on"].to_numpy(),
            "known_on": ent["founded_on"].to_numpy() + np.timedelta64(3, "D"),
        }
    )
    sh = population.shareholders
    world.events["shareholder"] = sh.assign(
        occurred_on=sh["subscribed_on"], known_on=sh["subscribed_on"] + np.timedelta64(3, "D")
    )
    return world, truth


class _IdentityWriter:
    """Truth per delivered row: which enterprise it is about and which mess it received."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, uid: np.ndarray, mess: np.ndarray) -> None:
        table = pa.table(
            {
                "row": np.arange(self.rows, self.rows + len(uid), dtype=np.int64),
                "entity_uid": uid.astype(np.int32),
                "mess": mess.astype(np.int32),
            }
        )
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table)
        self.rows += len(uid)

    def close(self) -> None:
        if self._writer is None:
            self.write(np.zeros(0, np.int32), np.zeros(0, np.int32))
        self._writer.close()


def _bit_counts(mess: np.ndarray) -> dict[str, int]:
    return {k: int(np.count_nonzero(mess & b)) for k, b in MESS_BITS.items()}


def _stream_records(
    stream: Stream,
    source: Source,
    world: World,
    uids: np.ndarray,
    rng: np.random.Generator,
    keys: pa.Array | None,
    names: pa.Array,
    name_bits: np.ndarray,
) -> Records:
    """One chunk of a monthly stream's records for the enterprises `uids` (one per month open).

    `keys` and `names` are the source's Arrow arrays over all enterprises (names with the
    source's account-level mess already applied); rows take from them without Python objects.
    """
    p = world.params
    ent = world.entities
    start = np.datetime64(p.history_start, "M")
    end = np.datetime64(p.history_end, "M")
    founded = ent["founded_on"].to_numpy()[uids].astype("datetime64[M]")
    dereg = ent["deregistered_on"].to_numpy()[uids].astype("datetime64[M]")
    first = np.maximum(founded + 1, start)
    last = np.where(np.isnat(dereg), end, np.minimum(dereg, end))
    months = np.maximum((last - first).astype(int) + 1, 0)
    idx = np.repeat(np.arange(len(uids)), months)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(months) - months, months)
    uid = uids[idx]
    month = first[idx] + offset.astype("timedelta64[M]")
    arrears = stream.arrears
    key = uid.astype(np.int64) * 10_000 + month.astype(np.int64)
    a_key = arrears["entity_uid"].to_numpy().astype(np.int64) * 10_000 + arrears[
        "month"
    ].to_numpy().astype("datetime64[M]").astype(np.int64)
    month_end = (month + 1).astype("datetime64[D]") - DAY
    known = month_end + rng.integers(15, 46, len(uid)).astype("timedelta64[D]")
    in_arrears = np.zeros(len(key), dtype=bool)
    if len(a_key):
        order = np.argsort(a_key)
        pos = np.searchsorted(a_key[order], key).clip(0, len(a_key) - 1)
        in_arrears = a_key[order][pos] == key
        a_known = arrears["known_on"].to_numpy().astype("datetime64[D]")[order][pos]
        known = np.where(in_arrears, a_known, known)
    due = np.round(stream.base_amount[uid] * rng.uniform(0.9, 1.1, len(uid)), 2)
    paid = np.where(in_arrears, 0.0, due)
    year, mon = month.astype("datetime64[Y]").astype(int) + 1970, month.astype(int) % 12 + 1
    take = pa.array(uid)
    cols: dict = {}
    if keys is not None:
        cols[KEY_COLUMNS[source.key]] = keys.take(take)
    name_col = "户名" if stream.kind == "utility" else "单位名称"
    cols[name_col] = names.take(take)
    period = year * 100 + mon
    if stream.kind == "utility":
        cols.update(
            {
                "账期": period,
                "用量": np.round(due / 0.75).astype(np.int64),
                "应收金额": due,
                "实收金额": paid,
                "欠费标志": pc.if_else(pa.array(in_arrears), "是", "否"),
            }
        )
        amounts = ["应收金额", "实收金额"]
    else:
        cols.update(
            {
                "费款所属期": period,
                "参保人数": np.maximum(ent["employees"].to_numpy()[uid], 1),
                "应缴金额": due,
                "实缴金额": paid,
                "欠费标志": pc.if_else(pa.array(in_arrears), "1", "0"),
            }
        )
        amounts = ["应缴金额", "实缴金额"]
    cols["入库日期"] = known
    return Records(
        cols,
        uid.astype(np.int32),
        None if source.key == "name" else KEY_COLUMNS[source.key],
        name_col,
        ["入库日期"],
        amounts,
        name_bits=name_bits[uid],
    )


def _account_names(world: World, rng: np.random.Generator, mess) -> tuple[pa.Array, np.ndarray]:
    """A stream's account names: each account keeps the name (or variant) it was opened under."""
    names = world.text("entities", "name")
    n = len(names)
    bits = np.zeros(n, dtype=np.int32)
    variant = rng.random(n) < mess.name_variant
    changed = replace_masked(
        names, variant, name_variants(rng, names.filter(pa.array(variant)).to_pylist())
    )
    bits[variant] |= MESS_BITS["name_variant"]
    typo = rng.random(n) < mess.name_typo
    changed = replace_masked(changed, typo, typos(rng, changed.filter(pa.array(typo)).to_pylist()))
    bits[typo] |= MESS_BITS["name_typo"]
    return changed, bits


# The world and the task list are module state so that forked workers share them unpickled.
_STATE: dict = {}


def _source_rng(seed: int, index: int) -> np.random.Generator:
    """Each source draws from its own stream: results do not depend on the order of work."""
    return np.random.default_rng([seed, 7919, index])


def _write_source(index: int) -> tuple[int, int, dict[str, int]]:
    """Render, spoil and write one source's extract and its identity truth."""
    world: World = _STATE["world"]
    source: Source = _STATE["sources"][index]
    raw_dir, truth_dir = _STATE["raw_dir"], _STATE["truth_dir"]
    params = world.params
    rng = _source_rng(params.seed, index)
    writer = ExtractWriter(
        raw_dir / source.folder / source.file_name,
        source.format,
        source.encoding,
        source.date_style,
        source.source_id,
    )
    ident = _IdentityWriter(truth_dir / "identities" / f"{source.source_id}.parquet")
    counts: Counter = Counter()

    def deliver(records: Records) -> None:
        delivered = spoil(records, source, params.mess, rng)
        writer.write(delivered.table, delivered.date_columns)
        ident.write(delivered.uid, delivered.mess)
        counts.update(_bit_counts(delivered.mess))

    if source.kind in STREAM_KINDS:
        stream, uids = _STATE["stream_members"][index]
        keys = None
        if source.key != "name":
            keys = text(entity_keys(world, np.arange(len(world.entities)), source.key))
        names, name_bits = _account_names(world, rng, params.mess)
        for lo in range(0, max(len(uids), 1), STREAM_CHUNK_ENTITIES):
            deliver(
                _stream_records(
                    stream,
                    source,
                    world,
                    uids[lo : lo + STREAM_CHUNK_ENTITIES],
                    rng,
                    keys,
                    names,
                    name_bits,
                )
            )
    else:
        # Rendered chunk by chunk from row positions, so a worker never holds a whole
        # large source (the tax bureau's ratings of a 1.3M city are 6.5M rows).
        frame = world.events[source.kind]
        positions = _STATE["assigned"].get(index, np.zeros(0, dtype=np.int64))
        for lo in range(0, max(len(positions), 1), EVENT_CHUNK_ROWS):
            part = positions[lo : lo + EVENT_CHUNK_ROWS]
            events = frame.iloc[part].assign(seq=np.arange(lo + 1, lo + len(part) + 1))
            records = render(source.kind, events, world, source)
            deliver(drift.drift_records(records, events["known_on"].to_numpy(), source, params))
    writer.close()
    ident.close()
    return index, writer.rows, dict(counts)


def _route_kind(
    rng,
    world: World,
    sources: list[Source],
    kind: str,
    frame: pd.DataFrame,
    domain: str | None = None,
) -> dict[int, np.ndarray]:
    """Row positions in `frame` of each source's events, in date order."""
    districts = world.entities["district_code"].to_numpy()[frame["entity_uid"].to_numpy()]
    target = route(rng, sources, kind, districts, domain)
    by_date = np.argsort(frame["occurred_on"].to_numpy(), kind="stable")
    rows = frame.index.to_numpy()[by_date]
    target = target[by_date]
    return {int(i): rows[target == i] for i in np.unique(target)}


def _plan_sources(world: World, sources: list[Source], seed: int) -> None:
    """Decide which events (or which accounts of a stream) each source holds."""
    (r_route,) = _rngs(seed + 1, 1)
    assigned: dict[int, np.ndarray] = {}
    for kind, frame in world.events.items():
        if kind == "licence":
            for domain in sorted(frame["domain"].unique()):
                part = frame[frame["domain"] == domain]
                assigned.update(_route_kind(r_route, world, sources, "licence", part, domain))
        else:
            assigned.update(_route_kind(r_route, world, sources, kind, frame))
    members: dict[int, tuple[Stream, np.ndarray]] = {}
    districts = world.entities["district_code"].to_numpy()
    for stream in world.streams:
        group = [
            i
            for i, s in enumerate(sources)
            if s.kind == stream.kind and s.group == stream.department
        ]
        target = route(r_route, [sources[i] for i in group], stream.kind, districts)
        for local, i in enumerate(group):
            members[i] = (stream, np.flatnonzero(stream.accounts & (target == local)))
    _STATE.update(assigned=assigned, stream_members=members)


def _expected_rows(index: int) -> int:
    if index in _STATE["stream_members"]:
        return len(_STATE["stream_members"][index][1]) * 60
    return len(_STATE["assigned"].get(index, ()))


def simulate_city(
    params: SimulateParams,
    raw_dir: Path,
    truth_dir: Path,
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """Build the city and write extracts, manifest and truth; returns the report.

    Args:
        params: the validated `simulate` section.
        raw_dir: where the departments' extracts go (one folder per source, and the manifest).
        truth_dir: where the ground truth goes (read by evaluation only).
        progress: show a progress bar over sources.
        workers: processes writing extracts in parallel (default: the machine's cores, max 2).
            The bytes written do not depend on it.
    """
    t0 = time.perf_counter()
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    for folder in (raw_dir, truth_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (truth_dir / "identities").mkdir(exist_ok=True)
    log.info("simulating %s enterprises (seed %s)", f"{params.entities:,}", params.seed)
    world, truth = build_world(params)
    log.info("city built in %.1f s; writing extracts", time.perf_counter() - t0)
    sources = build_sources(params)
    _write_truth(world, truth, truth_dir)
    del truth  # written; the workers need only the world
    _STATE.update(world=world, sources=sources, raw_dir=raw_dir, truth_dir=truth_dir)
    _plan_sources(world, sources, params.seed)
    order = sorted(range(len(sources)), key=_expected_rows, reverse=True)
    workers = workers or min(2, os.cpu_count() or 1)
    for table, column in (
        ("entities", "name"),
        ("entities", "credit_code"),
        ("entities", "registration_number"),
        ("entities", "address"),
        ("entities", "industry_code"),
        ("persons", "name"),
        ("persons", "id_number"),
    ):
        world.text(table, column)  # made once, before the fork, shared by the workers
    gc.freeze()  # the collector would otherwise touch (and so copy) every shared object
    records_by_source: dict[str, int] = {}
    mess_counts: Counter = Counter()
    bar = tqdm(total=len(sources), desc="extracts", unit="source", disable=not progress)
    try:
        if workers > 1:
            with mp.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_write_source, order)
                for index, rows, counts in results:
                    records_by_source[sources[index].source_id] = rows
                    mess_counts.update(counts)
                    bar.update()
        else:
            for index in order:
                _, rows, counts = _write_source(index)
                records_by_source[sources[index].source_id] = rows
                mess_counts.update(counts)
                bar.update()
    finally:
        bar.close()
        _STATE.clear()
        gc.unfreeze()

    (r_cut,) = _rngs(params.seed + 2, 1)
    truncated = _truncate(r_cut, sources, records_by_source, raw_dir, params.mess.truncated_files)
    manifest = _manifest(sources, records_by_source, raw_dir, params)
    pool = inspector_pool(world)
    (raw_dir / POOL_FILE).parent.mkdir(parents=True, exist_ok=True)
    write_csv(pool, raw_dir / POOL_FILE, index=False, encoding="utf-8")
    manifest["inspector_pool"] = {
        "department": "佛山市市场监督管理局",
        "file": POOL_FILE,
        "records": len(pool),
    }
    write_json(raw_dir / "manifest.json", manifest)
    write_json(truth_dir / "truncated.json", {"truncated": truncated})
    return _report(
        params,
        world,
        sources,
        records_by_source,
        mess_counts,
        truncated,
        time.perf_counter() - t0,
    )


def _truncate(rng, sources, records_by_source, raw_dir: Path, count: int) -> list[dict]:
    """Cut `count` text extracts of event sources mid-record (never a registry or a stream)."""
    pool = [
        s
        for s in sources
        if s.format in ("csv", "jsonl")
        and s.kind not in ("registration", *STREAM_KINDS)
        and records_by_source.get(s.source_id, 0) >= 20
    ]
    chosen = rng.choice(len(pool), min(count, len(pool)), replace=False) if pool else []
    out = []
    for j in sorted(chosen):
        source = pool[j]
        info = truncate(raw_dir / source.folder / source.file_name, rng)
        info.update({"source_id": source.source_id, "file": f"{source.folder}/{source.file_name}"})
        out.append(info)
    return out


def _manifest(sources, records_by_source, raw_dir: Path, params: SimulateParams) -> dict:
    # Every department delivers its extract once the last record of the history has reached
    # it: records keep arriving after history_end (courts push lawsuits 20-120 days after
    # filing, the monthly streams up to 45 days after the month, activity.lag), so the delivery
    # is the day after the longest of these delays. Ingest quarantines a date after it.
    longest_delay = np.timedelta64(120, "D")
    delivered_on = np.datetime64(params.history_end, "D") + longest_delay + np.timedelta64(1, "D")
    entries = []
    for source in sources:
        entry = source.manifest_entry()
        entry["records"] = records_by_source[source.source_id]
        entry["delivered_on"] = str(delivered_on)
        path = raw_dir / entry["file"]
        entry["bytes"] = path.stat().st_size
        entries.append(entry)
    return {
        "city": "佛山市 (simulated)",
        "history_start": str(params.history_start),
        "history_end": str(params.history_end),
        "sources": entries,
    }


def _write_truth(world: World, truth: pd.DataFrame, truth_dir: Path) -> None:
    p = world.params
    pop = world.population
    pop.entities.to_parquet(truth_dir / "entities.parquet", index=False)
    pop.persons.to_parquet(truth_dir / "persons.parquet", index=False)
    pop.shareholders.to_parquet(truth_dir / "shareholders.parquet", index=False)
    truth.to_parquet(truth_dir / "probabilities.parquet", index=False)
    events_dir = truth_dir / "events"
    events_dir.mkdir(exist_ok=True)
    for kind, frame in world.events.items():
        frame.to_parquet(events_dir / f"{kind}.parquet", index=False)
    drivers = [
        {
            "name": d.name,
            "effect": d.effect,
            "family": MECHANISMS[d.name].family,
            "shape": MECHANISMS[d.name].shape,
            "description": MECHANISMS[d.name].description,
        }
        for d in p.drivers
    ]
    others = sorted(set(MECHANISMS) - {d.name for d in p.drivers})
    write_json(
        truth_dir / "drivers.json",
        {
            "drivers": drivers,
            "interactions": [i.model_dump() for i in p.interactions],
            "latent_sd": p.latent_sd,
            "non_drivers": [{"name": n, "family": MECHANISMS[n].family} for n in others],
        },
    )
    write_json(truth_dir / "summary.json", oracle_summary(truth))


def oracle_summary(truth: pd.DataFrame, shares=(0.01, 0.05, 0.10, 0.20)) -> dict:
    """How well the best knowable probabilities could target a draw, per round (truth only)."""
    rows = []
    for number, group in truth.groupby("round"):
        row = {
            "round": int(number),
            "open": len(group),
            "mean_p_known": float(group["p_known"].mean()),
        }
        ranked = group.sort_values("p_known", ascending=False)
        for share in shares:
            top = ranked.head(max(1, int(len(ranked) * share)))
            row[f"top_{int(share * 100)}pct_p_known"] = float(top["p_known"].mean())
            row[f"top_{int(share * 100)}pct_p_full"] = float(top["p_full"].mean())
        rows.append(row)
    return {"rounds": rows}


def _report(
    params, world: World, sources, records_by_source, mess_counts, truncated, seconds
) -> dict:
    by_kind: Counter = Counter()
    by_format: Counter = Counter()
    for source in sources:
        by_kind[source.kind] += records_by_source[source.source_id]
        by_format[source.format] += records_by_source[source.source_id]
    insp = world.events["inspection"]
    by_round = insp.groupby("round")["problem"].agg(["size", "mean"])
    total = sum(records_by_source.values())
    return {
        "entities": params.entities,
        "seed": params.seed,
        "sources": len(sources),
        "departments": len({s.department for s in sources}),
        "records": total,
        "records_by_kind": dict(sorted(by_kind.items())),
        "records_by_format": dict(sorted(by_format.items())),
        "formats": sorted(by_format),
        "encodings": sorted({s.encoding for s in sources}),
        "key_types": sorted({s.key for s in sources}),
        "date_styles": sorted({s.date_style for s in sources}),
        "inspections": len(insp),
        "random_hit_rate": round(float(insp["problem"].mean()), 4),
        "random_hit_rate_by_round": {
            int(r): round(float(v), 4) for r, v in by_round["mean"].items()
        },
        "mess_records": dict(sorted(mess_counts.items())),
        "mess_share_of_records": {k: round(v / total, 5) for k, v in sorted(mess_counts.items())},
        "truncated_sources": [t["source_id"] for t in truncated],
        "seconds": round(seconds, 1),
        "city_level": sum(1 for s in sources if s.level == CITY),
    }
