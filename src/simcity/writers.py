"""Write delivered records in each department's format and encoding, chunk by chunk.

CSV (UTF-8 or GBK) and JSON Lines append chunks, so the large monthly streams never sit in
memory whole; XLSX and XML are for the small sources, as in real life, and are written at once.
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


class ExtractWriter:
    """Appends Arrow tables of text to one extract file in the source's format and encoding."""

    def __init__(
        self, path: Path, fmt: str, encoding: str, date_style: str, source_id: str
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.encoding = encoding
        self.date_style = date_style
        self.source_id = source_id
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._dates: list[str] = []
        self._columns: list[str] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)

    def write(self, table: pa.Table, date_columns: list[str]) -> None:
        self._dates = date_columns
        self._columns = table.column_names
        if self.fmt in ("xlsx", "xml"):
            self._pending.append(table)
        elif self.fmt == "csv":
            self._append(_csv_bytes(table, header=self.rows == 0))
        elif self.fmt == "jsonl":
            self._append(_jsonl_bytes(table))
        else:
            raise ValueError(f"unknown format {self.fmt!r}")
        self.rows += table.num_rows

    def _append(self, data: bytes) -> None:
        if self.encoding != "utf-8":
            data = data.decode("utf-8").encode(self.encoding)
        with self.path.open("ab") as fh:
            fh.write(data)

    def close(self) -> None:
        if self.fmt in ("xlsx", "xml"):
            rows = [
                row
                for t in self._pending
                for row in zip(*[c.to_pylist() for c in t.columns], strict=True)
            ]
            columns = self._columns or []
            if self.fmt == "xlsx":
                _write_xlsx(
                    self.path, columns, rows, self._dates, excel_dates=self.date_style == "excel"
                )
            else:
                self.path.write_bytes(
                    _xml_text(columns, rows, self.source_id).encode(self.encoding)
                )
        elif not self.path.exists():
            self.path.write_bytes(b"")
        self._pending = []


def _csv_bytes(table: pa.Table, header: bool) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue()


def _json_escape(arr: pa.Array) -> pa.Array:
    arr = pc.replace_substring(arr, "\\", "\\\\")
    return pc.replace_substring(arr, '"', '\\"')


def _jsonl_bytes(table: pa.Table) -> bytes:
    """One JSON object per line, built with Arrow string kernels (all values are strings)."""
    if table.num_rows == 0:
        return b""
    parts: list = []
    for i, name in enumerate(table.column_names):
        key = json.dumps(name, ensure_ascii=False)
        parts.append(("{" if i == 0 else ",") + key + ':"')
        parts.append(_json_escape(table.column(name).combine_chunks()))
        parts.append('"')
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _tag(column: str) -> str:
    """An XML element name for a column: brackets of units become underscores."""
    return column.replace("(", "_").replace(")", "").replace("（", "_").replace("）", "")


def _xml_text(columns: list[str], rows: list[tuple], source_id: str) -> str:
    tags = [_tag(c) for c in columns]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<records source="{source_id}">']
    for row in rows:
        cells = "".join(f"<{t}>{escape(str(v))}</{t}>" for t, v in zip(tags, row, strict=True))
        lines.append(f"  <record>{cells}</record>")
    lines.append("</records>")
    return "\n".join(lines) + "\n"


def _write_xlsx(
    path: Path, columns: list[str], rows: list[tuple], dates: list[str], excel_dates: bool
) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    # A fixed creation time keeps the bytes the same for the same seed.
    book.set_properties({"created": datetime.datetime(2025, 6, 30)})
    sheet = book.add_worksheet("数据")
    for j, column in enumerate(columns):
        sheet.write_string(0, j, column)
    numeric = {j for j, c in enumerate(columns) if excel_dates and c in dates}
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            text = str(value)
            if j in numeric and text.lstrip("-").isdigit():
                sheet.write_number(i, j, int(text))  # an Excel serial date, as Excel stores it
            else:
                sheet.write_string(i, j, text)
    book.close()


def truncate(path: Path, rng: np.random.Generator) -> dict:
    """Cut a text extract in the middle of a record, as an interrupted transfer leaves it."""
    data = path.read_bytes()
    lines = data.count(b"\n")
    if lines < 4:
        return {"file": str(path), "cut_at_byte": len(data), "complete_records": None}
    target = int(len(data) * rng.uniform(0.55, 0.85))
    start = data.rfind(b"\n", 0, target) + 1
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end
    cut = start + max(1, (end - start) // 2)
    path.write_bytes(data[:cut])
    return {
        "file": str(path),
        "cut_at_byte": cut,
        "bytes_before": len(data),
        "complete_lines": data[:start].count(b"\n"),
    }
