"""The small I/O helpers the stage commands share."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd


def write_json(path: Path | str, payload: dict) -> None:
    """Write a metrics/report file as readable UTF-8 JSON (DVC reads these as metrics)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # whole or not at all: a reader never sees half a report


def read_json(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program read a cell as a formula (OWASP, CSV
injection): a text cell starting with one is written behind a single quote, ``'``."""

_PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# A number written as text ("-3.5", "+12", "-1e-5") cannot carry a formula: it is left alone.


def _is_text(values: pd.Series | pd.Index) -> bool:
    """Whether a column (or index) can hold text: object, string or categorical of those."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _escaped(values: pd.Series) -> pd.Series:
    """Text cells that would start a formula, behind a single quote; all else unchanged.

    Args:
        values: a text column (see ``_is_text``); numbers and missing values in it stay.

    Returns:
        The column (a categorical one as object), with only its risky text cells changed.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    risky = _risky_text(values)
    if risky is None:  # text mixed with numbers or other objects: cell by cell
        text = values.astype("string")
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            text = text.where(values.map(lambda v: isinstance(v, str)))  # numbers are not text
        risky = text.str.startswith(FORMULA_STARTS) & ~text.str.fullmatch(_PLAIN_NUMBER)
        risky = risky.fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return values
    return values.mask(risky, "'" + values.astype("string"))


def _risky_text(values: pd.Series):
    """Per cell, whether it is text that starts a formula, vectorised by Arrow; None if the
    column holds anything but text and missing values (the caller then goes cell by cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    starts = "".join("\\" + c if c in "-\\]^" else c for c in FORMULA_STARTS)
    formula = pc.match_substring_regex(text, f"^[{starts}]")
    number = pc.match_substring_regex(text, f"^(?:{_PLAIN_NUMBER})$")
    risky = pc.and_(formula, pc.invert(number))
    return pc.fill_null(risky, False).to_numpy(zero_copy_only=False)


def _escaped_index(index: pd.Index) -> pd.Index:
    """``_escaped`` applied to every text level of an index (or to column labels)."""
    if isinstance(index, pd.MultiIndex):
        levels = [index.get_level_values(i) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays([_escaped_index(level) for level in levels])
    if not _is_text(index):
        return index
    return pd.Index(_escaped(pd.Series(index, dtype=index.dtype)), name=index.name)


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` in which no text cell, label or index value can start a formula.

    Numeric, boolean and date columns are untouched: a negative number stays a number. Text
    that starts with one of ``FORMULA_STARTS`` gets a leading single quote, which spreadsheet
    programs take as "this is text"; a plain number written as text ("-3.5") is left alone.
    """
    out = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if _is_text(column):
            out.isetitem(i, _escaped(column))
    out.columns = _escaped_index(frame.columns).set_names(frame.columns.names)
    out.index = _escaped_index(frame.index).set_names(frame.index.names)
    return out


def _holds(frame: pd.DataFrame, char: str) -> bool:
    """Whether any text cell, column label or index value of ``frame`` contains ``char``."""
    parts = [frame.iloc[:, i] for i in range(frame.shape[1])]
    parts += [pd.Series(frame.columns.map(str)), pd.Series(frame.index.map(str))]
    return any(
        bool(part.astype("string").str.contains(char, regex=False).any())
        for part in parts
        if _is_text(part)
    )


def write_csv(frame: pd.DataFrame, path: Path | str, **kwargs) -> None:
    """Write a table as a CSV file that spreadsheet programs open safely and correctly.

    Text is escaped by ``escape_formulas`` (CSV injection), and the file is UTF-8 with a byte
    order mark (``utf-8-sig``) unless ``encoding`` says otherwise, so that Excel shows Chinese
    text; pandas reads it back either way. A file with a carriage return inside a value quotes
    every text field, as Python's csv writer (3.11) would leave that value unquoted and a
    reader split the row there (its second part could start a formula). Like
    ``write_json``, the file is written whole or not at all.

    Args:
        frame: the table; it is not changed.
        path: the file to write; its folder is created if needed.
        **kwargs: passed on to ``DataFrame.to_csv`` (``index``, ``encoding``, ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    safe = escape_formulas(frame)
    options = {"encoding": "utf-8-sig", **kwargs}
    if "quoting" not in options and _holds(safe, "\r"):
        options["quoting"] = csv.QUOTE_NONNUMERIC
    safe.to_csv(partial, **options)
    partial.replace(path)


def read_text_csv(path: Path, columns: list[str], error, label: str) -> pd.DataFrame:
    """A CSV table someone hands in (UTF-8, a byte order mark allowed), every value as text,
    with the named `columns` in that order.

    Raises:
        error: the file cannot be read (`error(message)`), or lacks a column.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as fault:
        raise error(f"{label} {path}: cannot be read: {fault}") from None
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise error(f"{label} {path}: columns {missing} missing (needs {columns})")
    return raw[columns]


def read_mapping(path: Path | str, error: type[Exception]) -> dict:
    """A YAML file's top-level mapping ({} if empty), or `error` naming the file, and the line
    and column of a syntax fault (params and catalogues share this reader)."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError) as fault:
        raise error(f"{path}: cannot be read: {fault}") from None
    except yaml.YAMLError as fault:
        mark = getattr(fault, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise error(
            f"{path}: not valid YAML{at}: {getattr(fault, 'problem', None) or fault}"
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping, got a {type(raw).__name__}")
    return raw
