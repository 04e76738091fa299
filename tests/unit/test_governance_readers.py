"""Reading the departments' extracts: every format back to text, and every fault named."""

from __future__ import annotations

import io
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


# ---- hostile files: every fault is a SourceReadError naming where and which rule


def read_fault(path: Path, fmt: str, encoding: str = "utf-8") -> ReadResult:
    """Read a file that breaks a rule: `read_extract` reports it, `iter_extract` raises it."""
    result = read_extract(path, fmt, encoding)
    assert result.error is not None
    streamed = []
    with pytest.raises(SourceReadError) as raised:
        streamed.extend(iter_extract(path, fmt, encoding, batch_rows=2))
    assert str(raised.value) == result.error
    assert pa.concat_tables(streamed).equals(result.table)
    return result


SPREADSHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx_bytes(
    rows: str, shared: tuple[str, ...] = (), compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    """A minimal workbook: one sheet named 数据 whose <sheetData> is `rows`, and `shared`
    strings (already XML-escaped), as Excel lays the parts out."""
    workbook = (
        f'<workbook xmlns="{SPREADSHEET}" xmlns:r="{RELATIONSHIPS}"><sheets>'
        '<sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    kind = RELATIONSHIPS
    relations = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{kind}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{kind}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    strings = "".join(f"<si><t>{s}</t></si>" for s in shared)
    parts = {
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": relations,
        "xl/sharedStrings.xml": f'<sst xmlns="{SPREADSHEET}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{SPREADSHEET}"><sheetData>{rows}</sheetData></worksheet>'
        ),
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression) as book:
        for name, text in parts.items():
            book.writestr(name, text.encode("utf-8") if isinstance(text, str) else text)
    return sink.getvalue()


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


XLSX_HEADER = f'<row r="1">{inline("A1", "名称")}{inline("B1", "金额")}</row>'
XLSX_FIRST = f'<row r="2">{inline("A2", "甲")}<c r="B2"><v>1</v></c></row>'


@pytest.mark.parametrize(
    ("fmt", "text", "problem", "kept"),
    [
        (
            "csv",
            "企业名称,企业名称,金额\n甲,乙,1\n",
            "the header (line 1, byte 0) repeats a column name: '企业名称' (columns 1 and 2)",
            0,
        ),
        (
            "csv",
            "\ufeff企业名称,a,企业名称,,a,\n1,2,3,4,5,6\n",
            "the header (line 1, byte 0) repeats a column name: '企业名称' (columns 1 and 3); "
            "'a' (columns 2 and 5); '' (columns 4 and 6)",
            0,
        ),
        (
            "jsonl",
            '{"企业名称": "甲", "金额": "1", "企业名称": "乙"}\n',
            "record 1 (line 1, byte 0) repeats a field: '企业名称' (fields 1 and 3)",
            0,
        ),
        (
            "jsonl",
            '{"a": "1"}\n{"a": "2"}\n{"a": "3", "a": "4"}\n',
            "record 3 (line 3, byte 22) repeats a field: 'a' (fields 1 and 2)",
            2,
        ),
        (
            "xml",
            '<?xml version="1.0"?>\n<records>\n  <record><企业名称>甲</企业名称><金额>1</金额>'
            "<企业名称>乙</企业名称></record>\n</records>\n",
            "XML record 1 (line 3) repeats a field: '企业名称' (fields 1 and 3)",
            0,
        ),
    ],
)
def test_a_repeated_column_name_fails_the_source(tmp_path, fmt, text, problem, kept) -> None:
    """Two columns of one name are ambiguous (which holds the value?): the source fails."""
    path = tmp_path / f"extract.{fmt}"
    path.write_text(text, encoding="utf-8")
    result = read_fault(path, fmt)
    assert result.error == f"{path}: {problem}"
    assert result.rows == kept


def test_a_repeated_xlsx_header_fails_the_source(tmp_path) -> None:
    path = tmp_path / "extract.xlsx"
    header = f'<row r="1">{inline("A1", "企业名称")}<c r="B1" t="s"><v>0</v></c></row>'
    path.write_bytes(xlsx_bytes(header + XLSX_FIRST, shared=("企业名称",)))
    result = read_fault(path, "xlsx")
    assert result.error == (
        f"{path}: sheet '数据', the header (row 1) repeats a column name: '企业名称' "
        "(cells A1 and B1)"
    )


DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"企业名称": ' + DEEP + "}", "has an array for '企业名称' where text is expected"),
        (
            '{"企业名称": "乙", "地址": ' + '{"区": ' * 10_000 + '"禅城"' + "}" * 10_001,
            "has an object for '地址' where text is expected",
        ),
        (
            '{"企业名称": "乙", "地址": {"区": "禅城"}}',
            "has an object for '地址' where text is expected",
        ),
        ('{"企业名称": ["乙"]}', "has an array for '企业名称' where text is expected"),
        (DEEP, "is a JSON array, not an object"),
        (
            '{"企业名称": "\\ud800"}',
            "has a lone surrogate in '企业名称', which is not Unicode text",
        ),
        ("\x0c", "is not valid JSON: Expecting value at column 1"),
    ],
)
@pytest.mark.parametrize("first", [True, False])
def test_a_json_value_that_is_not_text_is_named(tmp_path, line, problem, first) -> None:
    """However deep a value nests, it is a fault of that line naming the field, never a
    RecursionError; the records before it are kept."""
    before = "" if first else '{"企业名称": "甲", "地址": "佛山"}\n'
    path = tmp_path / "extract.jsonl"
    path.write_text(before + line + "\n", encoding="utf-8")
    result = read_fault(path, "jsonl")
    n = 1 if first else 2
    assert result.error == f"{path}: record {n} (line {n}, byte {len(before.encode())}) {problem}"
    assert result.rows == n - 1


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ('<row r="2"><c r="A"><v>1</v></c></row>', "cell 'A' (row 2, record 1) is not"),
        ('<row r="2"><c r="1A"><v>1</v></c></row>', "cell '1A' (row 2, record 1) is not"),
        ('<row r="2"><c r="$A$2"><v>1</v></c></row>', "cell '$A$2' (row 2, record 1) is not"),
        ('<row r="2"><c r="A5"><v>1</v></c></row>', "cell 'A5' (row 2, record 1) is not"),
        (
            '<row r="2"><c r="ZZZZZZZ2"><v>1</v></c></row>',
            "cell 'ZZZZZZZ2' (row 2, record 1) is not",
        ),
        (
            '<row r="2"><c r="ZZZ2"><v>1</v></c></row>',
            "cell ZZZ2 (row 2, record 1) is beyond Excel's last column, XFD",
        ),
        (
            '<row r="2"><c r="B2"><v>1</v></c><c r="A2"><v>2</v></c></row>',
            "cell A2 (row 2, record 1) comes after B2 in its row (cells are in column order, "
            "each once)",
        ),
        (
            '<row r="2"><c r="A2"><v>1</v></c><c r="A2"><v>2</v></c></row>',
            "cell A2 (row 2, record 1) comes after A2 in its row",
        ),
        (
            '<row r="2"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>',
            "cell C2 (row 2, record 1) has a value beyond the header's 2 columns",
        ),
        (
            '<row r="2"><c r="A2" t="s"><v>9</v></c></row>',
            "cell A2 (row 2, record 1) holds the shared string index '9', not one of the "
            "workbook's 1 shared strings",
        ),
        ('<row r="2"><c r="A2" t="s"><v>-1</v></c></row>', "the shared string index '-1', not"),
        ('<row r="2"><c r="A2" t="s"><v>x</v></c></row>', "the shared string index 'x', not"),
        ('<row r="2"><c r="A2" t="s"><v></v></c></row>', "the shared string index '', not"),
        (
            '<row r="2"><c r="A2"><v>abc</v></c></row>',
            "cell A2 (row 2, record 1) holds 'abc' where a number is expected",
        ),
        ('<row r="2"><c r="A2"><v>1e400</v></c></row>', "holds '1e400' where a number is"),
        ('<row r="2"><c r="A2"><v>nan</v></c></row>', "holds 'nan' where a number is expected"),
        (
            '<row r="2"><c r="A2" t="b"><v>yes</v></c></row>',
            "cell A2 (row 2, record 1) holds 'yes' where a boolean (0 or 1) is expected",
        ),
        (
            f'<row r="2">{inline("A2", "佛山<b>某某</b>公司")}</row>',
            "cell A2 (row 2, record 1) holds markup in its text: the element <b>",
        ),
        (
            '<row r="x"><c><v>1</v></c></row>',
            "the row after row 1 has the number 'x', not a row number of Excel's (1 to 1,048,576)",
        ),
        ('<row r="0"><c><v>1</v></c></row>', "the row after row 1 has the number '0', not"),
        ('<row r="1048577"><c><v>1</v></c></row>', "has the number '1048577', not"),
        (
            '<row r="3"><c><v>1</v></c></row><row r="2"><c><v>1</v></c></row>',
            "row 2 comes after row 3 (rows are in order, each once)",
        ),
        ('<row r="2"><c><v>1</v></c></row><row><c r="A2"><v>1</v></c></row>', "cell 'A2' (row 3"),
    ],
)
def test_a_malformed_xlsx_cell_is_named(tmp_path, row, problem) -> None:
    path = tmp_path / "extract.xlsx"
    path.write_bytes(xlsx_bytes(XLSX_HEADER + row, shared=("甲",)))
    result = read_fault(path, "xlsx")
    assert result.error.startswith(f"{path}: sheet '数据'")
    assert problem in result.error


