"""Read the departments' extracts into Arrow tables of text, and say exactly where a file breaks.

Every value comes back as text (`pa.string()`, never null: a missing value is ""), columns in
file order, one row per record in file order. Nothing is parsed or cleaned here; that is the
staging transforms' job. What this module guarantees is that a file is either read whole or
reported at its first fault, in one line naming the file, the byte offset (0-based, where
known), the record and line, and the rule broken; the complete records before the fault are
kept so the caller can still report them.

The rules, one per format (see `riskdraw.simcity.writers` for how the city writes them):

- csv, jsonl: a complete file ends with "\\n". A file that does not was cut in transfer
  ("truncated"); its partial last record is dropped and reported. Decoding is strict: a byte
  sequence that is not valid in the declared encoding (UTF-8, GBK) is a fault.
- csv: RFC 4180 with a header row. Every record has as many fields as the header; quotes pair
  up (an odd number of quote characters means an unterminated or stray quote); a quoted value
  may hold a line break; empty lines are skipped. Arrow's parser is lenient about text after a
  closing quote (`"a"b` reads as `ab`); that is let through, as it loses nothing.
- jsonl: every non-blank line is one JSON object whose values are strings (null or a missing
  key reads as ""); the first record's keys name the columns and no later record may add one.
- xlsx: the first sheet, whose first row names the columns. Numbers come back as text without
  a trailing ".0" (an Excel serial date 44931.0 is "44931"), booleans as TRUE/FALSE, empty
  cells as ""; rows Excel skipped inside the sheet are records with every value empty, empty
  rows after the last value are not records. A file that is not a zip archive is a fault.
- xml: `<records><record><Tag>value</Tag>...</record></records>`, well-formed; every record
  has the first record's tags. Tags map back to column names by reversing the writer's rule
  for units (`罚款金额_元` -> `罚款金额(元)`, `注册资本_万元` -> `注册资本(万元)`). A document
  that breaks off at its end with no final newline is reported as truncated.

An empty source (a CSV with only its header, an XML without records, a 0-byte csv/jsonl/xml
file) reads as 0 rows with no error. When the manifest's declared count is given, reading a
different number of records is a fault too.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import mmap
import posixpath
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
from lxml import etree

FORMATS = ("csv", "jsonl", "xlsx", "xml")
UNIT_TAGS = {"_元": "(元)", "_万元": "(万元)"}  # the writer's `_tag` rule, reversed
BLOCK_BYTES = 4 << 20  # pyarrow block size: the fastest of 1, 4 and 16 MiB on 1M-row extracts
SCAN_BYTES = 16 << 20  # how much the fault finder checks at once before going line by line

_BOM = codecs.BOM_UTF8
_ARROW_ERRORS = (pa.ArrowInvalid, UnicodeDecodeError)


@dataclass
class ReadResult:
    """One extract read into text: the records (all of them, or those before the fault)."""

    table: pa.Table
    rows: int
    error: str | None = None


class SourceReadError(Exception):
    """An extract breaks a reading rule; raised by `iter_extract` (never by `read_extract`).

    Attributes:
        path: the extract.
        records: how many complete records come before the fault.
    """

    def __init__(self, message: str, path: Path, records: int) -> None:
        super().__init__(message)
        self.path = path
        self.records = records


@dataclass(frozen=True)
class _Fault:
    """Where a file breaks: the message (without the path) and the complete records before it.

    `start` is the byte where the faulty record starts, so bytes before it hold only complete
    records; None when that is unknown.
    """

    message: str
    start: int | None
    records: int


def read_extract(
    path: Path, fmt: str, encoding: str, expected_rows: int | None = None
) -> ReadResult:
    """Read one extract whole; a fault is returned in `error`, never raised.

    Args:
        path: the extract file.
        fmt: "csv", "jsonl", "xlsx" or "xml" (the manifest's `format`).
        encoding: the manifest's `encoding` ("utf-8", "gbk"); ignored for xlsx.
        expected_rows: the manifest's declared record count; a different count is a fault.

    Returns:
        The records as text and, if the file breaks a rule, a one-line `error` naming the file,
        where it breaks and the rule; `table` then holds the complete records before the fault.
    """
    path = Path(path)
    _check_format(fmt)
    try:
        if fmt == "xlsx":
            table, fault = _read_xlsx(path)
        elif fmt == "xml":
            table, fault = _read_xml(path, encoding)
        else:
            table, fault = _TextExtract(path, fmt, encoding).read()
    except OSError as exc:
        table, fault = _empty_table([]), _Fault(f"cannot be read: {exc.strerror}", None, 0)
    message = _with_count(fault, table.num_rows, expected_rows)
    return ReadResult(table, table.num_rows, None if message is None else f"{path}: {message}")


def iter_extract(
    path: Path,
    fmt: str,
    encoding: str,
    batch_rows: int = 1_000_000,
    expected_rows: int | None = None,
) -> Iterator[pa.Table]:
    """Stream one extract as tables of at most `batch_rows` records, for files too big to hold.

    CSV and JSON Lines stream block by block; XLSX and XML (the small sources) come as one
    table. At least one table is yielded (with the columns, possibly 0 rows) before any error.

    Raises:
        SourceReadError: after yielding every complete record before the first fault, with the
            message `read_extract` would return. A truncated file therefore yields all of its
            complete records, then raises; so does a count that differs from `expected_rows`.
    """
    path = Path(path)
    _check_format(fmt)
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    if fmt in ("xlsx", "xml"):
        result = read_extract(path, fmt, encoding, expected_rows)
        if result.rows == 0:
            yield result.table  # (slicing a table without columns invents rows)
        for start in range(0, result.rows, batch_rows):
            yield result.table.slice(start, batch_rows)
        if result.error is not None:
            raise SourceReadError(result.error, path, result.rows)
        return
    try:
        extract = _TextExtract(path, fmt, encoding)
    except OSError as exc:
        yield _empty_table([])
        raise SourceReadError(f"{path}: cannot be read: {exc.strerror}", path, 0) from exc
    batcher = _Batcher(batch_rows, extract.empty())
    fault = yield from extract.stream(batcher)
    message = _with_count(fault, batcher.emitted, expected_rows)
    if message is not None:
        raise SourceReadError(f"{path}: {message}", path, batcher.emitted)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown extract format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _with_count(fault: _Fault | None, rows: int, expected_rows: int | None) -> str | None:
    message = None if fault is None else fault.message
    if expected_rows is not None and rows != expected_rows:
        count = f"declared {expected_rows:,} records, read {rows:,}"
        message = count if message is None else f"{message}; {count}"
    return message


def _empty_table(names: list[str]) -> pa.Table:
    return pa.Table.from_arrays([pa.array([], pa.string()) for _ in names], names=names)


def _table(names: list[str], rows: list[list[str]]) -> pa.Table:
    columns = zip(*rows, strict=True) if rows else [() for _ in names]
    # A list, not the tuple zip gives: pa.array is ~15x slower on tuples of str.
    return pa.Table.from_arrays([pa.array(list(c), pa.string()) for c in columns], names=names)


def _no_nulls(table: pa.Table) -> pa.Table:
    """Missing values as "", so every reader hands over the same kind of table."""
    if not any(column.null_count for column in table.columns):
        return table
    return pa.Table.from_arrays(
        [column.fill_null("") for column in table.columns], names=table.column_names
    )


def _codec(encoding: str) -> str:
    """Python's name for an encoding; UTF-8 with a byte-order mark reads as UTF-8."""
    name = codecs.lookup(encoding).name
    if '\n",'.encode(name) != b'\n",':
        # Records are found by their newline and quote bytes, as in every ASCII superset.
        raise ValueError(f"encoding {encoding!r} is not ASCII-compatible")
    return "utf-8" if name == "utf-8-sig" else name


class _Batcher:
    """Regroups Arrow's record batches into tables of `batch_rows`, counting what it hands out."""

    def __init__(self, batch_rows: int, empty: pa.Table) -> None:
        self.batch_rows = batch_rows
        self.empty = empty
        self.pending: list[pa.RecordBatch] = []
        self.count = 0
        self.emitted = 0
        self.started = False

    def add(self, batch: pa.RecordBatch) -> Iterator[pa.Table]:
        self.pending.append(batch)
        self.count += batch.num_rows
        while self.count >= self.batch_rows:
            table = pa.Table.from_batches(self.pending)
            rest = table.slice(self.batch_rows)
            self.pending, self.count = rest.to_batches(), rest.num_rows
            yield self._emit(table.slice(0, self.batch_rows))

    def drop_pending(self) -> None:
        self.pending, self.count = [], 0

    def finish(self) -> Iterator[pa.Table]:
        if self.count or not self.started:
            table = pa.Table.from_batches(self.pending) if self.pending else self.empty
            self.drop_pending()
            yield self._emit(table)

    def _emit(self, table: pa.Table) -> pa.Table:
        self.started = True
        self.emitted += table.num_rows
        return _no_nulls(table)


WINDOW_BYTES = 64 << 20
"""Text extracts larger than this stream through a `_Window` that releases the mapped pages
already read, so a file of many gigabytes does not stay resident in the reading process."""


class _Window(io.RawIOBase):
    """Bytes [start, stop) of a mapped extract, read in order; pages behind are released."""

    def __init__(self, extract: _TextExtract, start: int, stop: int) -> None:
        self.extract, self.pos, self.stop = extract, start, stop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.stop - self.pos)
        buffer[:n] = self.extract._map[self.pos : self.pos + n]
        self.pos += n
        self.extract._release(self.pos)
        return n


