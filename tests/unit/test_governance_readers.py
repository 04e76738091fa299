"""Reading the departments' extracts: every format back to text, and every fault named."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from riskdraw.config import load_section
from riskdraw.governance.readers import (
    ReadResult,
    SourceReadError,
    iter_extract,
    read_extract,
)
from riskdraw.simcity.writers import ExtractWriter, truncate
from tests.conftest import PARAMS

RECORDS = pa.table(
    {
        "统一社会信用代码": ["91440604MA4UJ8KX1T", "92440605L12345678Q", "91440606ABCDEFGH9X"],
        "企业名称": ['佛山市"禅城"贸易, 有限公司', "佛山市南海区甲乙商行", "顺德\\美食店"],
        "罚款金额(元)": ["11610", "", "3,000"],
        "注册资本(万元)": ["243.7", "50", ""],
        "处罚决定日期": ["44931", "45775", ""],
    }
)
DATES = ["处罚决定日期"]


def write(
    path: Path,
    fmt: str,
    encoding: str = "utf-8",
    table: pa.Table = RECORDS,
    date_style: str = "iso",
    chunks: int = 1,
) -> Path:
    """Write `table` as the city's writer does, in `chunks` appends."""
    writer = ExtractWriter(path, fmt, encoding, date_style, "S999")
    size = -(-table.num_rows // chunks) if table.num_rows else 1
    for start in range(0, max(table.num_rows, 1), size):
        writer.write(table.slice(start, size), DATES)
    writer.close()
    return path


def many(rows: int) -> pa.Table:
    """`rows` records cycling through RECORDS, each with its number in the name."""
    table = RECORDS.take(np.arange(rows) % RECORDS.num_rows)
    names = [f"{n}{i}" for i, n in enumerate(table.column("企业名称").to_pylist())]
    return table.set_column(1, "企业名称", pa.array(names))


def assert_ok(result: ReadResult, expected: pa.Table) -> None:
    assert result.error is None
    assert result.rows == expected.num_rows
    assert all(field.type == pa.string() for field in result.table.schema)
    assert result.table.equals(expected)


FORMATS = [
    ("csv", "utf-8", "iso"),
    ("csv", "gbk", "slash"),
    ("jsonl", "utf-8", "compact"),
    ("xlsx", "utf-8", "excel"),
    ("xml", "utf-8", "chinese"),
]


@pytest.mark.parametrize(("fmt", "encoding", "date_style"), FORMATS)
def test_each_format_round_trips(tmp_path, fmt, encoding, date_style) -> None:
    path = write(tmp_path / f"extract.{fmt}", fmt, encoding, date_style=date_style, chunks=2)
    assert_ok(read_extract(path, fmt, encoding, expected_rows=3), RECORDS)


@pytest.mark.parametrize(("fmt", "encoding", "date_style"), FORMATS)
def test_iter_extract_streams_the_same_records_in_batches(
    tmp_path, fmt, encoding, date_style
) -> None:
    table = many(7)
    path = write(tmp_path / f"extract.{fmt}", fmt, encoding, table, date_style, chunks=3)
    batches = list(iter_extract(path, fmt, encoding, batch_rows=3, expected_rows=7))
    assert [b.num_rows for b in batches] == [3, 3, 1]
    assert pa.concat_tables(batches).equals(table)


def test_gbk_csv_is_gbk_on_disk(tmp_path) -> None:
    path = write(tmp_path / "extract.csv", "csv", "gbk")
    data = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "佛山市南海区甲乙商行" in data.decode("gbk")
    assert_ok(read_extract(path, "csv", "gbk"), RECORDS)


def test_xlsx_serial_dates_come_back_as_whole_numbers(tmp_path) -> None:
    path = write(tmp_path / "extract.xlsx", "xlsx", date_style="excel")
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>44931</v>" in sheet  # stored as a number, as Excel stores a date
    column = read_extract(path, "xlsx", "utf-8").table.column("处罚决定日期").to_pylist()
    assert column == ["44931", "45775", ""]


def test_xlsx_numbers_lose_only_a_trailing_zero(tmp_path) -> None:
    import xlsxwriter

    path = tmp_path / "numbers.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["日期", "金额", "标志"])
    sheet.write_row(1, 0, [44931.0, 12.5, True])
    sheet.write_row(3, 0, [45000, 0.1])  # Excel leaves row 3 out: a record of empty values
    book.close()
    result = read_extract(path, "xlsx", "utf-8")
    assert result.error is None
    assert result.table.to_pylist() == [
        {"日期": "44931", "金额": "12.5", "标志": "TRUE"},
        {"日期": "", "金额": "", "标志": ""},
        {"日期": "45000", "金额": "0.1", "标志": ""},
    ]


def test_xml_unit_tags_map_back_to_column_names(tmp_path) -> None:
    path = write(tmp_path / "extract.xml", "xml")
    text = path.read_text(encoding="utf-8")
    assert "<罚款金额_元>11610</罚款金额_元>" in text and "<注册资本_万元>" in text
    result = read_extract(path, "xml", "utf-8")
    assert result.table.column_names == RECORDS.column_names


def test_xml_in_gbk_despite_its_utf8_declaration(tmp_path) -> None:
    path = write(tmp_path / "extract.xml", "xml", "gbk")
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert_ok(read_extract(path, "xml", "gbk"), RECORDS)


@pytest.mark.parametrize(("fmt", "encoding", "date_style"), FORMATS)
def test_an_empty_source_reads_as_zero_rows(tmp_path, fmt, encoding, date_style) -> None:
    path = write(tmp_path / f"extract.{fmt}", fmt, encoding, RECORDS.slice(0, 0), date_style)
    result = read_extract(path, fmt, encoding, expected_rows=0)
    assert (result.rows, result.error) == (0, None)
    # A header names the columns; an empty JSON Lines or XML file has none to give.
    expected = RECORDS.column_names if fmt in ("csv", "xlsx") else []
    assert result.table.column_names == expected
    assert [t.num_rows for t in iter_extract(path, fmt, encoding, expected_rows=0)] == [0]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xml"])
def test_a_zero_byte_text_file_is_an_empty_source(tmp_path, fmt) -> None:
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(b"")
    result = read_extract(path, fmt, "utf-8", expected_rows=0)
    assert (result.rows, result.error, result.table.num_columns) == (0, None, 0)


@pytest.mark.parametrize(
    ("fmt", "encoding", "lines_before_records"),
    [("csv", "utf-8", 1), ("csv", "gbk", 1), ("jsonl", "utf-8", 0), ("xml", "utf-8", 2)],
)
def test_a_file_cut_mid_record_keeps_the_complete_records(
    tmp_path, fmt, encoding, lines_before_records
) -> None:
    table = many(12)
    path = write(tmp_path / f"extract.{fmt}", fmt, encoding, table)
    cut = truncate(path, np.random.default_rng(7))
    complete = cut["complete_lines"] - lines_before_records
    assert 0 < complete < 12

    result = read_extract(path, fmt, encoding, expected_rows=12)
    assert result.error.startswith(f"{path}: truncated: the file ends inside record {complete + 1}")
    assert f"stops at byte {cut['cut_at_byte']:,}" in result.error
    assert result.error.endswith(f"declared 12 records, read {complete}")
    assert result.table.equals(table.slice(0, complete))

    streamed = []
    with pytest.raises(SourceReadError) as raised:
        streamed.extend(iter_extract(path, fmt, encoding, batch_rows=5, expected_rows=12))
    assert str(raised.value) == result.error and raised.value.records == complete
    assert pa.concat_tables(streamed).equals(table.slice(0, complete))


def test_a_gbk_file_cut_inside_a_two_byte_character(tmp_path) -> None:
    path = write(tmp_path / "extract.csv", "csv", "gbk")
    data = path.read_bytes()
    last = data.rindex(b"\n", 0, len(data) - 1) + 1
    first_wide = next(i for i in range(last, len(data)) if data[i] >= 0x81)
    path.write_bytes(data[: first_wide + 1])  # the first byte of a two-byte character

    result = read_extract(path, "csv", "gbk")
    assert result.error == (
        f"{path}: truncated: the file ends inside record 3 (which starts at byte {last:,}; "
        f"the file stops at byte {first_wide + 1:,} inside a multi-byte character and with no "
        "final newline)"
    )
    assert result.table.equals(RECORDS.slice(0, 2))


def test_a_byte_that_is_not_gbk_is_named(tmp_path) -> None:
    path = write(tmp_path / "extract.csv", "csv", "gbk")
    data = path.read_bytes()
    at = data.index("甲乙".encode("gbk"))
    path.write_bytes(data[:at] + b"\x81\x20" + data[at + 2 :])  # 0x81 0x20 is no GBK character
    result = read_extract(path, "csv", "gbk")
    assert result.error == f"{path}: not valid GBK at byte {at:,} (record 2, line 3)"
    assert result.table.equals(RECORDS.slice(0, 1))


def test_a_byte_that_is_not_utf8_is_named(tmp_path) -> None:
    path = tmp_path / "extract.jsonl"
    path.write_bytes(b'{"a":"1"}\n{"a":"\xff"}\n')
    result = read_extract(path, "jsonl", "utf-8")
    assert result.error == f"{path}: not valid UTF-8 at byte 16 (record 2, line 2)"
    assert result.table.to_pylist() == [{"a": "1"}]


HEADER = '"名称","金额(元)"\n"甲,公司","1"\n"乙""引号""","2"\n'


@pytest.mark.parametrize(
    ("tail", "problem"),
    [
        ('"丙"\n"丁","4"\n', "has 1 field, the header has 2"),
        ('"丙","3","x"\n', "has 3 fields, the header has 2"),
        ('"丙","3\n"丁","4"\n', "opens a quote that is never closed"),
        ('"丙","3\n', "opens a quote that is never closed"),
        ('丙,3"\n丁,4\n', "opens a quote that is never closed"),
    ],
)
def test_a_malformed_csv_record_is_named(tmp_path, tail, problem) -> None:
    path = tmp_path / "extract.csv"
    path.write_text(HEADER + tail, encoding="utf-8")
    start = len(HEADER.encode())
    result = read_extract(path, "csv", "utf-8")
    assert result.error == f"{path}: record 3 (line 4, byte {start:,}) {problem}"
    assert result.table.to_pylist() == [
        {"名称": "甲,公司", "金额(元)": "1"},
        {"名称": '乙"引号"', "金额(元)": "2"},
    ]
    with pytest.raises(SourceReadError, match="record 3 "):
        list(iter_extract(path, "csv", "utf-8"))


def test_a_quoted_line_break_is_part_of_the_value(tmp_path) -> None:
    path = tmp_path / "extract.csv"
    path.write_text(HEADER + '"丙\n第二行","3"\n\n', encoding="utf-8")
    result = read_extract(path, "csv", "utf-8", expected_rows=3)
    assert result.error is None
    assert result.table.column("名称").to_pylist()[-1] == "丙\n第二行"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("[1, 2]", "is a JSON array, not an object"),
        ('"甲"', "is a JSON string, not an object"),
        ('{"a": "1", "b": 2}', "has a number for 'b' where text is expected"),
        ('{"a": "1", "c": "3"}', "has the field 'c', which the first record does not have"),
        ('{"a": "1"', "is not valid JSON: Expecting ',' delimiter at column 10"),
    ],
)
def test_a_jsonl_line_that_is_not_an_object_of_text_is_named(tmp_path, line, problem) -> None:
    path = tmp_path / "extract.jsonl"
    path.write_text('{"a": "甲", "b": "1"}\n{"a": "乙"}\n' + line + "\n", encoding="utf-8")
    result = read_extract(path, "jsonl", "utf-8")
    start = len('{"a": "甲", "b": "1"}\n{"a": "乙"}\n'.encode())
    assert result.error == f"{path}: record 3 (line 3, byte {start:,}) {problem}"
    assert result.table.to_pylist() == [{"a": "甲", "b": "1"}, {"a": "乙", "b": ""}]


