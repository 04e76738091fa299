"""Ingest: every source of the catalogue read, validated and filed as canonical Parquet tables.

For each source: read its file batch by batch (any format, any encoding), adapt it with its
kind's adapter, quarantine every record that breaks a rule (one quarantine row per broken
field: source, row, field, column, rule, original value; personal data pseudonymised and ID
numbers masked by the field's class, `riskdraw.governance.privacy.quarantine_values`),
quarantine exact duplicates (after safe repairs), and write the accepted records to
`<out>/<kind>/<source_id>.parquet`. For every source, records in = accepted + quarantined.
A file that cannot be read to its end fails its source alone, with an error naming the file
and the byte or row (any fault while reading, whatever its kind, is such a failure); the other
sources go on.

Reconciliation is against what was declared: a delivery's manifest (`manifest.json` in the raw
folder) states each source's records, and for every source declared = accepted + quarantined +
undelivered. A source without a declaration, a declaration without a source in the catalogue,
columns the kind does not know and optional columns that are missing are findings of the
report, never silence. The output folder is written beside its target and swapped in whole
(`riskdraw.outputs.staged_folder`), and ends with a completion manifest that resolve checks.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing as mp
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskdraw.outputs import staged_folder, write_completion

from .adapters import Adapter, SchemaError
from .catalogue import Kinds, SourceCatalogue, SourceEntry
from .contracts import ContractError, canonical_schema, check_keys, enforce
from .privacy import pseudonym_key, quarantine_values
from .readers import SourceReadError, iter_extract

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ["source_id", "row", "field", "column", "rule", "value"]
LAG_BINS = 401


@dataclass
class SourceResult:
    """What happened to one source's records."""

    source_id: str
    kind: str
    department: str
    records_in: int = 0
    accepted: int = 0
    quarantined: int = 0
    error: str | None = None
    repairs: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)
    filled: Counter = field(default_factory=Counter)  # non-empty values per field
    fields: int = 0  # fields per record (for completeness)
    duplicates: int = 0
    check_failures: int = 0
    key_present: int = 0
    key_valid: int = 0
    # Delivery delays (known_on - occurred_on) in days, as a histogram: 0..399, 400 = later.
    lag_hist: np.ndarray = field(default_factory=lambda: np.zeros(LAG_BINS, dtype=np.int64))
    declared: int | None = None  # the records the delivery's manifest declares (None: none)
    findings: list[dict] = field(default_factory=list)  # {finding, detail, records}

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def undelivered(self) -> int:
        """Declared records that never arrived (read before a fault counts as delivered)."""
        return max(self.declared - self.records_in, 0) if self.declared is not None else 0

    @property
    def reconciles(self) -> bool:
        """records in = accepted + quarantined, and declared = records in + undelivered."""
        counted = self.records_in == self.accepted + self.quarantined
        return counted and (self.declared is None or self.declared >= self.records_in)

    def find(self, finding: str, detail: str, records: int) -> None:
        self.findings.append({"finding": finding, "detail": detail, "records": int(records)})