class _TextExtract:
    """A CSV or JSON Lines extract, memory-mapped: its header, its complete part, its faults."""

    def __init__(self, path: Path, fmt: str, encoding: str) -> None:
        self.path = path
        self.fmt = fmt
        self.codec = _codec(encoding)
        self.label = encoding.upper()
        self.size = path.stat().st_size
        self._map: mmap.mmap | None = None
        self._released = 0  # bytes at the start of the map handed back to the kernel
        if self.size:
            with open(path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self.buf = pa.py_buffer(self._map)
        else:
            self.buf = pa.py_buffer(b"")
        self.end = self._rfind_newline() + 1  # the complete lines end here
        self.names: list[str] = []
        self.body = 0  # where the first record starts
        self.body_line = 0  # lines before it
        self.fault: _Fault | None = None
        if self.size:
            self._read_head()

    # ---- reading

    def read(self) -> tuple[pa.Table, _Fault | None]:
        """All complete records before the first fault, and that fault (truncation included)."""
        fault = self.fault or self._quote_fault()
        stop = self.end if fault is None else fault.start
        try:
            table = self._read(self.body, stop)
        except _ARROW_ERRORS as exc:
            fault = self.locate(stop) or self._unexplained(exc)
            table = self._read(self.body, fault.start)
        return table, fault or self._truncation(table.num_rows)

    def stream(self, batcher: _Batcher) -> Generator[pa.Table, None, _Fault | None]:
        """Yield the records in tables through `batcher`; returns the fault, if any."""
        fault = self.fault or self._quote_fault()
        stop = self.end if fault is None else fault.start
        try:
            for batch in self._batches(self.body, stop):
                yield from batcher.add(batch)
        except _ARROW_ERRORS as exc:
            fault = self.locate(stop) or self._unexplained(exc)
            # The failed block may hold good records never handed out: read them again.
            batcher.drop_pending()
            skip = batcher.emitted
            for batch in self._batches(self.body, fault.start):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                yield from batcher.add(batch.slice(skip))
                skip = 0
        yield from batcher.finish()
        return fault or self._truncation(batcher.emitted)

    def empty(self) -> pa.Table:
        return _empty_table(self.names)

    def _read(self, start: int | None, stop: int | None) -> pa.Table:
        if start is None or stop is None or stop <= start:
            return self.empty()
        if self.fmt == "csv":
            table = pacsv.read_csv(self._source(start, stop), **self._csv_options())
        else:
            table = pajson.read_json(self._source(start, stop), **self._json_options())
            table.validate(full=True)  # Arrow's JSON reader lets invalid UTF-8 through
        return _no_nulls(table)

    def _batches(self, start: int | None, stop: int | None) -> Iterator[pa.RecordBatch]:
        if start is None or stop is None or stop <= start:
            return iter(())
        if self.fmt == "csv":
            return iter(pacsv.open_csv(self._source(start, stop), **self._csv_options()))
        return _validated(pajson.open_json(self._source(start, stop), **self._json_options()))

    def _release(self, upto: int, margin: int = 16 << 20) -> None:
        """Hand the mapped pages before `upto` (less a margin) back to the kernel; they stay in
        the page cache. A mapped file of many gigabytes then costs the process a window, not
        the whole file. Pages touched again later (a fault's re-read) are simply read again."""
        done = upto - margin
        done -= done % mmap.PAGESIZE
        if self._map is not None and done > self._released:
            self._map.madvise(mmap.MADV_DONTNEED, self._released, done - self._released)
            self._released = done

    def _source(self, start: int, stop: int) -> pa.NativeFile:
        if self._map is not None and stop - start > WINDOW_BYTES:
            # Large files stream through a window that releases what has been read.
            window = io.BufferedReader(_Window(self, start, stop), buffer_size=1 << 20)
            source: pa.NativeFile = pa.PythonFile(window, mode="r")
        else:
            source = pa.BufferReader(self.buf.slice(start, stop - start))
        if self.fmt == "jsonl" and self.codec != "utf-8":
            return pa.transcoding_input_stream(source, self.codec, "utf-8")
        return source

    def _csv_options(self) -> dict:
        return {
            "read_options": pacsv.ReadOptions(
                column_names=self.names,
                block_size=BLOCK_BYTES,
                encoding="utf8" if self.codec == "utf-8" else self.codec,
            ),
            "parse_options": pacsv.ParseOptions(newlines_in_values=True),
            "convert_options": pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self.names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        }

    def _json_options(self) -> dict:
        schema = pa.schema([(name, pa.string()) for name in self.names])
        return {
            "read_options": pajson.ReadOptions(block_size=BLOCK_BYTES),
            "parse_options": pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="error"
            ),
        }

    # ---- the head: CSV header or the first JSON object

    def _read_head(self) -> None:
        start = len(_BOM) if self.codec == "utf-8" and self._bytes(0, 3) == _BOM else 0
        if self.fmt == "jsonl":
            while start < self.end and not self._bytes(start, self._line_end(start)).strip():
                start = self._line_end(start)
                self.body_line += 1
        self.body = start
        if start >= self.end:
            if self.end < self.size and self.fmt == "csv":
                self.fault = _Fault(
                    f"truncated: the file ends inside the header line (the file stops at byte "
                    f"{self.size:,} with no final newline)",
                    start,
                    0,
                )
            return
        stop = self._line_end(start)
        try:
            text = self._bytes(start, stop).decode(self.codec)
        except UnicodeDecodeError as exc:
            where = (
                "header, line 1" if self.fmt == "csv" else f"record 1, line {self.body_line + 1:,}"
            )
            self.fault = _Fault(
                f"not valid {self.label} at byte {start + exc.start:,} ({where})", start, 0
            )
            return
        if self.fmt == "csv":
            self._read_header(text, stop)
        else:
            self._read_first_object(text, start)

    def _read_header(self, text: str, stop: int) -> None:
        problem = None
        if text.count('"') % 2:
            problem = "opens a quote that is never closed"
        else:
            try:
                self.names = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                problem = f"is not valid CSV: {exc}"
        if problem is not None:
            self.fault = _Fault(f"the header (line 1, byte 0) {problem}", self.body, 0)
            return
        self.body, self.body_line = stop, 1

    def _read_first_object(self, text: str, start: int) -> None:
        try:
            first = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            first, problem = None, f"is not valid JSON: {exc.msg} at column {exc.colno}"
        else:
            kind = _json_kind(first)
            problem = None if isinstance(first, dict) else f"is a JSON {kind}, not an object"
        if problem is not None:
            where = f"record 1 (line {self.body_line + 1:,}, byte {start:,})"
            self.fault = _Fault(f"{where} {problem}", start, 0)
            return
        self.names = list(first)

    # ---- faults

    def _truncation(self, rows: int) -> _Fault | None:
        if self.end == self.size:
            return None
        tail = self._bytes(self.end, self.size)
        decoder = codecs.getincrementaldecoder(self.codec)()
        try:
            decoder.decode(tail)
            mid_character = bool(decoder.getstate()[0])
        except UnicodeDecodeError:
            mid_character = False
        inside = " inside a multi-byte character and" if mid_character else ""
        return _Fault(
            f"truncated: the file ends inside record {rows + 1:,} (which starts at byte "
            f"{self.end:,}; the file stops at byte {self.size:,}{inside} with no final newline)",
            self.end,
            rows,
        )

    def _quote_fault(self) -> _Fault | None:
        """Quotes pair up in RFC 4180; an odd count means an unterminated or stray quote."""
        if self.fmt != "csv" or self.end <= self.body:
            return None
        data = np.frombuffer(self.buf, dtype=np.uint8, count=self.end)
        quotes = sum(
            int(np.count_nonzero(data[i : i + SCAN_BYTES] == 0x22))
            for i in range(self.body, self.end, SCAN_BYTES)
        )
        if quotes % 2 == 0:
            return None
        return self.locate(self.end) or _Fault(
            "has an odd number of quote characters (an unterminated or stray quote)", None, 0
        )

    def _unexplained(self, exc: Exception) -> _Fault:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _Fault(f"cannot be read: {reason}", None, 0)

    def locate(self, stop: int | None) -> _Fault | None:
        """Find the first fault before `stop`: blocks that Arrow reads cleanly are passed over,
        the first block it rejects is checked line by line, for the exact record and byte."""
        stop = self.end if stop is None else stop
        pos, records, line = self.body, 0, self.body_line
        while pos < stop:
            block_end = self._line_end(min(pos + SCAN_BYTES, stop), stop)
            rows = self._clean_rows(pos, block_end)
            if rows is not None:
                records += rows
                line += self._bytes(pos, block_end).count(b"\n")
                pos = block_end
                continue
            found = self._scan(pos, records, line, stop, block_end)
            if isinstance(found, _Fault):
                return found
            pos, records, line = found
        return None

    def _clean_rows(self, start: int, stop: int) -> int | None:
        if self.fmt == "csv" and self._bytes(start, stop).count(b'"') % 2:
            return None
        try:
            return self._read(start, stop).num_rows
        except _ARROW_ERRORS:
            return None

    def _scan(
        self, pos: int, records: int, line: int, stop: int, after: int
    ) -> _Fault | tuple[int, int, int]:
        """Check records one line at a time from `pos`, to the first record boundary past
        `after`; returns the fault, or where the check stopped (byte, records, lines)."""
        start = first_line = quotes = 0
        parts: list[str] | None = None  # the lines of the record being read
        with self.path.open("rb") as fh:
            fh.seek(pos)
            while pos < stop and (parts is not None or pos < after):
                raw = fh.readline()
                line += 1
                try:
                    text = raw.decode(self.codec)
                except UnicodeDecodeError as exc:
                    return _Fault(
                        f"not valid {self.label} at byte {pos + exc.start:,} "
                        f"(record {records + 1:,}, line {line:,})",
                        pos if parts is None else start,
                        records,
                    )
                if parts is None:
                    if not (text.strip() if self.fmt == "jsonl" else text.strip("\r\n")):
                        pos += len(raw)
                        continue  # an empty line is no record
                    start, first_line, parts, quotes = pos, line, [], 0
                parts.append(text)
                pos += len(raw)
                quotes += raw.count(b'"') if self.fmt == "csv" else 0
                if quotes % 2:
                    continue  # inside a quoted value that holds a line break
                problem = self._check_record("".join(parts))
                if problem is not None:
                    where = f"record {records + 1:,} (line {first_line:,}, byte {start:,})"
                    return _Fault(f"{where} {problem}", start, records)
                records, parts = records + 1, None
        if parts is not None:
            return _Fault(
                f"record {records + 1:,} (line {first_line:,}, byte {start:,}) opens a quote "
                "that is never closed",
                start,
                records,
            )
        return pos, records, line

    def _check_record(self, text: str) -> str | None:
        if self.fmt == "csv":
            try:
                fields = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                return f"is not valid CSV: {exc}"
            if len(fields) != len(self.names):
                count = f"{len(fields):,} field{'' if len(fields) == 1 else 's'}"
                return f"has {count}, the header has {len(self.names):,}"
            return None
        try:
            record = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            return f"is not valid JSON: {exc.msg} at column {exc.colno}"
        if not isinstance(record, dict):
            return f"is a JSON {_json_kind(record)}, not an object"
        names = set(self.names)
        for key, value in record.items():
            if key not in names:
                return f"has the field {key!r}, which the first record does not have"
            if value is not None and not isinstance(value, str):
                return f"has a {_json_kind(value)} for {key!r} where text is expected"
        return None

    # ---- bytes

    def _bytes(self, start: int, stop: int) -> bytes:
        return self.buf.slice(start, max(0, stop - start)).to_pybytes()

    def _line_end(self, pos: int, stop: int | None = None) -> int:
        """The byte after the newline that ends the line holding `pos` (or `stop`)."""
        stop = self.end if stop is None else stop
        while pos < stop:
            found = self._bytes(pos, min(pos + (1 << 20), stop)).find(b"\n")
            if found >= 0:
                return pos + found + 1
            pos += 1 << 20
        return stop

    def _rfind_newline(self) -> int:
        stop = self.size
        while stop > 0:
            start = max(0, stop - (1 << 20))
            found = self._bytes(start, stop).rfind(b"\n")
            if found >= 0:
                return start + found
            stop = start
        return -1