def test_an_xlsx_row_far_below_a_wide_header_is_refused_before_it_is_allocated(tmp_path) -> None:
    """Rows Excel left out are records of empty values: a row numbered in the millions below a
    header 16,384 columns wide would be billions of cells. XLSX_CELLS bounds the sheet."""
    path = tmp_path / "extract.xlsx"
    names = "".join(f'<c t="inlineStr"><is><t>列{i}</t></is></c>' for i in range(16_384))
    row = '<row r="1000000"><c r="A1000000"><v>1</v></c></row>'
    path.write_bytes(xlsx_bytes(f'<row r="1">{names}</row>{row}'))
    result = read_fault(path, "xlsx")
    assert result.error == (
        f"{path}: sheet '数据', row 1,000,000 (record 999,999) takes the sheet past XLSX_CELLS "
        "(50,000,000 cells: records times the header's 16,384 columns)"
    )


@pytest.mark.parametrize("inline_strings", [True, False])
def test_excel_escapes_in_xlsx_text_are_decoded(tmp_path, inline_strings) -> None:
    """Excel writes a control character as _x0001_ and a literal "_x0041_" as "_x005F_x0041_"
    (the city's writer too, through xlsxwriter); they read back as what was written."""
    import xlsxwriter

    values = ["a\x01b", "_x0041_", "佛山\x1f公司_x", "\ufffe"]
    path = tmp_path / "escapes.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": inline_strings})
    sheet = book.add_worksheet()
    sheet.write_column(0, 0, ["名称\x02", *values])
    book.close()
    result = read_extract(path, "xlsx", "utf-8")
    assert result.error is None
    assert result.table.to_pydict() == {"名称\x02": values}