def test_xml_that_is_not_well_formed_is_named(tmp_path) -> None:
    path = write(tmp_path / "extract.xml", "xml")
    text = path.read_text(encoding="utf-8").replace("</企业名称>", "</企业>", 2)
    path.write_text(text, encoding="utf-8")
    result = read_extract(path, "xml", "utf-8")
    assert result.error.startswith(f"{path}: XML not well-formed at line 3, column ")
    assert "(after record 0): Opening and ending tag mismatch" in result.error
    assert result.rows == 0


def test_a_wrong_declared_count_is_an_error(tmp_path) -> None:
    path = write(tmp_path / "extract.csv", "csv")
    result = read_extract(path, "csv", "utf-8", expected_rows=1234)
    assert result.error == f"{path}: declared 1,234 records, read 3"
    assert result.table.equals(RECORDS)
    with pytest.raises(SourceReadError, match="declared 1,234 records, read 3"):
        list(iter_extract(path, "csv", "utf-8", expected_rows=1234))


def test_an_xlsx_that_is_not_a_zip(tmp_path) -> None:
    path = tmp_path / "extract.xlsx"
    path.write_bytes(write(tmp_path / "whole.xlsx", "xlsx").read_bytes()[:300])  # cut short
    result = read_extract(path, "xlsx", "utf-8", expected_rows=3)
    assert result.error.startswith(f"{path}: not a valid XLSX (zip) file: ")
    assert result.table.num_rows == 0


