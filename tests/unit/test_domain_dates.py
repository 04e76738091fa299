"""Record date formats and Excel serial numbers."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskdraw.domain.dates import (
    DATE_STYLES,
    EXCEL_EPOCH,
    date_parts,
    format_dates,
    from_excel_serial,
    to_excel_serial,
)

DAYS = np.array(["2023-01-05", "1999-12-31", "2024-02-29", "NaT"], dtype="datetime64[D]")


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("iso", ["2023-01-05", "1999-12-31", "2024-02-29", None]),
        ("slash", ["2023/1/5", "1999/12/31", "2024/2/29", None]),
        ("compact", ["20230105", "19991231", "20240229", None]),
        ("chinese", ["2023年1月5日", "1999年12月31日", "2024年2月29日", None]),
        ("dot", ["2023.01.05", "1999.12.31", "2024.02.29", None]),
        ("excel", ["44931", "36525", "45351", None]),
    ],
)
def test_format_dates(style: str, expected: list[str | None]) -> None:
    out = format_dates(DAYS, style)
    assert out.dtype == object
    assert out.tolist() == expected


@pytest.mark.parametrize(
    ("style", "pattern"),
    [
        ("iso", "%Y-%m-%d"),
        ("slash", "%Y/%m/%d"),
        ("compact", "%Y%m%d"),
        ("chinese", "%Y年%m月%d日"),
        ("dot", "%Y.%m.%d"),
    ],
)
def test_format_dates_round_trip(style: str, pattern: str) -> None:
    rng = np.random.default_rng(0)
    days = np.datetime64("1950-01-01") + rng.integers(0, 30_000, 2_000).astype("timedelta64[D]")
    parsed = pd.to_datetime(pd.Series(format_dates(days, style)), format=pattern)
    assert (parsed.to_numpy().astype("datetime64[D]") == days).all()


def test_excel_style_round_trips_through_serials() -> None:
    text = format_dates(DAYS[:3], "excel")
    assert (from_excel_serial(text.astype(np.int64)) == DAYS[:3]).all()


def test_every_style_is_tested() -> None:
    assert set(DATE_STYLES) == {"iso", "slash", "compact", "chinese", "dot", "excel"}


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown date style 'us'"):
        format_dates(DAYS, "us")


@pytest.mark.parametrize(
    ("day", "serial"),
    [("1900-03-01", 61), ("1970-01-01", 25569), ("2023-01-05", 44931), ("1899-12-30", 0)],
)
def test_excel_serials(day: str, serial: int) -> None:
    days = np.array([day], dtype="datetime64[D]")
    assert to_excel_serial(days).tolist() == [serial]
    assert from_excel_serial(np.array([serial])).tolist() == [date.fromisoformat(day)]


def test_excel_epoch() -> None:
    assert date(1899, 12, 30) == EXCEL_EPOCH


def test_from_excel_serial_drops_time_and_keeps_missing() -> None:
    out = from_excel_serial(np.array([44931.75, np.nan]))
    assert out[0] == np.datetime64("2023-01-05")
    assert np.isnat(out[1])


def test_excel_serial_errors() -> None:
    with pytest.raises(ValueError, match="NaT"):
        to_excel_serial(DAYS)
    with pytest.raises(ValueError, match="must be numeric"):
        from_excel_serial(np.array(["44931"]))


def test_date_parts() -> None:
    year, month, day = date_parts(DAYS[:3])
    assert year.tolist() == [2023, 1999, 2024]
    assert month.tolist() == [1, 12, 2]
    assert day.tolist() == [5, 31, 29]
