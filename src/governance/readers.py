"""Read the departments' extracts into Arrow tables of text, and say exactly where a file breaks.

Every value comes back as text (`pa.string()`, never null: a missing value is ""), columns in
file order, one row per record in file order. Nothing is parsed or cleaned here; that is the
staging transforms' job. What this module guarantees is that a file is either read whole or
reported at its first fault, in one line naming the file, the byte offset (0-based, where
known), the record and line, and the rule broken; the complete records before the fault are
kept so the caller can still report them.

The rules, one per format (see `riskdraw.simcity.writers` for how the city writes them):

- every format: no column name is given twice (a header, a JSON object, an XML record that
  repeats one is a fault: which of the two would hold the value?).
- csv, jsonl: a complete file ends with "\\n". A file that does not was cut in transfer
  ("truncated"); its partial last record is dropped and reported. Decoding is strict: a byte
  sequence that is not valid in the declared encoding (UTF-8, GBK) is a fault. A record longer
  than RECORD_BYTES (4 MiB) that Arrow cannot read is a fault naming that limit.
- csv: RFC 4180 with a header row, the first line (an empty first line is a fault). Every
  record has as many fields as the header; quotes pair up (an odd number of quote characters
  means an unterminated or stray quote); a quoted value may hold a line break; empty lines are
  skipped. Arrow's parser is lenient about text after a closing quote (`"a"b` reads as `ab`);
  that is let through, as it loses nothing. Known limit of Arrow 25: a record holding a NUL
  outside quotes and then a quoted line break, across one of Arrow's blocks, is refused by
  Arrow though valid; the fault names the block it refused.
- jsonl: every non-blank line (blank: only JSON's whitespace) is one JSON object whose values
  are strings (null or a missing key reads as ""), however deep a non-string nests; the first
  record's keys name the columns and no later record may add one. A string escaping half a
  surrogate pair (`"\\ud800"`) is no text, and a fault.
- xlsx: the first sheet, whose first row names the columns. Numbers come back as text without
  a trailing ".0" (an Excel serial date 44931.0 is "44931"), booleans as TRUE/FALSE, empty
  cells as "", Excel's escapes in text undone (`_x0001_` is U+0001); rows Excel skipped inside
  the sheet are records with every value empty, empty rows after the last value are not
  records. Rows come in order, numbered up to XLSX_ROWS; cells in column order, their
  references naming their row and a column up to XFD; a shared string index names a shared
  string; a number is a finite number; text holds no markup. A sheet may expand to at most
  XLSX_CELLS cells, a part unpack to at most XLSX_PART_BYTES. A file that is not a zip archive
  is a fault.
- xml: `<records><record><Tag>value</Tag>...</record></records>`, well-formed; every record
  has the first record's tags. A value is text: comments and processing instructions inside it
  are skipped, but an element inside a field, text between fields or an entity reference
  (entities are never expanded) is a fault, as it would be lost. Tags map back to column names
  by reversing the writer's rule for units (`罚款金额_元` -> `罚款金额(元)`, `注册资本_万元` ->
  `注册资本(万元)`). A document that breaks off at its end with no final newline is reported
  as truncated.

An empty source (a CSV with only its header, an XML without records, a 0-byte csv/jsonl/xml
file) reads as 0 rows with no error. When the manifest's declared count is given, reading a
different number of records is a fault too.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import lzma
import math
import mmap
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
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
RECORD_BYTES = BLOCK_BYTES
"""The longest csv/jsonl record (a line, or the lines of a quoted value) that is sure to read:
Arrow reads block by block and cannot hold a record that spans more than two blocks. A longer
record that Arrow cannot read is a fault naming this limit."""
XLSX_COLUMNS = 16_384  # Excel's last column, XFD
XLSX_ROWS = 1_048_576  # Excel's last row
XLSX_CELLS = 50_000_000
"""The most cells (records times the header's columns) a sheet may expand to. Rows Excel left
out become records of empty values, so a few bytes (`<row r="1000000">` below a header 16,384
columns wide) could otherwise ask for billions of cells; the largest xlsx source of the full
city is about 1M cells."""
XLSX_PART_BYTES = 1 << 30
"""The most bytes one part of a workbook (its sheet, its shared strings) may unpack to, checked
against the size the archive declares before anything is unpacked (a zip bomb is refused; a
part that unpacks to more than it declares fails its checksum)."""

_BOM = codecs.BOM_UTF8
# Any error of Arrow's readers is a fault to locate, not a crash.
_ARROW_ERRORS = (pa.ArrowException, UnicodeDecodeError)


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
    except OSError as exc:  # (a bz2 stream's OSError carries no strerror)
        table, fault = _empty_table([]), _Fault(f"cannot be read: {_reason(exc)}", None, 0)
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
        raise SourceReadError(f"{path}: cannot be read: {_reason(exc)}", path, 0) from exc
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


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _repeated(names: list[str], noun: str, label: Callable[[int], str] | None = None) -> str:
    """The names given more than once and where: "'a' (columns 1 and 3); 'b' (...)"; "" if none.

    A table with two columns of one name is ambiguous (which holds the value?), so every reader
    fails a source whose header, first record or record repeats a name.
    """
    label = label or (lambda i: f"{i + 1:,}")
    at: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        at.setdefault(name, []).append(i)
    return "; ".join(
        f"{name!r} ({noun} {_and([label(i) for i in places])})"
        for name, places in at.items()
        if len(places) > 1
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


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
        self._refused: tuple[int, int, int] | None = None  # a block Arrow refused, none found
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
            batches = list(self._readable(fault, stop))
            table = _no_nulls(pa.Table.from_batches(batches)) if batches else self.empty()
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
            for batch in self._readable(fault, stop):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                yield from batcher.add(batch.slice(skip))
                skip = 0
        yield from batcher.finish()
        return fault or self._truncation(batcher.emitted)

    def _readable(self, fault: _Fault, stop: int | None) -> Iterator[pa.RecordBatch]:
        """The records before `fault`, as Arrow streams them: to where the fault starts or,
        when Arrow refuses what the checker passes (then no start is known), up to where Arrow
        fails. A whole read and a stream so keep the same records, whatever `batch_rows`."""
        try:
            yield from self._batches(self.body, stop if fault.start is None else fault.start)
        except _ARROW_ERRORS:
            return

    def empty(self) -> pa.Table:
        return _empty_table(self.names)

    def _read(self, start: int | None, stop: int | None) -> pa.Table:
        if start is None or stop is None or stop <= start:
            return self.empty()
        if self.fmt == "csv":
            # Serial, as `open_csv` streams, so a whole read and a stream agree: Arrow 25's
            # threaded read_csv refuses some records near a block boundary that it streams.
            options = self._csv_options()
            options["read_options"].use_threads = False
            table = pacsv.read_csv(self._source(start, stop), **options)
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
            while start < self.end and not self._bytes(start, self._line_end(start)).strip(
                _JSON_SPACE
            ):
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
        if stop - start > RECORD_BYTES:
            where = (
                "the header (line 1, byte 0)"
                if self.fmt == "csv"
                else f"record 1 (line {self.body_line + 1:,}, byte {start:,})"
            )
            self.fault = _Fault(f"{where} {_too_long()}", start, 0)
            return
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
        if not text.strip("\r\n"):
            # (Arrow, given no names, would take the next line for the header and guess types)
            problem = "is empty: the first line names the columns"
        elif text.count('"') % 2:
            problem = "opens a quote that is never closed"
        else:
            _allow_long_fields()
            try:
                names = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                problem = f"is not valid CSV: {exc}"
            else:
                repeated = _repeated(names, "columns")
                if repeated:
                    problem = f"repeats a column name: {repeated}"
                else:
                    self.names = names
        if problem is not None:
            self.fault = _Fault(f"the header (line 1, byte 0) {problem}", self.body, 0)
            return
        self.body, self.body_line = stop, 1

    def _read_first_object(self, text: str, start: int) -> None:
        first, problem = _json_record(text.rstrip("\r\n"))
        if first is not None:
            problem = _json_fields_problem(first, None)
        if problem is not None:
            where = f"record 1 (line {self.body_line + 1:,}, byte {start:,})"
            self.fault = _Fault(f"{where} {problem}", start, 0)
            return
        self.names = list(first)

    # ---- faults

    def _truncation(self, rows: int) -> _Fault | None:
        if self.end == self.size:
            return None
        # Whether the file stops mid-character shows at its end: decode at most its last 64 KiB,
        # from a byte below 0x40 (in UTF-8 and GBK a character of its own, never part of a wider
        # one), so a file of one line of gigabytes is not copied whole.
        tail = self._bytes(max(self.end, self.size - (64 << 10)), self.size)
        if self.size - self.end > len(tail):
            own = np.flatnonzero(np.frombuffer(tail, dtype=np.uint8) < 0x40)
            tail = tail[own[-1] :] if len(own) else tail
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
        # (Arrow's row number counts within its block, and only its whole-file reader gives it)
        reason = re.sub(r"^(CSV parse error: )Row #\d+: ", r"\1", reason)
        if self._refused is None:
            return _Fault(f"cannot be read: {reason}", None, 0)
        pos, records, line = self._refused  # the complete records before that block are kept
        return _Fault(
            f"cannot be read from record {records + 1:,} (line {line + 1:,}, byte {pos:,}) on: "
            f"{reason}",
            pos,
            records,
        )

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
            self._refused = self._refused or (pos, records, line)
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
        _allow_long_fields()
        with self.path.open("rb") as fh:
            fh.seek(pos)
            while pos < stop and (parts is not None or pos < after):
                raw = fh.readline(RECORD_BYTES + 1)
                line += 1
                begins, begins_line = (pos, line) if parts is None else (start, first_line)
                if pos + len(raw) - begins > RECORD_BYTES:
                    where = f"record {records + 1:,} (line {begins_line:,}, byte {begins:,})"
                    return _Fault(f"{where} {_too_long()}", begins, records)
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
                    if not text.strip(" \t\r\n" if self.fmt == "jsonl" else "\r\n"):
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
        record, problem = _json_record(text.rstrip("\r\n"))
        return problem if record is None else _json_fields_problem(record, set(self.names))

    # ---- bytes

    def _bytes(self, start: int, stop: int) -> bytes:
        start, stop = min(start, self.size), min(stop, self.size)  # a 1-byte file has no BOM
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
    kinds = ((bool, "boolean"), (str, "string"), ((int, float), "number"), (list, "array"))
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


class _JsonObject(dict):
    """A JSON object that remembers the keys it was given twice (a dict keeps only the last)."""

    repeated = ""

    @classmethod
    def of(cls, pairs: list[tuple[str, object]]) -> _JsonObject:
        record = cls(pairs)
        if len(record) < len(pairs):
            record.repeated = _repeated([key for key, _ in pairs], "fields")
        return record


_JSON_SPACE = b" \t\r\n"  # JSON's whitespace; a line of anything else is no blank line
_JSON_GAP = re.compile(r"[ \t\r\n]*")


def _too_long() -> str:
    return (
        f"is longer than RECORD_BYTES ({RECORD_BYTES:,} bytes), the longest record this reader "
        "is sure to read"
    )


def _json_record(line: str) -> tuple[_JsonObject | None, str | None]:
    """One line as a JSON object, or why it is none (its problem, without where it is)."""
    try:
        record = json.loads(line, object_pairs_hook=_JsonObject.of)
    except json.JSONDecodeError as exc:
        return None, f"is not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, _nested_too_deep(line)
    if not isinstance(record, dict):
        return None, f"is a JSON {_json_kind(record)}, not an object"
    if record.repeated:
        return None, f"repeats a field: {record.repeated}"
    return record, None


def _json_fields_problem(record: dict, names: set[str] | None) -> str | None:
    """Why an object's fields are not text of the columns `names` (any names when None)."""
    for key, value in record.items():
        if names is not None and key not in names:
            return f"has the field {key!r}, which the first record does not have"
        if value is not None and not isinstance(value, str):
            kind = _json_kind(value)
            kind = f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
            return f"has {kind} for {key!r} where text is expected"
        if not _is_unicode(key):
            return f"has a lone surrogate in the field name {key!r}, which is not Unicode text"
        if value and not _is_unicode(value):
            # Python's json lets an escaped half of a surrogate pair through; Arrow does not.
            return f"has a lone surrogate in {key!r}, which is not Unicode text"
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _nested_too_deep(line: str) -> str:
    """Why a line that nests too deep for Python's json is no record: a top-level array, or
    the first field whose value is an array or object (found walking the top level only)."""
    pos = _JSON_GAP.match(line).end()
    if line.startswith("[", pos):
        return "is a JSON array, not an object"
    decoder = json.JSONDecoder()
    try:
        pos = _JSON_GAP.match(line, pos + 1).end()
        while line.startswith('"', pos):
            key, pos = json.decoder.scanstring(line, pos + 1)
            pos = _JSON_GAP.match(line, _JSON_GAP.match(line, pos).end() + 1).end()  # past ":"
            if line[pos] in "[{":
                kind = "an array" if line[pos] == "[" else "an object"
                return f"has {kind} for {key!r} where text is expected"
            _, pos = decoder.raw_decode(line, pos)
            pos = _JSON_GAP.match(line, _JSON_GAP.match(line, pos).end() + 1).end()  # past ","
    except (ValueError, IndexError):
        pass
    return "is not valid JSON: nested too deep to read"


def _allow_long_fields() -> None:
    """Python's csv refuses fields over 128 KiB; Arrow reads them, so the checker must too."""
    if csv.field_size_limit() < RECORD_BYTES:
        csv.field_size_limit(RECORD_BYTES)


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
            where = f"XML record {len(rows) + 1:,} (line {element.sourceline:,})"
            try:
                fields = _xml_fields(element)
            except _Markup as exc:
                return _table([_column_for_tag(t) for t in tags], rows), _Fault(
                    f"{where} {exc}", None, len(rows)
                )
            values = dict(fields)
            if len(values) != len(fields):
                repeated = _repeated([tag for tag, _ in fields], "fields")
                fault = _Fault(f"{where} repeats a field: {repeated}", None, len(rows))
                return _table([_column_for_tag(t) for t in tags], rows), fault
            if not rows and not tags:
                tags = [tag for tag, _ in fields]
            if values.keys() != set(tags):
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


class _Markup(Exception):
    """An element that must hold text only holds more (its message says what, and where)."""


def _xml_fields(record: etree._Element) -> list[tuple[str, str]]:
    """A record's fields as (tag, text); raises `_Markup` where it holds anything that would
    be lost: text between its fields, an entity, markup inside a field."""
    fields = []
    for node in [record, *record]:
        tail = record.text if node is record else node.tail
        if tail and not tail.isspace():
            raise _Markup(f"has the text {tail.strip()!r} outside its fields")
        if node is record or node.tag is etree.Comment or node.tag is etree.PI:
            continue
        if not isinstance(node.tag, str):
            raise _Markup(f"has the entity reference {node.text} outside its fields")
        try:
            fields.append((node.tag, _text_only(node)))
        except _Markup as exc:
            raise _Markup(
                f"has markup inside <{node.tag}>: {exc}; a field holds text only"
            ) from None
    return fields


def _text_only(node: etree._Element) -> str:
    """An element's text, its text nodes joined: comments and processing instructions are no
    data. Raises `_Markup` if it holds an element or an entity reference (either would cut the
    value short; entities are not expanded, so no file can reach outside itself)."""
    if len(node) == 0:
        return node.text or ""
    parts = [node.text or ""]
    for child in node:
        if isinstance(child.tag, str):
            raise _Markup(
                f"the element <{etree.QName(child).localname}> (line {child.sourceline:,})"
            )
        if child.tag is etree.Entity:
            raise _Markup(f"the entity reference {child.text}, which this reader does not expand")
        parts.append(child.tail or "")
    return "".join(parts)


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
            ns, sheet, shared_part, sheet_name = _workbook_parts(book)
            shared = _shared_strings(book, shared_part, ns)
            with book.open(_part(book, sheet)) as fh:
                try:
                    fault = _read_sheet(fh, ns, shared, names, rows, sheet_name)
                except etree.XMLSyntaxError as exc:
                    raise _XlsxFault(_not_xml(sheet, exc, len(rows))) from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        EOFError,
        NotImplementedError,  # a compression method zipfile does not know
        RuntimeError,  # an encrypted part
    ) as exc:
        fault = _Fault(f"not a valid XLSX (zip) file: {exc}", None, len(rows))
    except OSError as exc:
        if exc.errno is not None:
            raise  # the file itself cannot be read (read_extract says why)
        fault = _Fault(f"not a valid XLSX (zip) file: {exc}", None, len(rows))  # bz2's error
    except KeyError as exc:
        fault = _Fault(f"not a valid XLSX workbook: missing part {exc}", None, len(rows))
    except _XlsxFault as exc:
        fault = _Fault(f"not a valid XLSX workbook: {exc}", None, len(rows))
    return _table(names, rows), fault