@pytest.mark.parametrize(
    ("compression", "damage", "problem"),
    [
        (zipfile.ZIP_LZMA, None, "not a valid XLSX (zip) file: Corrupt input data"),
        (zipfile.ZIP_BZIP2, None, "not a valid XLSX (zip) file: Invalid data stream"),
        (zipfile.ZIP_DEFLATED, b"\x63\x00", "not a valid XLSX (zip) file: That compression"),
    ],
)
def test_a_damaged_xlsx_archive_is_named(tmp_path, compression, damage, problem) -> None:
    """Was LZMAError / NotImplementedError uncaught, and "cannot be read: None" for bz2."""
    data = bytearray(xlsx_bytes(XLSX_HEADER + XLSX_FIRST, compression=compression))
    if damage is None:  # the compressed bytes of the sheet overwritten
        at = data.index(b"xl/worksheets/sheet1.xml") + len("xl/worksheets/sheet1.xml")
        data[at + 4 : at + 24] = b"\x00" * 20
    else:  # an unknown compression method in every header
        for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            at = data.find(signature)
            while at >= 0:
                data[at + offset : at + offset + 2] = damage
                at = data.find(signature, at + 4)
    path = tmp_path / "extract.xlsx"
    path.write_bytes(bytes(data))
    result = read_fault(path, "xlsx")
    assert result.error.startswith(f"{path}: {problem}")


def test_an_xlsx_part_too_big_to_unpack_is_refused(tmp_path, monkeypatch) -> None:
    """A zip bomb's part is refused by its declared size, before it is unpacked."""
    import riskdraw.governance.readers as readers

    path = tmp_path / "extract.xlsx"
    rows = "".join(f'<row r="{n}"><c r="B{n}"><v>{n}</v></c></row>' for n in range(2, 40))
    path.write_bytes(xlsx_bytes(XLSX_HEADER + rows))  # the sheet is the biggest part
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    monkeypatch.setattr(readers, "XLSX_PART_BYTES", size - 1)
    result = read_fault(path, "xlsx")
    assert result.error == (
        f"{path}: not a valid XLSX workbook: xl/worksheets/sheet1.xml unpacks to {size:,} "
        f"bytes, more than XLSX_PART_BYTES ({size - 1:,})"
    )


