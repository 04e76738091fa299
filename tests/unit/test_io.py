"""CSV files the project writes: readable by pandas and Excel, and never a formula."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdraw.io import _PLAIN_NUMBER, FORMULA_STARTS, _escaped, write_csv

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "=1+1",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+86 757 1234 5678",
    "-3.5x",
]


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_that_starts_a_formula_is_quoted(tmp_path, text: str) -> None:
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"value": [text], "n": [1]}), path, index=False)
    assert _read(path)["value"].tolist() == ["'" + text]


@pytest.mark.parametrize(
    "text",
    ["佛山市美的电器有限公司", "a=b", " =1+1", "'=1+1", "", "3-4", "1e5", "(1)", "中=文"],
)
def test_ordinary_text_round_trips(tmp_path, text: str) -> None:
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"value": [text, "x"]}), path, index=False)
    assert _read(path)["value"].tolist() == [text, "x"]


@pytest.mark.parametrize("text", ["-3.5", "+12", "-0", "-1e-5", "-.5", "+7."])
def test_a_plain_number_written_as_text_is_left_alone(tmp_path, text: str) -> None:
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"value": [text]}), path, index=False)
    assert _read(path)["value"].tolist() == [text]


def test_numeric_columns_stay_numbers(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "amount": [-3.5, 0.0, -1e-9],
            "count": [-1, 2, -3],
            "share": pd.array([-1, None, 3], dtype="Int64"),
            "flag": [True, False, True],
        }
    )
    path = tmp_path / "out.csv"
    write_csv(frame, path, index=False)
    back = pd.read_csv(path)
    assert back["amount"].tolist() == [-3.5, 0.0, -1e-9]
    assert back["count"].tolist() == [-1, 2, -3]
    assert back["share"].isna().tolist() == [False, True, False]
    assert back["flag"].tolist() == [True, False, True]


def test_mixed_columns_index_and_header_are_escaped(tmp_path) -> None:
    frame = pd.DataFrame(
        {"=label": ["=x", -2, None, "ok"], "text": pd.array(["@a", None, "b", "-c"], "string")},
        index=pd.Index(["=1", "a", "b", "-3"], name="attribute"),
    )
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False, index_col="attribute")
    assert back.columns.tolist() == ["'=label", "text"]
    assert back.index.tolist() == ["'=1", "a", "b", "-3"]
    assert back["'=label"].tolist() == ["'=x", "-2", "", "ok"]
    assert back["text"].tolist() == ["'@a", "", "b", "'-c"]


def test_categorical_columns_are_escaped(tmp_path) -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["=a", "b", "=a"])})
    path = tmp_path / "out.csv"
    write_csv(frame, path, index=False)
    assert _read(path)["c"].tolist() == ["'=a", "b", "'=a"]


def test_the_input_frame_is_not_changed(tmp_path) -> None:
    frame = pd.DataFrame({"value": ["=1+1"]}, index=pd.Index(["=i"]))
    write_csv(frame, tmp_path / "out.csv")
    assert frame["value"].tolist() == ["=1+1"] and frame.index.tolist() == ["=i"]


def test_chinese_text_is_written_with_a_bom_for_excel(tmp_path) -> None:
    frame = pd.DataFrame({"企业名称": ["佛山市美的电器有限公司"], "score": [0.5]})
    path = tmp_path / "nested" / "out.csv"
    write_csv(frame, path, index=False)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert not list(path.parent.glob(".*"))  # written in place of a partial file, none left
    pd.testing.assert_frame_equal(pd.read_csv(path), frame)


def test_the_encoding_can_be_chosen(tmp_path) -> None:
    """DVC reads plot tables as plain UTF-8, where a BOM would stick to the first header."""
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"predicted": [0.1], "observed": [0.2]}), path, encoding="utf-8")
    assert path.read_bytes().startswith(b",predicted")


def test_a_large_frame_is_escaped_only_where_needed(tmp_path) -> None:
    rng = np.random.default_rng(0)
    values = rng.choice(np.array(["a", "=b", "-1", "-c"], dtype=object), 10_000)
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"v": values}), path, index=False)
    expected = np.where(np.isin(values, ["=b", "-c"]), "'" + values.astype(str), values)
    assert _read(path)["v"].tolist() == expected.tolist()


@pytest.mark.parametrize("text", ["a\rb", "a\r=1+1", "a\r\nb", "a\nb", 'say "hi", then go'])
def test_a_line_break_inside_a_value_never_splits_the_row(tmp_path, text: str) -> None:
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"value": [text, "-x"], "n": [1.5, -2.0]}), path, index=False)
    back = pd.read_csv(path, keep_default_na=False)
    assert back["value"].tolist() == [text, "'-x"]
    assert back["n"].tolist() == [1.5, -2.0]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=8),
            st.sampled_from([*HOSTILE, "-3.5", "+7.", "-３", "=", "\t"]),
        ),
        max_size=20,
    )
)
def test_escaping_is_the_cell_by_cell_rule(values: list) -> None:
    """Arrow's vectorised escaping quotes exactly the text cells that start a formula and are
    not a plain number (ASCII digits), whatever the column holds."""
    column = pd.Series(values, dtype=object)
    expected = [
        "'" + v
        if isinstance(v, str)
        and v.startswith(FORMULA_STARTS)
        and not re.fullmatch(_PLAIN_NUMBER, v)
        else v
        for v in values
    ]
    assert _escaped(column).tolist() == expected