def _validated(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Arrow's JSON reader lets invalid UTF-8 through; a full validation catches it."""
    for batch in batches:
        batch.validate(full=True)
        yield batch


def _json_kind(value: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


# ---- XML


def _column_for_tag(tag: str) -> str:
    """The column an XML tag stands for: `罚款金额_元` is `罚款金额(元)`."""
    for suffix, unit in UNIT_TAGS.items():
        if tag.endswith(suffix) and len(tag) > len(suffix):
            return tag[: -len(suffix)] + unit
    return tag


def _read_xml(path: Path, encoding: str) -> tuple[pa.Table, _Fault | None]:
    """Records as they close; a fault stops the read, keeping the records before it."""
    size = path.stat().st_size
    if size == 0:
        return _empty_table([]), None
    with path.open("rb") as fh:
        return _parse_xml(fh, size, encoding, path)


def _parse_xml(
    fh: IO[bytes], size: int, encoding: str, path: Path
) -> tuple[pa.Table, _Fault | None]:
    tags: list[str] = []
    rows: list[list[str]] = []
    events = etree.iterparse(
        fh,
        events=("end",),
        tag="record",
        encoding=_codec(encoding),
        huge_tree=True,
        resolve_entities=False,
        no_network=True,
    )
    try:
        for _, element in events:
            fields = [(c.tag, c.text or "") for c in element if isinstance(c.tag, str)]
            values = dict(fields)
            if not rows and not tags:
                tags = [tag for tag, _ in fields]
            if len(values) != len(fields) or values.keys() != set(tags):
                names = ", ".join(tag for tag, _ in fields)
                fault = _Fault(
                    f"XML record {len(rows) + 1:,} (line {element.sourceline:,}) has the fields "
                    f"[{names}], unlike record 1 [{', '.join(tags)}]",
                    None,
                    len(rows),
                )
                return _table([_column_for_tag(t) for t in tags], rows), fault
            rows.append([values[tag] for tag in tags])
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        table = _table([_column_for_tag(t) for t in tags], rows)
        return table, _xml_fault(path, size, exc, len(rows))
    return _table([_column_for_tag(t) for t in tags], rows), None


def _xml_fault(path: Path, size: int, exc: etree.XMLSyntaxError, records: int) -> _Fault:
    line, column = exc.position
    data = path.read_bytes()
    if not data.endswith(b"\n") and line >= data.count(b"\n") + 1:
        # The document breaks off on its last line, which has no newline: a cut transfer.
        tail = data[data.rfind(b"</record>") + 1 :] if b"</record>" in data else data
        where = (
            f"inside record {records + 1:,}"
            if b"<record" in tail
            else f"after record {records:,}, before the closing tag"
        )
        return _Fault(
            f"truncated: the file ends {where} (the file stops at byte {size:,}, line "
            f"{line:,}, with no final newline)",
            None,
            records,
        )
    return _Fault(
        f"XML not well-formed at line {line:,}, column {column:,} (after record {records:,}): "
        f"{_xml_reason(exc)}",
        None,
        records,
    )


def _xml_reason(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message without the position it repeats."""
    return re.sub(r", line \d+, column \d+$", "", exc.msg)


# ---- XLSX


def _read_xlsx(path: Path) -> tuple[pa.Table, _Fault | None]:
    """The first sheet, read straight from the workbook's XML (openpyxl is ~10x slower)."""
    names: list[str] = []
    rows: list[list[str]] = []
    try:
        with zipfile.ZipFile(path) as book:
            ns, sheet, shared_part = _workbook_parts(book)
            shared = _shared_strings(book, shared_part, ns)
            with book.open(sheet) as fh:
                fault = _read_sheet(fh, ns, shared, names, rows)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        fault = _Fault(f"not a valid XLSX (zip) file: {exc}", None, len(rows))
    except KeyError as exc:
        fault = _Fault(f"not a valid XLSX workbook: missing part {exc}", None, len(rows))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        fault = _Fault(
            f"not a valid XLSX workbook: XML not well-formed at line {line:,}, column "
            f"{column:,} (after record {len(rows):,}): {_xml_reason(exc)}",
            None,
            len(rows),
        )
    return _table(names, rows), fault


def _relations(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the archive)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in book.namelist():
        return {}
    out = {}
    for rel in etree.fromstring(book.read(rels), _xml_parser()):
        target = rel.get("Target", "")
        where = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(where))
    return out


def _workbook_parts(book: zipfile.ZipFile) -> tuple[str, str, str | None]:
    """The spreadsheet namespace, the first sheet's part and the shared strings' part."""
    package = _relations(book, "")
    workbook = next(
        (p for kind, p in package.values() if kind.endswith("/officeDocument")), "xl/workbook.xml"
    )
    root = etree.fromstring(book.read(workbook), _xml_parser())
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    sheets = root.find(f"{ns}sheets")
    if sheets is None or len(sheets) == 0:
        raise KeyError("the workbook has no sheet")
    rid = next((v for k, v in sheets[0].attrib.items() if k.endswith("}id")), "")
    relations = _relations(book, workbook)
    sheet = relations[rid][1] if rid in relations else "xl/worksheets/sheet1.xml"
    shared = next((p for kind, p in relations.values() if kind.endswith("/sharedStrings")), None)
    return ns, sheet, shared


def _shared_strings(book: zipfile.ZipFile, part: str | None, ns: str) -> list[str]:
    if part is None or part not in book.namelist():
        return []
    root = etree.fromstring(book.read(part), _xml_parser())
    return [_rich_text(item, ns) for item in root.iter(f"{ns}si")]


def _rich_text(node: etree._Element, ns: str) -> str:
    """The text of a string item: its runs, without phonetic guides."""
    return "".join(t.text or "" for t in node.iter(f"{ns}t") if t.getparent().tag != f"{ns}rPh")


def _read_sheet(
    fh: IO[bytes], ns: str, shared: list[str], names: list[str], rows: list[list[str]]
) -> _Fault | None:
    """Fill `names` from the first row and `rows` from the rest; returns a fault or None."""
    header_row = last = 0
    width = -1
    for _, row in etree.iterparse(fh, events=("end",), tag=f"{ns}row", huge_tree=True):
        number = int(row.get("r") or last + 1)
        try:
            cells = _row_cells(row, ns, shared)
        except (IndexError, ValueError) as exc:
            return _Fault(f"row {number:,} has a cell that cannot be read: {exc}", None, len(rows))
        row.clear(keep_tail=True)
        while row.getprevious() is not None:
            del row.getparent()[0]
        if width < 0:
            width = max(cells, default=-1) + 1
            names.extend(cells.get(i, "") for i in range(width))
            header_row = last = number
            continue
        rows.extend([""] * width for _ in range(last + 1, number))  # rows Excel left out
        if cells and max(cells) >= width:
            return _Fault(
                f"row {number:,} (record {number - header_row:,}) has a value in column "
                f"{max(cells) + 1:,}, beyond the header's {width:,} columns",
                None,
                len(rows),
            )
        rows.append([cells.get(i, "") for i in range(width)])
        last = number
    while rows and not any(rows[-1]):
        rows.pop()  # empty rows after the last value are formatting, not records
    return None


def _row_cells(row: etree._Element, ns: str, shared: list[str]) -> dict[int, str]:
    """The non-empty cells of a sheet row by column index (0-based)."""
    c_tag, v_tag, is_tag, t_tag = f"{ns}c", f"{ns}v", f"{ns}is", f"{ns}t"
    cells: dict[int, str] = {}
    column = -1
    for cell in row:
        if cell.tag != c_tag:
            continue
        ref = cell.get("r")
        column = _column_index(ref.rstrip("0123456789")) if ref else column + 1
        text = ""
        for part in cell:  # <v> holds a value; <is> an inline string; <f> a formula
            if part.tag == v_tag:
                text = _value_text(part.text or "", cell.get("t"), shared)
                break
            if part.tag == is_tag:
                plain = len(part) == 1 and part[0].tag == t_tag
                text = (part[0].text or "") if plain else _rich_text(part, ns)
                break
        if text:
            cells[column] = text
    return cells


def _value_text(value: str, kind: str | None, shared: list[str]) -> str:
    if kind == "s":
        return shared[int(value)]
    if kind == "b":
        return "TRUE" if value.strip() == "1" else "FALSE"
    if kind in ("str", "e", "d", "inlineStr"):
        return value
    return _number_text(value) if value else ""


@lru_cache(maxsize=1024)
def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _number_text(value: str) -> str:
    """An Excel number as text: whole numbers without ".0" (44931.0 -> "44931")."""
    if value.isdigit():
        return value.lstrip("0") or "0"
    number = float(value)
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
