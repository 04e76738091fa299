"""Build a whole simulated city: registry, activity, rounds, then every department's extract.

The extracts go to `raw_dir` (one folder per source plus `manifest.json`); the ground truth goes
to `truth_dir`, which only evaluation code may read.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from riskdraw.config import SimulateParams

from .activity import DAY, STREAM_KINDS, Stream, World, derive_dishonesty, simulate_activity
from .drivers import MECHANISMS
from .mess import spoil
from .population import make_population
from .render import KEY_COLUMNS, Records, render
from .rounds import run_rounds, screening_truth
from .sources import CITY, Source, build_sources, route
from .writers import ExtractWriter, truncate, write_json

log = logging.getLogger(__name__)

STREAM_CHUNK_ENTITIES = 50_000
EVENT_CHUNK_ROWS = 500_000


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
    )
    world = World(params=params, population=population)
    simulate_activity(r_act, world)
    truth = run_rounds(r_rounds, world)
    derive_dishonesty(r_dis, world)
    truth = pd.concat([truth, screening_truth(r_screen, world)], ignore_index=True)
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


def _write_records(
    source: Source,
    records: Records,
    world: World,
    raw_dir: Path,
    truth_dir: Path,
    rng: np.random.Generator,
) -> tuple[int, Counter]:
    writer = ExtractWriter(
        raw_dir / source.folder / source.file_name,
        source.format,
        source.encoding,
        source.date_style,
        source.source_id,
    )
    ident = _IdentityWriter(truth_dir / "identities" / f"{source.source_id}.parquet")
    counts: Counter = Counter()
    n = len(records.frame)
    for lo in range(0, max(n, 1), EVENT_CHUNK_ROWS):
        part = Records(
            records.frame.iloc[lo : lo + EVENT_CHUNK_ROWS].reset_index(drop=True),
            records.uid[lo : lo + EVENT_CHUNK_ROWS],
            records.key,
            records.name,
            records.dates,
            records.amounts,
            records.echoes,
        )
        delivered = spoil(part, source, world.params.mess, rng)
        writer.write(delivered.frame, delivered.date_columns)
        ident.write(delivered.uid, delivered.mess)
        counts.update(_bit_counts(delivered.mess))
    writer.close()
    ident.close()
    return writer.rows, counts


def _bit_counts(mess: np.ndarray) -> Counter:
    from .mess import MESS_BITS

    return Counter({k: int(np.count_nonzero(mess & b)) for k, b in MESS_BITS.items()})


def _stream_records(
    stream: Stream, source: Source, world: World, uids: np.ndarray, rng: np.random.Generator
) -> Records:
    """One chunk of a monthly stream's records for the enterprises `uids`."""
    p = world.params
    ent = world.entities
    start = np.datetime64(p.history_start, "M")
    end = np.datetime64(p.history_end, "M")
    founded = ent["founded_on"].to_numpy()[uids].astype("datetime64[M]")
    dereg = ent["deregistered_on"].to_numpy()[uids]
    first = np.maximum(founded + 1, start)
    last = np.where(np.isnat(dereg), end, np.minimum(dereg.astype("datetime64[M]"), end))
    months = np.maximum((last - first).astype(int) + 1, 0)
    idx = np.repeat(np.arange(len(uids)), months)
    offset = np.arange(len(idx)) - np.repeat(np.cumsum(months) - months, months)
    uid = uids[idx]
    month = first[idx] + offset.astype("timedelta64[M]")
    arrears = stream.arrears
    key = uid.astype(np.int64) * 10_000 + month.astype(int)
    a_key = arrears["entity_uid"].to_numpy().astype(np.int64) * 10_000 + arrears[
        "month"
    ].to_numpy().astype("datetime64[M]").astype(int)
    order = np.argsort(a_key)
    pos = np.searchsorted(a_key[order], key).clip(0, max(len(a_key) - 1, 0))
    in_arrears = (a_key[order][pos] == key) if len(a_key) else np.zeros(len(key), bool)
    month_end = (month + 1).astype("datetime64[D]") - DAY
    known = month_end + rng.integers(15, 46, len(uid)).astype("timedelta64[D]")
    if len(a_key):
        known = np.where(in_arrears, arrears["known_on"].to_numpy()[order][pos], known)
    due = np.round(stream.base_amount[uid] * rng.uniform(0.9, 1.1, len(uid)), 2)
    paid = np.where(in_arrears, 0.0, due)
    period = pd.Series(month.astype(str)).str.replace("-", "", regex=False).to_numpy(dtype=object)
    cols = {}
    if source.key != "name":
        from .render import entity_keys

        cols[KEY_COLUMNS[source.key]] = entity_keys(world, uid, source.key)
    name_col = "户名" if stream.kind == "utility" else "单位名称"
    cols[name_col] = ent["name"].to_numpy()[uid]
    if stream.kind == "utility":
        cols["账期"] = period
        cols["用量"] = np.round(due / 0.75).astype(np.int64)
        cols["应收金额"], cols["实收金额"] = due, paid
        cols["欠费标志"] = np.where(in_arrears, "是", "否")
    else:
        cols["费款所属期"] = period
        cols["参保人数"] = np.maximum(ent["employees"].to_numpy()[uid], 1)
        cols["应缴金额"], cols["实缴金额"] = due, paid
        cols["欠费标志"] = np.where(in_arrears, "1", "0")
    cols["入库日期"] = known
    return Records(
        pd.DataFrame(cols),
        uid.astype(np.int32),
        None if source.key == "name" else KEY_COLUMNS[source.key],
        name_col,
        ["入库日期"],
        ["应收金额", "实收金额"] if stream.kind == "utility" else ["应缴金额", "实缴金额"],
    )


