"""Dates as government records write them, and Excel serial numbers.

Departments hand over spreadsheets whose date columns come in many shapes: ISO dates, slashes
without zero padding, compact digits, Chinese 年月日, dotted dates, and raw Excel serial numbers
when a cell lost its date format. The simulator writes all of these; the ingestion code reads
them back. Everything here is vectorised over ``datetime64[D]`` arrays; NaT stays missing.
"""

from __future__ import annotations

from datetime import date

import numpy as np

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system as used in practice (serial 1 = 1900-01-01 would need
Excel's fictitious 1900-02-29; counting from 1899-12-30 is right for every serial >= 61, i.e.
every date from 1900-03-01 on)."""

DATE_STYLES = ("iso", "slash", "compact", "chinese", "dot", "excel")
"""Names accepted by ``format_dates``: 2023-01-05, 2023/1/5, 20230105, 2023年1月5日,
2023.01.05, and the Excel serial 44931."""

_EPOCH64 = np.datetime64(EXCEL_EPOCH, "D")
_PAD2 = np.array([f"{i:02d}" for i in range(32)])
_PLAIN = np.array([str(i) for i in range(32)])


def _as_days(dates: np.ndarray) -> np.ndarray:
    """``dates`` as a datetime64[D] array (lists, strings and datetime64 of any unit accepted)."""
    return np.asarray(dates, dtype="datetime64[D]")


def date_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day int64 arrays of a datetime64[D] array (NaT rows are meaningless)."""
    days = _as_days(dates)
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (days - months).astype(np.int64) + 1
    return year, month, day


def to_excel_serial(dates: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (int64) of datetime64[D] dates.

    Raises:
        ValueError: ``dates`` contains NaT (Excel has no missing-date serial; mask it first).
    """
    days = _as_days(dates)
    if np.isnat(days).any():
        raise ValueError("dates contain NaT, which has no Excel serial number")
    return (days - _EPOCH64).astype(np.int64)


def from_excel_serial(serials: np.ndarray) -> np.ndarray:
    """datetime64[D] dates of Excel serial numbers; a time-of-day fraction is dropped, NaN -> NaT.

    Raises:
        ValueError: ``serials`` is not numeric.
    """
    values = np.asarray(serials)
    if values.dtype.kind not in "iuf":
        raise ValueError(f"serials must be numeric, got dtype {values.dtype}")
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        whole = np.floor(np.where(missing, 0, values)).astype(np.int64)
        out = _EPOCH64 + whole.astype("timedelta64[D]")
        out[missing] = np.datetime64("NaT")
        return out
    return _EPOCH64 + values.astype(np.int64).astype("timedelta64[D]")


def _join(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise concatenation of str arrays and literal separators."""
    out = parts[0]
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def format_dates(dates: np.ndarray, style: str) -> np.ndarray:
    """Format datetime64[D] dates as strings in one of ``DATE_STYLES``; NaT -> None.

    Each distinct date is formatted once with numpy string ufuncs and then broadcast back, so
    a million dates (a few thousand distinct days) take a small fraction of a second.

    Raises:
        ValueError: unknown ``style``, or a year outside 1-9999.
    """
    if style not in DATE_STYLES:
        raise ValueError(f"unknown date style {style!r}; expected one of {DATE_STYLES}")
    days = _as_days(dates)
    missing = np.isnat(days)
    distinct, inverse = np.unique(np.where(missing, _EPOCH64, days), return_inverse=True)
    out = _format_distinct(distinct, style).astype(object)[inverse.reshape(days.shape)]
    out[missing] = None
    return out


def _format_distinct(days: np.ndarray, style: str) -> np.ndarray:
    """Fixed-width str array of ``days`` (no NaT) in ``style``."""
    if style == "excel":
        return (days - _EPOCH64).astype(np.int64).astype(str)
    year, month, day = date_parts(days)
    if year.size and (year.min() < 1 or year.max() > 9999):
        raise ValueError("years must lie in 1-9999 to be formatted")
    yyyy = np.strings.zfill(year.astype(str), 4)
    if style == "iso":
        return _join(yyyy, "-", _PAD2[month], "-", _PAD2[day])
    if style == "slash":
        return _join(yyyy, "/", _PLAIN[month], "/", _PLAIN[day])
    if style == "compact":
        return _join(yyyy, _PAD2[month], _PAD2[day])
    if style == "chinese":
        return _join(yyyy, "年", _PLAIN[month], "月", _PLAIN[day], "日")
    return _join(yyyy, ".", _PAD2[month], ".", _PAD2[day])  # dot