def test_a_missing_file_is_an_error_not_an_exception(tmp_path) -> None:
    result = read_extract(tmp_path / "absent.csv", "csv", "utf-8")
    assert result.error == f"{tmp_path / 'absent.csv'}: cannot be read: No such file or directory"


def test_unknown_format_is_a_caller_mistake(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown extract format 'parquet'"):
        read_extract(tmp_path / "x.parquet", "parquet", "utf-8")


def test_every_extract_of_a_small_city(tmp_path) -> None:
    from riskdraw.simcity.city import simulate_city

    params = load_section("simulate", PARAMS, entities=300)
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    simulate_city(params, raw, truth, progress=False, workers=1)
    manifest = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))
    cut = {
        t["source_id"]: t for t in json.loads((truth / "truncated.json").read_text())["truncated"]
    }
    assert cut and {s["format"] for s in manifest["sources"]} == {"csv", "jsonl", "xlsx", "xml"}

    for source in manifest["sources"]:
        path = raw / source["file"]
        result = read_extract(path, source["format"], source["encoding"], source["records"])
        if source["source_id"] in cut:
            assert result.error.startswith(f"{path}: truncated: "), result.error
            assert result.rows == cut[source["source_id"]]["complete_lines"] - (
                source["format"] == "csv"
            )
        else:
            assert result.error is None, result.error
            assert result.rows == source["records"]
        assert all(field.type == pa.string() for field in result.table.schema)


