"""Property-based tests of the extract readers, in two parts.

- Round trips: small valid tables written in each format (with small writers of our own, so a
  bug shared with the city's writer cannot hide) read back exactly, or, for a value the format
  cannot carry (a control character in XML 1.0), fail with a SourceReadError.
- Hostile bytes: valid files mutated at random (bytes changed, cut, inserted; repeated names,
  deep nesting, markup in values, long values) either read as string tables whose columns are
  the header's names, or fail with a SourceReadError naming the file; never another exception,
  never a hang.

Every test is derandomized (the same examples on every run) and small enough that the file
runs in well under a minute.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskdraw.governance.readers as readers
from riskdraw.governance.readers import SourceReadError, iter_extract, read_extract
from tests.unit.test_governance_readers import RELATIONSHIPS, SPREADSHEET

FUZZ = settings(
    derandomize=True,
    deadline=None,
    # READERS_FUZZ_EXAMPLES=5000 hunts longer (the same examples first, then more).
    max_examples=int(os.environ.get("READERS_FUZZ_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Names as departments spell them: units in brackets, full-width forms, spaces, punctuation.
NAMES = [
    "企业名称",
    "统一社会信用代码",
    "罚款金额(元)",
    "注册资本(万元)",
    "处罚决定日期",
    "地址",
    "a",
    "b_c",
    "名称2",
]
TEXT_NAMES = [*NAMES, "", " 名称", "名,称", '引"号', "=SUM(A1)", "<b>&", "ＡＢＣ", "经营　范围"]
SPECIALS = "\",\n\r\t =<>&'\\;　，＂Ａ企业名称_x0041_\x00\x01\x1f\x7f\u2028\ufeff\ufffe"
VALUE = st.text(
    alphabet=st.one_of(st.sampled_from(SPECIALS), st.characters(codec="utf-8")), max_size=12
)


def tables(fmt: str, encoding: str) -> st.SearchStrategy[tuple[list[str], list[list[str]]]]:
    """A header (1 to 5 distinct names a header of `fmt` can give) and 0 to 6 rows of text
    that `encoding` can carry."""
    pool = {"xml": NAMES, "xlsx": [n for n in TEXT_NAMES if n]}.get(fmt, TEXT_NAMES)
    value = VALUE
    if encoding != "utf-8":
        value = VALUE.map(lambda v: v.encode(encoding, "ignore").decode(encoding))
    header = st.lists(st.sampled_from(pool), min_size=1, max_size=5, unique=True)
    return header.flatmap(
        lambda h: st.tuples(
            st.just(h), st.lists(st.lists(value, min_size=len(h), max_size=len(h)), max_size=6)
        )
    )


# ---- small writers, one per format


def csv_field(value: str) -> str:
    # RFC 4180 quoting (Python's csv.writer leaves a lone "\r" unquoted, which reads as CRLF).
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if re.search('[",\r\n]', value) else value


def csv_bytes(names: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    lines = [",".join(map(csv_field, row)) or '""' for row in [names, *rows]]
    return "".join(f"{line}\n" for line in lines).encode(encoding)


def jsonl_bytes(names: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    lines = [json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) for row in rows]
    return "".join(f"{line}\n" for line in lines).encode(encoding)


def xml_tag(name: str) -> str:
    return name.replace("(", "_").replace(")", "")  # the city's rule for units


def xml_escape(text: str) -> str:
    # A carriage return is written as a reference: the parser would turn a raw one into "\n".
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def xml_bytes(names: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    tags = [xml_tag(n) for n in names]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<records source="S1">']
    for row in rows:
        cells = "".join(f"<{t}>{xml_escape(v)}</{t}>" for t, v in zip(tags, row, strict=True))
        lines.append(f"  <record>{cells}</record>")
    lines.append("</records>")
    return ("\n".join(lines) + "\n").encode(encoding)


def excel_escape(text: str) -> str:
    """Text as Excel stores it: `_xHHHH_` for what XML cannot carry, `_x005F_` for a literal
    underscore that would start one, then XML's escapes."""
    text = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\ufffe\uffff\r]", lambda m: f"_x{ord(m[0]):04X}_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx_bytes(names: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """A minimal workbook: the header in shared strings, values as inline strings, empty
    values left out as Excel leaves them."""

    def cell(ref: str, value: str) -> str:
        text = f'<t xml:space="preserve">{excel_escape(value)}</t>'
        return f'<c r="{ref}" t="inlineStr"><is>{text}</is></c>'

    header = "".join(f'<c r="{col(j)}1" t="s"><v>{j}</v></c>' for j in range(len(names)))
    body = "".join(
        f'<row r="{i}">'
        + "".join(cell(f"{col(j)}{i}", v) for j, v in enumerate(row) if v)
        + "</row>"
        for i, row in enumerate(rows, start=2)
    )
    strings = "".join(f'<si><t xml:space="preserve">{excel_escape(n)}</t></si>' for n in names)
    parts = {
        "xl/workbook.xml": (
            f'<workbook xmlns="{SPREADSHEET}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            '<sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/s.xml"/>'
            f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" Target="strings.xml"/>'
            "</Relationships>"
        ),
        "xl/strings.xml": f'<sst xmlns="{SPREADSHEET}">{strings}</sst>',
        "xl/worksheets/s.xml": (
            f'<worksheet xmlns="{SPREADSHEET}"><sheetData><row r="1">{header}</row>{body}'
            "</sheetData></worksheet>"
        ),
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text.encode("utf-8"))
    return sink.getvalue()


def col(index: int) -> str:
    return readers._column_letters(index)


WRITERS = {"csv": csv_bytes, "jsonl": jsonl_bytes, "xml": xml_bytes, "xlsx": xlsx_bytes}
FORMATS = [
    ("csv", "utf-8"),
    ("csv", "gbk"),
    ("jsonl", "utf-8"),
    ("jsonl", "gbk"),
    ("xlsx", "utf-8"),
    ("xml", "utf-8"),
]


# ---- reading, with the invariant every read must keep


@contextmanager
def time_limit(seconds: int):
    """Fail a read that hangs instead of hanging the suite."""

    def hung(*_):
        raise TimeoutError(f"a read took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_both(
    path: Path, fmt: str, encoding: str, batch_rows: int = 2
) -> tuple[pa.Table, str | None]:
    """Read a file whole and streamed; both must agree and keep the invariant: string tables
    without nulls and without a repeated column name, or a SourceReadError naming the file."""
    with time_limit(30):
        result = read_extract(path, fmt, encoding)
        batches: list[pa.Table] = []
        error = None
        try:
            for batch in iter_extract(path, fmt, encoding, batch_rows=batch_rows):
                batches.append(batch)
        except SourceReadError as exc:
            error = str(exc)
            assert exc.records == result.rows
    assert error == result.error
    assert error is None or error.startswith(f"{path}: ")
    assert batches, "iter_extract yields at least one table"
    for table in [result.table, *batches]:
        assert all(field.type == pa.string() for field in table.schema)
        assert all(column.null_count == 0 for column in table.columns)
        assert len(set(table.column_names)) == table.num_columns, table.column_names
    assert pa.concat_tables(batches).equals(result.table)
    assert result.rows == result.table.num_rows
    return result.table, result.error


def expected_table(fmt: str, names: list[str], rows: list[list[str]]) -> pa.Table:
    if fmt == "xlsx":
        while rows and not any(rows[-1]):
            rows = rows[:-1]  # empty rows after the last value are formatting, not records
    if not rows and fmt in ("jsonl", "xml"):
        return pa.table({})  # no record names no column
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.Table.from_arrays([pa.array(list(c), pa.string()) for c in columns], names=names)


def xml_carries(text: str) -> bool:
    """XML 1.0's characters: tab, line breaks, and everything from space up except U+FFFE/F."""
    return all(c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff") for c in text)


# ---- (a) round trips


@pytest.mark.parametrize(("fmt", "encoding"), FORMATS)
@FUZZ
@given(data=st.data())
def test_valid_tables_round_trip(tmp_path, fmt, encoding, data) -> None:
    names, rows = data.draw(tables(fmt, encoding))
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(WRITERS[fmt](names, rows, encoding))
    batch_rows = data.draw(st.integers(1, 4))
    table, error = read_both(path, fmt, encoding, batch_rows)
    if fmt == "xml" and not all(xml_carries(v) for row in rows for v in row):
        assert error is not None and "not well-formed" in error  # XML 1.0 cannot carry it
        return
    assert error is None, error
    assert table.equals(expected_table(fmt, names, rows)), (table.to_pylist(), rows)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@FUZZ
@given(data=st.data())
def test_text_extracts_read_the_same_through_the_releasing_window(
    tmp_path, monkeypatch, fmt, data
) -> None:
    """Tiny blocks, scans and windows: every record still reads, whatever the boundaries."""
    monkeypatch.setattr(readers, "BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(readers, "SCAN_BYTES", 64)
    monkeypatch.setattr(readers, "WINDOW_BYTES", 0)
    names, rows = data.draw(tables(fmt, "utf-8"))
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(WRITERS[fmt](names, rows))
    table, error = read_both(path, fmt, "utf-8", data.draw(st.integers(1, 4)))
    assert error is None, error
    assert table.equals(expected_table(fmt, names, rows))


# ---- (b) hostile bytes

HOSTILE = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\x81\x20",
    b"\xef\xbb\xbf",
    b"\xe4\xbd",
    b"<b>",
    b"</b>",
    b"<!-- x -->",
    b"<?pi x?>",
    b"&e;",
    b"&#1;",
    b"<![CDATA[x]]>",
    b"{",
    b"}",
    b"[",
    b'"a":',
    b"[" * 3000,
    b'{"k": ' * 3000,
    b"\\ud800",
    b'r="A"',
    b'r="ZZZ1"',
    b't="s"',
    b"<v>-1</v>",
    b'<row r="1048576">',
    b"x" * 5000,
    b"PK\x03\x04",
]


@st.composite
def mutated(draw, fmt: str, encoding: str) -> bytes:
    """A valid file of `fmt`, then up to three edits: a byte changed, a cut, hostile bytes
    inserted, a name repeated."""
    names, rows = draw(tables(fmt, encoding))
    if draw(st.booleans()) and len(names) > 1:
        names = [*names[:-1], names[0]]  # a repeated name
    data = bytearray(WRITERS[fmt](names, rows, encoding))
    if fmt == "xlsx" and draw(st.booleans()):
        data = bytearray(mutated_part(draw, bytes(data)))
    for _ in range(draw(st.integers(0 if fmt == "xlsx" else 1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["byte", "cut", "insert", "delete"]))
        if edit == "byte" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at:]
        elif edit == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE) | st.binary(min_size=1, max_size=4))
        else:
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def mutated_part(draw, book: bytes) -> bytes:
    """An XLSX whose parts are edited inside the archive (so the zip stays valid)."""
    sink = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(sink, "w") as out:
        target = draw(st.sampled_from(source.namelist()))
        for name in source.namelist():
            part = bytearray(source.read(name))
            if name == target and part:
                at = draw(st.integers(0, len(part)))
                if draw(st.booleans()):
                    part[at:at] = draw(st.sampled_from(HOSTILE))
                else:
                    del part[at : at + draw(st.integers(1, 16))]
            out.writestr(name, bytes(part))
    return sink.getvalue()