@pytest.mark.parametrize(
    ("sheet", "problem"),
    [
        (b"<row><c><v>1</v></row>", "xl/worksheets/sheet1.xml is not well-formed XML at line 1"),
        (b"<row><c><v>1\xff</v></c></row>", "xl/worksheets/sheet1.xml is not well-formed XML"),
        (b"<row><c><v>1\x00</v></c></row>", "xl/worksheets/sheet1.xml is not well-formed XML"),
    ],
)
def test_an_xlsx_sheet_that_is_not_xml_is_named(tmp_path, sheet, problem) -> None:
    sink = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(""))) as source, zipfile.ZipFile(sink, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("sheet1.xml"):
                data = data.replace(b"<sheetData></sheetData>", b"<sheetData>" + sheet)
            out.writestr(name, data)
    path = tmp_path / "extract.xlsx"
    path.write_bytes(sink.getvalue())
    result = read_fault(path, "xlsx")
    assert result.error.startswith(f"{path}: not a valid XLSX workbook: {problem}")


XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<records source="S1">\n'
XML_RECORD_1 = "  <record><企业名称>甲公司</企业名称><金额>1</金额></record>\n"


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            "<企业名称>佛山<b>某某</b>有限公司</企业名称><金额>2</金额>",
            "has markup inside <企业名称>: the element <b> (line 4); a field holds text only",
        ),
        (
            "<企业名称>佛山<b/></企业名称><金额>2</金额>",
            "has markup inside <企业名称>: the element <b> (line 4); a field holds text only",
        ),
        ("<企业名称>佛山</企业名称>某某<金额>2</金额>", "has the text '某某' outside its fields"),
        ("某某<企业名称>佛山</企业名称><金额>2</金额>", "has the text '某某' outside its fields"),
    ],
)
def test_markup_inside_an_xml_value_fails_the_source(tmp_path, record, problem) -> None:
    """Text cut short at a child element is data lost: a fault, as a ragged record is."""
    path = tmp_path / "extract.xml"
    text = XML_HEAD + XML_RECORD_1 + f"  <record>{record}</record>\n</records>\n"
    path.write_text(text, encoding="utf-8")
    result = read_fault(path, "xml")
    assert result.error == f"{path}: XML record 2 (line 4) {problem}"
    assert result.table.to_pylist() == [{"企业名称": "甲公司", "金额": "1"}]


def test_an_unexpanded_xml_entity_fails_the_source(tmp_path) -> None:
    """Entities are not expanded (no XXE, no billion laughs); one in a value is a fault."""
    path = tmp_path / "extract.xml"
    head = '<?xml version="1.0"?>\n<!DOCTYPE records [<!ENTITY e "某某">]>\n<records>\n'
    path.write_text(head + "<record><名称>佛山&e;公司</名称></record>\n</records>\n", "utf-8")
    result = read_fault(path, "xml")
    assert result.error == (
        f"{path}: XML record 1 (line 4) has markup inside <名称>: the entity reference &e;, "
        "which this reader does not expand; a field holds text only"
    )


@pytest.mark.parametrize(
    "value", ["佛山<!-- 注释 -->公司", "佛山<?pi x?>公司", "<!-- a -->佛山<!-- b -->公司<!-- c -->"]
)
def test_comments_inside_an_xml_value_are_not_data(tmp_path, value) -> None:
    path = tmp_path / "extract.xml"
    text = XML_HEAD + f"  <record><企业名称>{value}</企业名称><金额>1</金额></record>\n</records>\n"
    path.write_text(text, encoding="utf-8")
    assert_ok(
        read_extract(path, "xml", "utf-8"), pa.table({"企业名称": ["佛山公司"], "金额": ["1"]})
    )