def _route_kind(
    rng,
    world: World,
    sources: list[Source],
    kind: str,
    frame: pd.DataFrame,
    domain: str | None = None,
) -> dict[int, pd.DataFrame]:
    districts = world.entities["district_code"].to_numpy()[frame["entity_uid"].to_numpy()]
    target = route(rng, sources, kind, districts, domain)
    return {
        int(i): frame[target == i].sort_values("occurred_on", kind="stable")
        for i in np.unique(target)
    }


def simulate_city(
    params: SimulateParams, raw_dir: Path, truth_dir: Path, progress: bool = True
) -> dict:
    """Build the city and write extracts, manifest and truth; returns the report."""
    t0 = time.perf_counter()
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    for folder in (raw_dir, truth_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (truth_dir / "identities").mkdir(exist_ok=True)
    log.info("simulating %s enterprises (seed %s)", f"{params.entities:,}", params.seed)
    world, truth = build_world(params)
    log.info("city built in %.1f s; writing extracts", time.perf_counter() - t0)
    sources = build_sources(params)
    r_route, r_mess, r_stream, r_cut = _rngs(params.seed + 1, 4)

    # Which events each source holds.
    assigned: dict[int, pd.DataFrame] = {}
    for kind, frame in world.events.items():
        if kind == "licence":
            for domain in sorted(frame["domain"].unique()):
                part = frame[frame["domain"] == domain]
                assigned.update(_route_kind(r_route, world, sources, "licence", part, domain))
        else:
            assigned.update(_route_kind(r_route, world, sources, kind, frame))

    records_by_source: dict[str, int] = {}
    mess_counts: Counter = Counter()
    bar = tqdm(total=len(sources), desc="extracts", unit="source", disable=not progress)
    for i, source in enumerate(sources):
        if source.kind in STREAM_KINDS:
            continue
        events = assigned.get(i, world.events[source.kind].iloc[0:0])
        rows, counts = _write_records(
            source, render(source.kind, events, world, source), world, raw_dir, truth_dir, r_mess
        )
        records_by_source[source.source_id] = rows
        mess_counts.update(counts)
        bar.update()

    districts = world.entities["district_code"].to_numpy()
    for stream in world.streams:
        members = [
            i
            for i, s in enumerate(sources)
            if s.kind == stream.kind and s.group == stream.department
        ]
        target = route(r_route, [sources[i] for i in members], stream.kind, districts)
        for local, i in enumerate(members):
            source = sources[i]
            uids = np.flatnonzero(stream.accounts & (target == local))
            writer = ExtractWriter(
                raw_dir / source.folder / source.file_name,
                source.format,
                source.encoding,
                source.date_style,
                source.source_id,
            )
            ident = _IdentityWriter(truth_dir / "identities" / f"{source.source_id}.parquet")
            for lo in range(0, max(len(uids), 1), STREAM_CHUNK_ENTITIES):
                records = _stream_records(
                    stream, source, world, uids[lo : lo + STREAM_CHUNK_ENTITIES], r_stream
                )
                delivered = spoil(records, source, params.mess, r_mess)
                writer.write(delivered.frame, delivered.date_columns)
                ident.write(delivered.uid, delivered.mess)
                mess_counts.update(_bit_counts(delivered.mess))
            writer.close()
            ident.close()
            records_by_source[source.source_id] = writer.rows
            bar.update()
    bar.close()

    truncated = _truncate(r_cut, sources, records_by_source, raw_dir, params.mess.truncated_files)
    manifest = _manifest(sources, records_by_source, raw_dir, params)
    write_json(raw_dir / "manifest.json", manifest)
    _write_truth(world, truth, truth_dir, truncated)
    return _report(
        params, world, sources, records_by_source, mess_counts, truncated, time.perf_counter() - t0
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
    entries = []
    for source in sources:
        entry = source.manifest_entry()
        entry["records"] = records_by_source[source.source_id]
        path = raw_dir / entry["file"]
        entry["bytes"] = path.stat().st_size
        entries.append(entry)
    return {
        "city": "佛山市 (simulated)",
        "history_start": str(params.history_start),
        "history_end": str(params.history_end),
        "sources": entries,
    }


def _write_truth(world: World, truth: pd.DataFrame, truth_dir: Path, truncated) -> None:
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
    write_json(truth_dir / "truncated.json", {"truncated": truncated})
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
        "mess_rates": {k: round(v / total, 5) for k, v in sorted(mess_counts.items())},
        "truncated_sources": [t["source_id"] for t in truncated],
        "seconds": round(seconds, 1),
        "city_level": sum(1 for s in sources if s.level == CITY),
    }