class _ParquetSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty and self.writer is not None:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fingerprints(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each record's canonical values (DuckDB's `hash`, over all columns)."""
    con = duckdb.connect()
    con.execute("SET threads = 1")  # the workers are the parallelism
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    con.register("frame", frame)
    prints = con.execute(f"SELECT hash({columns}) AS h FROM frame").fetchnumpy()["h"]
    con.close()
    return np.asarray(prints, dtype=np.uint64)


class _SeenPrints:
    """The fingerprints of a source's records so far, for finding exact duplicates.

    Kept as a few sorted arrays merged like a binary counter (each at least twice the next):
    8 bytes a record, where a Python set would take about 80, and a source of tens of millions
    of records is checked in O(log n) array searches a batch.
    """

    def __init__(self) -> None:
        self.levels: list[np.ndarray] = []

    def contains(self, prints: np.ndarray) -> np.ndarray:
        order = np.argsort(prints)
        query = prints[order]  # sorted queries search the levels in cache order
        found = np.zeros(len(prints), dtype=bool)
        for level in self.levels:
            at = np.minimum(np.searchsorted(level, query), len(level) - 1)
            found[order] |= level[at] == query
        return found

    def add(self, prints: np.ndarray) -> None:
        new = _distinct_sorted(prints)
        while self.levels and len(self.levels[-1]) <= 2 * len(new):
            # Two sorted runs: a stable (merge) sort joins them in one linear pass.
            new = _distinct_sorted(np.concatenate((self.levels.pop(), new)), kind="stable")
        if len(new):
            self.levels.append(new)


def _distinct_sorted(values: np.ndarray, kind: str = "quicksort") -> np.ndarray:
    values = np.sort(values, kind=kind)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def ingest_source(
    source: SourceEntry,
    kinds: Kinds,
    raw_dir: Path,
    out_dir: Path,
    declared_rows: int | None = None,
    batch_rows: int = 1_000_000,
    contract_sample: int = 100_000,
    delivered_on: dt.date | None = None,
) -> SourceResult:
    """Ingest one source; never raises for bad data (the result carries the error).

    `delivered_on`: the day the extract was delivered (no date may lie after it); None: today.

    `contract_sample`: accepted records per batch checked against the pandera contract
    (all of them in smaller batches; evenly spaced rows in larger ones; 0 turns it off).
    """
    spec = kinds.kinds[source.kind]
    adapter = Adapter(source.kind, spec, kinds.keys, delivered_on=delivered_on)
    schema = canonical_schema(source.kind, spec)
    result = SourceResult(source.source_id, source.kind, source.department)
    path = raw_dir / source.file
    accepted_sink = _ParquetSink(out_dir / source.kind / f"{source.source_id}.parquet")
    quarantine_sink = _ParquetSink(out_dir / "quarantine" / f"{source.source_id}.parquet")
    seen = _SeenPrints()
    result.declared = declared_rows
    columns: tuple[list[str], list[str]] | None = None  # (unknown, missing optional)
    offset = 0
    try:
        for batch in iter_extract(
            path, source.format, source.encoding, batch_rows=batch_rows, expected_rows=declared_rows
        ):
            n = batch.num_rows
            if n == 0:
                continue  # an empty source (possibly without even a header) delivers nothing
            if columns is None:
                columns = _column_findings(adapter, kinds.keys, batch.column_names)
            adapted = adapter.adapt(batch, source)
            frame = adapted.frame
            bad = np.zeros(n, dtype=bool)
            rows = np.arange(offset, offset + n)
            quarantine = []
            for name, column, rule, text in adapted.issues:
                broken = pd.notna(rule)
                if not broken.any():
                    continue
                bad |= broken
                original = pd.Series(text.filter(pa.array(broken)).to_pylist(), dtype=object)
                original = quarantine_values(spec.quarantine_class(name), original)
                quarantine.append(
                    pd.DataFrame(
                        {
                            "source_id": source.source_id,
                            "row": rows[broken],
                            "field": name,
                            "column": column,
                            "rule": rule[broken],
                            "value": original.to_numpy(),
                        }
                    )
                )
                result.rules.update(pd.Series(rule[broken]).value_counts().to_dict())
                if name in [c.fields[0] for c in spec.checks]:
                    result.check_failures += int(
                        np.isin(rule[broken], [c.name for c in spec.checks]).sum()
                    )
            # Exact duplicates of an earlier record of this source (after safe repairs).
            prints = _fingerprints(frame)
            dup = pd.Series(prints).duplicated().to_numpy()
            dup |= seen.contains(prints)
            dup &= ~bad
            seen.add(prints[~bad & ~dup])
            if dup.any():
                quarantine.append(
                    pd.DataFrame(
                        {
                            "source_id": source.source_id,
                            "row": rows[dup],
                            "field": "*",
                            "column": "*",
                            "rule": "duplicate_record",
                            "value": "",
                        }
                    )
                )
                result.rules["duplicate_record"] += int(dup.sum())
            result.duplicates += int(dup.sum())
            reject = bad | dup
            keep = frame[~reject].assign(source_id=source.source_id, row=rows[~reject])
            keep["occurred_on"] = keep[spec.occurred_on]
            if spec.fields[spec.occurred_on].type == "period":  # a month is over at its end
                keep["occurred_on"] = keep["occurred_on"] + pd.offsets.MonthEnd(0)
            keep["known_on"] = keep[spec.known_on]
            check_keys(keep, source.source_id)  # every record's keys, not a sample
            if contract_sample:
                sample = (
                    keep
                    if len(keep) <= contract_sample
                    else keep.iloc[np.linspace(0, len(keep) - 1, contract_sample).astype(np.int64)]
                )
                enforce(schema, sample, source.source_id)
            accepted_sink.write(keep)
            if quarantine:
                quarantine_sink.write(
                    pd.concat(quarantine, ignore_index=True)[QUARANTINE_COLUMNS].astype(
                        {"value": str}
                    )
                )
            # Quality counts.
            result.records_in += n
            result.accepted += int((~reject).sum())
            result.quarantined += int(reject.sum())
            result.repairs.update(adapted.repairs)
            # Completeness: the values a record of this kind must carry (its required fields,
            # its name and the source's key) that are present. Optional fields may be empty.
            required = [name for name, f in spec.fields.items() if f.required] + ["name"]
            if source.key != "name":
                required.append(source.key)
            result.fields = len(required)
            missing: Counter = Counter()
            for name, _, rule, _ in adapted.issues:
                missing[name] += int(np.count_nonzero(rule == "missing_required"))
            for name in required:
                result.filled[name] += n - missing[name]
            if source.key != "name":
                key_rule = next(r for f, _, r, _ in adapted.issues if f == source.key)
                key_text = next(t for f, _, _, t in adapted.issues if f == source.key)
                present = np.asarray(
                    pc.not_equal(pc.utf8_trim_whitespace(key_text), "").to_numpy(
                        zero_copy_only=False
                    ),
                    dtype=bool,
                )
                result.key_present += int(present.sum())
                result.key_valid += int((present & pd.isna(key_rule)).sum())
            lag = keep["known_on"].to_numpy().astype("datetime64[D]") - keep[
                "occurred_on"
            ].to_numpy().astype("datetime64[D]")
            lag = lag[~np.isnat(lag)].astype(np.int64)
            result.lag_hist += np.bincount(np.clip(lag, 0, LAG_BINS - 1), minlength=LAG_BINS)
            offset += n
    except (SourceReadError, SchemaError, ContractError) as error:
        result.error = str(error)
    except OSError as error:
        result.error = f"{source.source_id} ({path}): {error}"
    except Exception as error:  # any fault fails this source alone, named
        result.error = (
            f"{source.source_id} ({path}): {type(error).__name__} while reading records "
            f"{offset}-{offset + batch_rows - 1}: {error}"
        )
        log.debug("source %s failed", source.source_id, exc_info=True)
    finally:
        for sink in (accepted_sink, quarantine_sink):
            try:
                sink.close()
            except Exception as error:  # a sink that cannot close fails its source
                result.error = result.error or f"{source.source_id}: cannot write: {error}"
    if result.error is not None:
        _fail(result, out_dir, source)
    _delivery_findings(result, columns)
    return result


def _column_findings(
    adapter: Adapter, key_columns: dict[str, str], delivered: list[str]
) -> tuple[list[str], list[str]]:
    """The delivered columns the kind does not know, and its optional columns not delivered.

    Required columns missing fail the source (the adapter's `SchemaError`); these do not, but
    an unknown column is data nobody reads and a missing optional column leaves its field empty
    for every record, so both are findings (a pair of them is often one renamed column).
    """
    known = set(key_columns.values()) | {adapter.spec.name}
    missing = []
    for spec in adapter.spec.fields.values():
        found, _ = adapter._find(delivered, spec.column)
        if found is None:
            missing.append(spec.column)
        else:
            known.add(found)
    return [c for c in delivered if c not in known], missing


def _delivery_findings(result: SourceResult, columns: tuple[list[str], list[str]] | None) -> None:
    """Findings about what was delivered against what was declared and what the kind knows."""
    n = result.records_in
    if result.declared is None:
        result.find(
            "undeclared_delivery",
            "no manifest declares how many records this source delivers: nothing to check "
            "the delivery against",
            n,
        )
    elif result.undelivered:
        result.find(
            "undelivered_records",
            f"{result.declared:,} declared, {n:,} delivered: {result.undelivered:,} never arrived",
            result.undelivered,
        )
    elif n > result.declared:
        result.find(
            "overdelivered_records",
            f"{result.declared:,} declared, {n:,} delivered: {n - result.declared:,} more than "
            "declared",
            n - result.declared,
        )
    if n == 0 and not result.failed:
        result.find("empty_delivery", "the extract holds no record", 0)
    if columns is None:
        return
    unknown, missing = columns
    renamed = " (a pair of unknown and missing columns is often one renamed column)" * bool(
        unknown and missing
    )
    if unknown:
        result.find(
            "unknown_columns",
            f"columns the kind does not know, their values not read: {unknown}{renamed}",
            n,
        )
    if missing:
        result.find(
            "missing_optional_columns",
            f"optional columns not delivered, their fields empty in every record: {missing}"
            f"{renamed}",
            n,
        )


def _fail(result: SourceResult, out_dir: Path, source: SourceEntry) -> None:
    """A failed source files nothing as accepted: partial output would look complete.

    The records read before the fault are all quarantined under `source_failed`, with the
    error, so that even a failed source's counts reconcile.
    """
    log.error("source %s failed: %s", source.source_id, result.error)
    (out_dir / source.kind / f"{source.source_id}.parquet").unlink(missing_ok=True)
    path = out_dir / "quarantine" / f"{source.source_id}.parquet"
    path.unlink(missing_ok=True)
    sink = _ParquetSink(path)
    sink.write(
        pd.DataFrame(
            {
                "source_id": source.source_id,
                "row": np.arange(result.records_in, dtype=np.int64),
                "field": "*",
                "column": "*",
                "rule": "source_failed",
                "value": result.error,
            }
        )[QUARANTINE_COLUMNS]
    )
    sink.close()
    result.accepted = 0
    result.quarantined = result.records_in
    result.rules = Counter({"source_failed": result.records_in})


def ingest_all(
    catalogue: SourceCatalogue,
    kinds: Kinds,
    raw_dir: Path,
    out_dir: Path,
    declared: dict[str, int] | None = None,
    progress: bool = True,
    batch_rows: int = 1_000_000,
    workers: int | None = None,
    contract_sample: int = 100_000,
    delivered: dict[str, dt.date] | None = None,
    deliveries: dict[str, Path] | None = None,
) -> list[SourceResult]:
    """Ingest every source of the catalogue into `out_dir`, written whole beside it and swapped
    in on success (a failed run leaves the old output; nothing of an old run survives).

    `deliveries`: source id -> the folder its file lies in, for the sources delivered beside
    the raw folder (a round's results, `read_deliveries`); the others lie in `raw_dir`.

    Sources are independent: `workers` processes (default: the cores, at most 2) take them
    largest first; the results come back in catalogue order whatever the workers. The folder
    ends with its completion manifest (the raw folder's signature, each source's counts).

    Raises:
        HandoffError: `out_dir` overlaps `raw_dir`, is a file, or is a folder riskdraw did not
            make (nothing is read or written).
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    pseudonym_key()  # a missing production key fails here, before any worker starts
    if delivered is None:
        delivered = read_manifest(raw_dir)[1]
    roots = {s.source_id: raw_dir for s in catalogue.sources} | (deliveries or {})
    inputs = {"raw": raw_dir} | {
        f"delivery {folder}": folder for folder in sorted(set((deliveries or {}).values()))
    }
    with staged_folder(out_dir, inputs) as work:
        results = _ingest_into(
            catalogue, kinds, roots, work, declared or {}, progress, batch_rows, workers,
            contract_sample, delivered,
        )  # fmt: skip
        write_completion(
            work,
            "ingest",
            inputs,
            {"batch_rows": batch_rows, "contract_sample": contract_sample},
            {
                r.source_id: {
                    "declared": r.declared,
                    "records_in": r.records_in,
                    "accepted": r.accepted,
                    "quarantined": r.quarantined,
                    "undelivered": r.undelivered,
                    "failed": r.failed,
                }
                for r in results
            },
        )
    return results


def _ingest_into(
    catalogue: SourceCatalogue,
    kinds: Kinds,
    roots: dict[str, Path],
    out_dir: Path,
    declared: dict[str, int],
    progress: bool,
    batch_rows: int,
    workers: int | None,
    contract_sample: int,
    delivered: dict[str, dt.date],
) -> list[SourceResult]:
    from tqdm.auto import tqdm

    tasks = [
        (
            source,
            kinds,
            roots[source.source_id],
            out_dir,
            declared.get(source.source_id),
            batch_rows,
            contract_sample,
            delivered.get(source.source_id),
        )
        for source in catalogue.sources
    ]
    # Largest files first, so that the workers finish together.
    order = sorted(range(len(tasks)), key=lambda i: -_size(tasks[i][2] / tasks[i][0].file))
    workers = workers or min(2, os.cpu_count() or 1)
    results: dict[int, SourceResult] = {}
    bar = tqdm(total=len(tasks), desc="ingest", unit="source", disable=not progress)
    if workers > 1:
        # Workers fork from a clean server process, never from this one: a caller that has
        # run DuckDB or Arrow threads (a notebook, tests running stages in one process) may
        # hold locks a forked child would wait on forever.
        context = mp.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        with context.Pool(workers) as pool:
            for i, result in pool.imap_unordered(_task, [(i, tasks[i]) for i in order]):
                results[i] = result
                bar.update()
    else:
        for i in order:
            results[i] = _task((i, tasks[i]))[1]
            bar.update()
    bar.close()
    return [results[i] for i in range(len(tasks))]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _task(item: tuple[int, tuple]) -> tuple[int, SourceResult]:
    index, args = item
    return index, ingest_source(*args)


def read_manifest(raw_dir: Path) -> tuple[dict[str, int], dict[str, dt.date], list[dict]]:
    """What the raw folder's `manifest.json` declares: each source's records and the day its
    extract was delivered.

    A delivery without a manifest, or with one that cannot be read, declares nothing: a
    warning finding, never a crash (each source is then an undeclared delivery). An entry
    without a source id, with a record count that is not a whole number >= 0 or with a
    delivery date that is not YYYY-MM-DD is left out, named in a finding.

    Returns:
        source id -> declared records, source id -> delivery date (where given), and the run's
        findings about the manifest.
    """
    import json

    path = Path(raw_dir) / "manifest.json"
    if not path.is_file():
        return {}, {}, [_finding("no_manifest", f"{path}: no manifest: no delivery is declared")]
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["sources"]
        if not isinstance(entries, list):
            raise TypeError(f"`sources` is a {type(entries).__name__}, not a list")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        detail = f"{path}: {type(error).__name__}: {error}; no delivery is declared"
        return {}, {}, [_finding("manifest_unreadable", detail)]
    declared, delivered, findings = {}, {}, []
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {"entry": entry}
        source, records = entry.get("source_id"), entry.get("records")
        try:
            day = entry.get("delivered_on")
            day = dt.date.fromisoformat(day) if day is not None else None
        except (TypeError, ValueError):
            day = "invalid"
        if (
            not isinstance(source, str)
            or isinstance(records, bool)
            or not isinstance(records, int)
            or records < 0
            or day == "invalid"
        ):
            findings.append(_finding(
                "manifest_entry_invalid",
                f"{path}: sources[{i}]: needs a source_id, records (a whole number >= 0) and "
                f"optionally delivered_on (YYYY-MM-DD), got {str(entry)[:200]}",
            ))  # fmt: skip
        elif source in declared:
            findings.append(_finding("manifest_entry_invalid", f"{path}: {source} listed twice"))
        else:
            declared[source] = records
            if day is not None:
                delivered[source] = day
    return declared, delivered, findings


def read_deliveries(
    folders: list[Path], catalogue: SourceCatalogue, kinds: Kinds
) -> tuple[SourceCatalogue, dict[str, Path], dict[str, int], dict[str, dt.date], list[dict]]:
    """The deliveries beside the raw folder (a round's results, `riskdraw record-results`),
    each a folder with its own `sources.yaml` (its sources, in the catalogue's form) and
    `manifest.json`, merged into the city's catalogue.

    Returns:
        The catalogue with the deliveries' sources, source id -> the folder it lies in, and
        the deliveries' declared records, delivery dates and manifest findings.

    Raises:
        CatalogueError: a delivery without `sources.yaml`, with a bad one, or with a source id
            the catalogue (or another delivery) already has.
    """
    from .catalogue import CatalogueError, load_sources

    sources, roots = list(catalogue.sources), {}
    declared, delivered, findings = {}, {}, []
    for folder in map(Path, folders):
        path = folder / "sources.yaml"
        if not path.is_file():
            raise CatalogueError(f"--delivery {folder}: no sources.yaml: not a delivery folder")
        for source in load_sources(path, kinds).sources:
            if source.source_id in {s.source_id for s in sources}:
                raise CatalogueError(
                    f"{path}: {source.source_id}: the catalogue or another delivery already "
                    "has this source id"
                )
            sources.append(source)
            roots[source.source_id] = folder
        counts, days, found = read_manifest(folder)
        declared |= counts
        delivered |= days
        findings += found
    merged = SourceCatalogue(city=catalogue.city, version=catalogue.version, sources=sources)
    return merged, roots, declared, delivered, findings


def _finding(finding: str, detail: str, records: int = 0) -> dict:
    return {"finding": finding, "detail": detail, "records": int(records)}


def run_ingest(
    settings, catalogue: SourceCatalogue, kinds: Kinds, raw_dir: Path, out_dir: Path,
    progress: bool = True, deliveries: list[Path] = (),
) -> dict:  # fmt: skip
    """The `ingest` stage: every source read, validated and filed into `out_dir`, and the
    quality report (reconciliation, failed sources and the tolerance verdict, scores per
    source and dimension).

    Args:
        settings: the `ingest` section (`IngestParams`).
        catalogue: the city's sources; kinds: the record kinds.
        raw_dir: the departments' extracts (and their manifest).
        out_dir: canonical tables and quarantine.
        deliveries: folders delivered beside the raw folder, each with its own sources and
            manifest (`read_deliveries`).
    """
    from .quality import quality_report

    declared, delivered, findings = read_manifest(raw_dir)
    catalogue, roots, more, days, found = read_deliveries(deliveries, catalogue, kinds)
    declared, delivered, findings = declared | more, delivered | days, findings + found
    results = ingest_all(
        catalogue,
        kinds,
        raw_dir,
        out_dir,
        declared,
        progress=progress,
        batch_rows=settings.batch_rows,
        contract_sample=settings.contract_sample,
        delivered=delivered,
        deliveries=roots,
    )
    known = {s.source_id for s in catalogue.sources}
    for source, records in sorted(declared.items()):
        if source not in known:
            findings.append(_finding(
                "declared_source_not_in_catalogue",
                f"{source}: the manifest declares {records:,} records of a source the "
                "catalogue does not list: not ingested",
                records,
            ))  # fmt: skip
    cadence = {s.source_id: s.cadence for s in catalogue.sources}
    checks = {k: bool(v.checks) for k, v in kinds.kinds.items()}
    return quality_report(results, settings, cadence, checks, findings)