class _XlsxFault(Exception):
    """A workbook part that breaks a rule; the message names the part and the rule."""


class _CellFault(Exception):
    """A sheet cell that breaks a rule: the message says which, `ref` names the cell."""

    def __init__(self, rule: str, ref: str = "") -> None:
        super().__init__(rule)
        self.ref = ref


def _part(book: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """A part of the workbook, refused before it is unpacked if it is too big to unpack."""
    info = book.getinfo(name)
    if info.file_size > XLSX_PART_BYTES:
        raise _XlsxFault(
            f"{name} unpacks to {info.file_size:,} bytes, more than XLSX_PART_BYTES "
            f"({XLSX_PART_BYTES:,})"
        )
    return info


def _parse_part(book: zipfile.ZipFile, name: str) -> etree._Element:
    try:
        return etree.fromstring(book.read(_part(book, name)), _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _XlsxFault(_not_xml(name, exc)) from None


def _not_xml(part: str, exc: etree.XMLSyntaxError, records: int | None = None) -> str:
    line, column = exc.position
    after = "" if records is None else f" (after record {records:,})"
    return (
        f"{part} is not well-formed XML at line {line:,}, column {column:,}{after}: "
        f"{_xml_reason(exc)}"
    )


def _relations(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the archive)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in book.namelist():
        return {}
    out = {}
    for rel in _parse_part(book, rels):
        if not isinstance(rel.tag, str):
            continue  # a comment
        target = rel.get("Target", "")
        where = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(where))
    return out


def _workbook_parts(book: zipfile.ZipFile) -> tuple[str, str, str | None, str]:
    """The spreadsheet namespace, the first sheet's part, the shared strings' part and the
    first sheet's name."""
    package = _relations(book, "")
    workbook = next(
        (p for kind, p in package.values() if kind.endswith("/officeDocument")), "xl/workbook.xml"
    )
    root = _parse_part(book, workbook)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    sheets = root.find(f"{ns}sheets")
    first = None if sheets is None else sheets.find(f"{ns}sheet")
    if first is None:
        raise KeyError("the workbook has no sheet")
    rid = next((v for k, v in first.attrib.items() if k.endswith("}id")), "")
    relations = _relations(book, workbook)
    sheet = relations[rid][1] if rid in relations else "xl/worksheets/sheet1.xml"
    shared = next((p for kind, p in relations.values() if kind.endswith("/sharedStrings")), None)
    return ns, sheet, shared, first.get("name", "")


def _shared_strings(book: zipfile.ZipFile, part: str | None, ns: str) -> list[str]:
    if part is None or part not in book.namelist():
        return []
    strings = []
    for index, item in enumerate(_parse_part(book, part).iter(f"{ns}si")):
        try:
            strings.append(_rich_text(item, ns))
        except _Markup as exc:
            raise _XlsxFault(f"{part}: shared string {index:,} holds markup: {exc}") from None
    return strings


def _rich_text(node: etree._Element, ns: str) -> str:
    """The text of a string item: its runs, without phonetic guides."""
    runs = (_text_only(t) for t in node.iter(f"{ns}t") if t.getparent().tag != f"{ns}rPh")
    return _xstring("".join(runs))


_XSTRING_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _xstring(text: str) -> str:
    """Excel's text with its escapes undone: a control character is written `_x0001_` and an
    underscore that starts such a sequence `_x005F_` (so a literal "_x0041_" is
    "_x005F_x0041_"). Half a surrogate pair is no character and stays as written."""
    return _XSTRING_ESCAPE.sub(_unescape, text) if "_x" in text else text


def _unescape(match: re.Match) -> str:
    code = int(match.group(1), 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def _read_sheet(
    fh: IO[bytes],
    ns: str,
    shared: list[str],
    names: list[str],
    rows: list[list[str]],
    sheet: str,
) -> _Fault | None:
    """Fill `names` from the first row and `rows` from the rest; returns a fault or None.

    Rows come in order, each once, numbered 1 to XLSX_ROWS; cells in column order, each once,
    their references naming their row and a column up to XFD.
    """
    header_row = last = 0
    width = -1
    events = etree.iterparse(
        fh,
        events=("end",),
        tag=f"{ns}row",
        huge_tree=True,
        resolve_entities=False,
        no_network=True,
    )
    for _, row in events:
        given = row.get("r")
        number = last + 1 if given is None else _row_number(given)
        if not 0 < number <= XLSX_ROWS:
            after = f"the row after row {last:,}" if last else "the first row"
            return _Fault(
                f"sheet {sheet!r}: {after} has the number {given or number!r}, not a row number "
                f"of Excel's (1 to {XLSX_ROWS:,})",
                None,
                len(rows),
            )
        if number <= last:
            return _Fault(
                f"sheet {sheet!r}: row {number:,} comes after row {last:,} (rows are in order, "
                "each once)",
                None,
                len(rows),
            )
        record = "the header" if width < 0 else f"record {number - header_row:,}"
        try:
            cells = _row_cells(row, ns, shared, number)
        except _CellFault as exc:
            return _Fault(
                f"sheet {sheet!r}, cell {exc.ref} (row {number:,}, {record}) {exc}", None, len(rows)
            )
        row.clear(keep_tail=True)
        while row.getprevious() is not None:
            del row.getparent()[0]
        if width < 0:
            width = max(cells, default=-1) + 1
            header = [cells.get(i, "") for i in range(width)]
            repeated = _repeated(
                header, "cells", lambda i, row=number: f"{_column_letters(i)}{row}"
            )
            if repeated:
                return _Fault(
                    f"sheet {sheet!r}, the header (row {number:,}) repeats a column name: "
                    f"{repeated}",
                    None,
                    0,
                )
            names.extend(header)
            header_row = last = number
            continue
        if (len(rows) + number - last) * width > XLSX_CELLS:  # checked before any is made
            return _Fault(
                f"sheet {sheet!r}, row {number:,} ({record}) takes the sheet past XLSX_CELLS "
                f"({XLSX_CELLS:,} cells: records times the header's {width:,} columns)",
                None,
                len(rows),
            )
        rows.extend([""] * width for _ in range(last + 1, number))  # rows Excel left out
        if cells and max(cells) >= width:
            return _Fault(
                f"sheet {sheet!r}, cell {_column_letters(max(cells))}{number} (row {number:,}, "
                f"{record}) has a value beyond the header's {width:,} columns",
                None,
                len(rows),
            )
        rows.append([cells.get(i, "") for i in range(width)])
        last = number
    while rows and not any(rows[-1]):
        rows.pop()  # empty rows after the last value are formatting, not records
    return None


def _row_cells(row: etree._Element, ns: str, shared: list[str], number: int) -> dict[int, str]:
    """The non-empty cells of sheet row `number` by column index (0-based)."""
    c_tag, v_tag, is_tag, t_tag = f"{ns}c", f"{ns}v", f"{ns}is", f"{ns}t"
    cells: dict[int, str] = {}
    column = -1
    row_text = str(number)
    for cell in row:
        if cell.tag != c_tag:
            continue
        ref = cell.get("r")
        if ref is None:
            column, ref = column + 1, f"{_column_letters(column + 1)}{number}"
        else:
            letters = ref.rstrip("0123456789")  # (string work and a cache: once a cell)
            at = _column_index(letters) if ref[len(letters) :] == row_text else None
            if at is None:
                raise _CellFault(
                    f"is not a cell reference of row {number:,} (column letters A to XFD, then "
                    "the row's number)",
                    repr(ref),
                )
            if at <= column:
                raise _CellFault(
                    f"comes after {_column_letters(column)}{number} in its row (cells are in "
                    "column order, each once)",
                    ref,
                )
            column = at
        if column >= XLSX_COLUMNS:
            raise _CellFault(f"is beyond Excel's last column, XFD ({XLSX_COLUMNS:,} columns)", ref)
        text = ""
        try:
            for part in cell:  # <v> holds a value; <is> an inline string; <f> a formula
                if part.tag == v_tag:
                    value = _text_only(part) if len(part) else part.text or ""
                    text = _value_text(value, cell.get("t"), shared)
                    break
                if part.tag == is_tag:
                    plain = len(part) == 1 and part[0].tag == t_tag
                    text = _xstring(_text_only(part[0])) if plain else _rich_text(part, ns)
                    break
        except _Markup as exc:
            raise _CellFault(f"holds markup in its text: {exc}", ref) from None
        except _CellFault as exc:
            raise _CellFault(str(exc), ref) from None
        if text:
            cells[column] = text
    return cells


def _value_text(value: str, kind: str | None, shared: list[str]) -> str:
    if kind == "s":
        if value.isascii() and value.isdigit() and len(value) < 10 and int(value) < len(shared):
            return shared[int(value)]
        raise _CellFault(
            f"holds the shared string index {value!r}, not one of the workbook's "
            f"{len(shared):,} shared strings"
        )
    if kind == "b":
        if value.strip() not in ("0", "1"):
            raise _CellFault(f"holds {value!r} where a boolean (0 or 1) is expected")
        return "TRUE" if value.strip() == "1" else "FALSE"
    if kind in ("str", "inlineStr"):
        return _xstring(value)
    if kind in ("e", "d"):
        return value
    return _number_text(value) if value else ""


_EXCEL_NUMBER = re.compile(r"[ \t\r\n]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\r\n]*")


def _row_number(given: str) -> int:
    """A row's `r` as a number; 0 (no row) when it is not one."""
    return int(given) if given.isascii() and given.isdigit() and len(given) <= 7 else 0


@lru_cache(maxsize=1024)
def _column_index(letters: str) -> int | None:
    """A column's index (0-based) from its letters (A is 0); None if they are not 1 to 3
    letters."""
    if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha()):
        return None
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _column_letters(index: int) -> str:
    """A column's letters: 0 is A, 26 is AA, 16,383 is XFD."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _number_text(value: str) -> str:
    """An Excel number as text: whole numbers without ".0" (44931.0 -> "44931")."""
    if value.isascii() and value.isdigit():
        return value.lstrip("0") or "0"
    number = float(value) if _EXCEL_NUMBER.fullmatch(value) else math.nan
    if not math.isfinite(number):  # (Excel's numbers are finite doubles)
        raise _CellFault(f"holds {value!r} where a number is expected")
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