def header_names(data: bytes, fmt: str, encoding: str) -> list[str] | None:
    """What the header names, by a reading of our own (None when the header is no header)."""
    lines = data.split(b"\n")
    try:
        if fmt == "csv":
            first = lines[0].decode(encoding)
            return next(csv.reader([first.removeprefix("\ufeff")]))
        first = next((line for line in lines if line.strip(b" \t\r\n")), b"")
        return list(json.loads(first.decode(encoding).removeprefix("\ufeff"))) if first else []
    except (UnicodeDecodeError, ValueError, csv.Error, StopIteration, RecursionError, TypeError):
        return None


@pytest.mark.parametrize(("fmt", "encoding"), FORMATS)
@FUZZ
@given(data=st.data())
def test_hostile_bytes_read_or_fail_with_a_source_read_error(tmp_path, fmt, encoding, data) -> None:
    raw = data.draw(mutated(fmt, encoding))
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(raw)
    table, error = read_both(path, fmt, encoding, data.draw(st.integers(1, 4)))
    if error is None and fmt in ("csv", "jsonl") and table.num_columns:
        assert table.column_names == header_names(raw, fmt, encoding)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@FUZZ
@given(data=st.data())
def test_hostile_bytes_with_tiny_blocks(tmp_path, monkeypatch, fmt, data) -> None:
    """With blocks of a few hundred bytes, the long-record rule and Arrow's block boundaries
    are met on tiny files: still string tables or a SourceReadError."""
    monkeypatch.setattr(readers, "BLOCK_BYTES", 256)
    monkeypatch.setattr(readers, "RECORD_BYTES", 256)
    monkeypatch.setattr(readers, "SCAN_BYTES", 128)
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(data.draw(mutated(fmt, "utf-8")))
    read_both(path, fmt, "utf-8", data.draw(st.integers(1, 4)))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xml", "xlsx"])
def test_an_oversize_value_is_read_or_named(tmp_path, fmt) -> None:
    """A 50 MB value: XML and XLSX read it; CSV and JSON Lines, whose reader holds a record in
    a block, fail at that record naming RECORD_BYTES and keep the records before it."""
    names = ["企业名称", "地址"]
    rows = [["甲", "1"], ["佛" * ((50 << 20) // 3), "2"], ["丙", "3"]]
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(WRITERS[fmt](names, rows))
    table, error = read_both(path, fmt, "utf-8", batch_rows=2)
    if fmt in ("xml", "xlsx"):
        assert error is None
        assert table.column("企业名称").to_pylist() == [r[0] for r in rows]
        return
    assert error is not None and "RECORD_BYTES" in error
    assert table.to_pylist() == [{"企业名称": "甲", "地址": "1"}]