@pytest.mark.parametrize(
    "fmt,encoding", [("csv", "utf-8"), ("csv", "gbk"), ("jsonl", "utf-8"), ("jsonl", "gbk")]
)
def test_large_files_stream_through_a_releasing_window_with_the_same_records(
    tmp_path, monkeypatch, fmt, encoding
) -> None:
    """Above WINDOW_BYTES the reader streams through a window that hands read pages back to the
    kernel; what it reads, faults included, must not change."""
    import riskdraw.governance.readers as readers

    rows = [{"名称": f"佛山市{i}号商行", "金额": str(i * 3)} for i in range(5000)]
    path = tmp_path / f"x.{fmt}"
    if fmt == "csv":
        text = "名称,金额\n" + "".join(f"{r['名称']},{r['金额']}\n" for r in rows)
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    data = text.encode(encoding)
    path.write_bytes(data[: len(data) - 7])  # cut inside the last record

    def stream() -> tuple[list, str]:
        batches = []
        try:
            for batch in iter_extract(path, fmt, encoding, batch_rows=700):
                batches.append(batch.to_pylist())
        except SourceReadError as error:
            return batches, str(error)
        return batches, ""

    expected, fault = stream()
    released = []
    release = readers._TextExtract._release

    def spy(self, upto, margin=0):  # no margin: release right behind the reader
        release(self, upto, margin)
        released.append(self._released)

    monkeypatch.setattr(readers, "WINDOW_BYTES", 0)
    monkeypatch.setattr(readers._TextExtract, "_release", spy)
    assert stream() == (expected, fault)
    assert max(released) > 0  # pages were handed back while reading
    assert sum(len(b) for b in expected) == 4999 and "truncated" in fault
    result = read_extract(path, fmt, encoding, 5000)
    assert result.rows == 4999 and "truncated" in result.error