@pytest.mark.parametrize(
    ("fmt", "data", "problem"),
    [
        ("csv", b"a", "truncated: the file ends inside the header line"),
        ("csv", b'"\n', "the header (line 1, byte 0) opens a quote that is never closed"),
        ("csv", b"\n", "the header (line 1, byte 0) is empty: the first line names the columns"),
        ("csv", b"\xef\xbb\xbf\n", "the header (line 1, byte 0) is empty"),
        ("csv", b"\na,b\n1,2\n", "the header (line 1, byte 0) is empty"),
        ("jsonl", b"{", "truncated: the file ends inside record 1"),
        ("jsonl", b"{}", "truncated: the file ends inside record 1"),
        ("jsonl", b"\xef\xbb\xbf", "truncated: the file ends inside record 1"),
        ("jsonl", b'{"\\udc80": "1"}\n', "record 1 (line 1, byte 0) has a lone surrogate in"),
        ("xml", b"\xef\xbb\xbf", "truncated: the file ends after record 0"),
        ("xlsx", b"", "not a valid XLSX (zip) file: "),
        ("xlsx", b"\xef\xbb\xbf", "not a valid XLSX (zip) file: "),
    ],
)
def test_a_tiny_or_headless_file_is_a_fault_not_a_crash(tmp_path, fmt, data, problem) -> None:
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(data)
    assert read_fault(path, fmt).error.startswith(f"{path}: {problem}")


@pytest.mark.parametrize(("fmt", "data"), [("csv", b"a\n"), ("jsonl", b" \n"), ("csv", b"a,\n")])
def test_a_tiny_file_that_keeps_the_rules_reads(tmp_path, fmt, data) -> None:
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(data)
    result = read_extract(path, fmt, "utf-8")
    assert (result.error, result.rows) == (None, 0)
    assert all(field.type == pa.string() for field in result.table.schema)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx", "xml"])
def test_a_directory_is_an_error_not_an_exception(tmp_path, fmt) -> None:
    path = tmp_path / f"extract.{fmt}"
    path.mkdir()
    assert read_fault(path, fmt).error == f"{path}: cannot be read: Is a directory"


def test_a_lone_surrogate_in_json_keeps_the_records_before_it(tmp_path) -> None:
    """Arrow refuses an escaped lone surrogate that Python's json lets through: the checker
    must name it, or the fault would be unexplained and every record lost."""
    path = tmp_path / "extract.jsonl"
    path.write_text('{"a": "1"}\n{"a": "2"}\n{"a": "\\ud800x"}\n{"a": "4"}\n', "utf-8")
    result = read_fault(path, "jsonl")
    assert result.error == (
        f"{path}: record 3 (line 3, byte 22) has a lone surrogate in 'a', which is not Unicode text"
    )
    assert result.table.to_pylist() == [{"a": "1"}, {"a": "2"}]


def test_a_form_feed_line_in_json_keeps_the_records_before_it(tmp_path) -> None:
    """A line of a form feed is no blank line to JSON (only space, tab, CR, LF are)."""
    path = tmp_path / "extract.jsonl"
    path.write_bytes(b'{"a": "1"}\n\x0c\n{"a": "2"}\n')
    result = read_fault(path, "jsonl")
    assert result.error == (
        f"{path}: record 2 (line 2, byte 11) is not valid JSON: Expecting value at column 1"
    )
    assert result.rows == 1


def test_a_long_value_before_a_fault_is_not_the_fault(tmp_path) -> None:
    """Python's csv refuses fields over 128 KiB, Arrow reads them: a long value before a ragged
    record is read, and the ragged record is the one named."""
    path = tmp_path / "extract.csv"
    long = "佛" * 100_000  # 300 kB
    path.write_text(f"a,b\n{long},1\nx\n", encoding="utf-8")
    result = read_fault(path, "csv")
    start = len(f"a,b\n{long},1\n".encode())
    assert (
        result.error == f"{path}: record 2 (line 3, byte {start:,}) has 1 field, the header has 2"
    )
    assert result.table.to_pylist() == [{"a": long, "b": "1"}]


def test_a_record_arrow_cannot_read_fails_where_its_block_starts(tmp_path, monkeypatch) -> None:
    """A known limit of Arrow 25, not of the rules: a record with a NUL outside quotes and then
    a quoted line break, across a block boundary, is refused by every Arrow CSV reader. The
    checker finds nothing wrong with it, so the fault names the block Arrow refused (records
    before it are kept) and Arrow's reason. If Arrow fixes this, the file reads and this test
    should become a round trip."""
    import riskdraw.governance.readers as readers

    monkeypatch.setattr(readers, "BLOCK_BYTES", 256)
    path = tmp_path / "extract.csv"
    path.write_bytes(
        b"a,b,c,d,e\n1,2,3,4,5\n"
        + b"x" * 238
        + b",x,x,x,x\n"
        + b',,x\x00,"x\nx","x\nx"\n'  # valid RFC 4180
        + b"6,7,8,9,0\n"
    )
    result = read_fault(path, "csv")
    assert result.error.startswith(
        f"{path}: cannot be read from record 1 (line 2, byte 10) on: CSV parse error: "
    )
