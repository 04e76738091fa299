"""Real-world mess, at the configured rates, and each source's own way of writing values.

`spoil` takes a source's clean `Records` and returns the strings the department actually
delivers (an Arrow table), the true enterprise behind each row, and a bit mask per row saying
which kinds of mess it received (truth, for tests and evaluation only). Rates are per record of
the sources where the mess can occur: key mess where the source has a key column, name mess on
the name column, conflicts where a source echoes a registry value, text amounts where amounts
are in 元. A record with several columns one kind of mess can touch receives it once, in one
of them, so that its rate stays the declared one. Values are formatted with Arrow kernels, so
the monthly streams of a 1.3M city stay fast; only the spoiled minority of rows passes through
Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.config import Mess
from riskdraw.domain.codes import USCC_CHARSET
from riskdraw.domain.dates import DATE_STYLES, format_dates

from .population import TRADE_CHARS
from .render import Records
from .sources import Source

MESS_BITS = {
    "duplicate_exact": 1,
    "duplicate_near": 2,
    "fullwidth": 4,
    "name_variant": 8,
    "name_typo": 16,
    "invalid_check": 32,
    "missing_key": 64,
    "impossible_date": 128,
    "conflict": 256,
    "date_style_mix": 512,
    "amount_as_text": 1024,
}

_FULLWIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)}
_FULLWIDTH[0x20] = 0x3000


@dataclass
class Delivered:
    """What a source delivers: text per column, plus truth per row."""

    table: pa.Table
    uid: np.ndarray
    mess: np.ndarray
    date_columns: list[str]


def amount_header(column: str, unit: str) -> str:
    return f"{column}({'万元' if unit == 'wan' else '元'})"


def text(values) -> pa.Array:
    """Any column as Arrow strings; missing values become empty strings."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        out = values if values.type == pa.string() else pc.cast(values, pa.string())
        return pc.fill_null(out, "")
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return pc.fill_null(pc.cast(pa.array(arr), pa.string()), "")
    if arr.dtype.kind in "iuf":
        return pc.fill_null(pc.cast(pa.array(arr, from_pandas=True), pa.string()), "")
    return pc.fill_null(pa.array(arr, type=pa.string(), from_pandas=True), "")


def format_dates_arrow(days: np.ndarray, style: str) -> pa.Array:
    """Dates as strings in `style` (empty where there is no date), via a lookup per distinct day."""
    days = np.asarray(days).astype("datetime64[D]")
    missing = np.isnat(days)
    if missing.all():
        return pa.array(np.full(len(days), "", dtype=object), type=pa.string())
    ints = days.astype(np.int64)
    lo = int(ints[~missing].min())
    hi = int(ints[~missing].max())
    table = pa.array(
        format_dates(np.arange(lo, hi + 1).astype("datetime64[D]"), style), type=pa.string()
    )
    index = pa.array(np.where(missing, 0, ints - lo), mask=missing)
    return pc.fill_null(table.take(index), "")


def format_amounts(values: np.ndarray, unit: str) -> pa.Array:
    """Amounts as the source writes them: whole yuan, or 万元 with up to four decimals."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    whole_yuan = np.round(np.nan_to_num(values)).astype(np.int64)
    if unit == "yuan":
        out = pc.cast(pa.array(whole_yuan, mask=missing), pa.string())
    else:
        whole = pc.cast(pa.array(whole_yuan // 10_000), pa.string())
        frac = pc.utf8_rtrim(
            pc.utf8_lpad(pc.cast(pa.array(whole_yuan % 10_000), pa.string()), 4, "0"), "0"
        )
        out = pc.if_else(pc.equal(frac, ""), whole, pc.binary_join_element_wise(whole, frac, "."))
        out = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), out)
    return pc.fill_null(out, "")


def _impossible(rng: np.random.Generator, n: int, style: str) -> list[str]:
    """Dates no calendar has: 30 February, month 13, day 0, or long before any register."""
    year = rng.integers(2005, 2025, n)
    kind = rng.integers(0, 4, n)
    month = np.select([kind == 0, kind == 1, kind == 2], [2, 13, 6], 1)
    day = np.select([kind == 0, kind == 1, kind == 2], [30, 5, 0], 1)
    year = np.where(kind == 3, 1900, year)
    out = []
    for y, m, d, k in zip(year, month, day, kind, strict=True):
        if style == "iso":
            out.append(f"{y}-{m:02d}-{d:02d}")
        elif style == "slash":
            out.append(f"{y}/{m}/{d}")
        elif style == "compact":
            out.append(f"{y}{m:02d}{d:02d}")
        elif style == "chinese":
            out.append(f"{y}年{m}月{d}日")
        elif style == "dot":
            out.append(f"{y}.{m:02d}.{d:02d}")
        else:
            out.append("-1" if k == 3 else "0")  # Excel serials before 1900
    return out


def name_variants(rng: np.random.Generator, names: list[str]) -> list[str]:
    """Ways one enterprise's name is written elsewhere: city dropped, legal form, spaces."""
    s = pd.Series(names, dtype=object)
    kind = rng.integers(0, 4, len(s))
    out = s.copy()
    drop_city = kind == 0
    out[drop_city] = s[drop_city].str.replace("^佛山市", "", regex=True)
    form = kind == 1
    swapped = s[form].str.replace("有限公司$", "有限责任公司", regex=True)
    same = swapped == s[form]
    swapped[same] = s[form][same].str.replace("有限责任公司$", "有限公司", regex=True)
    out[form] = swapped
    space = kind == 2
    out[space] = [v[: len(v) // 2] + " " + v[len(v) // 2 :] for v in s[space]]
    bracket = kind == 3
    out[bracket] = (
        s[bracket]
        .str.replace("^佛山市(.{2,3}区)?", "", regex=True)
        .str.replace("(有限|股份|分公司|农民)", r"（佛山）\1", n=1, regex=True)
    )
    unchanged = (out == s).to_numpy()  # a variant that left the name as it was: trailing space
    out[unchanged] = s[unchanged] + " "
    return out.tolist()


def typos(rng: np.random.Generator, names: list[str]) -> list[str]:
    """One character of the name replaced by another (a keying error)."""
    replacement = TRADE_CHARS[rng.integers(0, len(TRADE_CHARS), len(names))]
    out = []
    for name, new in zip(names, replacement, strict=True):
        if len(name) < 5:
            out.append(name + new)
            continue
        pos = int(rng.integers(3, len(name) - 1))
        if name[pos] == new:
            new = "鑫" if new != "鑫" else "森"
        out.append(name[:pos] + new + name[pos + 1 :])
    return out


def bad_checks(rng: np.random.Generator, keys: list[str], key_type: str) -> list[str]:
    """The last character replaced by a different one: the check no longer holds."""
    alphabet = USCC_CHARSET if key_type == "credit_code" else "0123456789"
    out = []
    for key, i in zip(keys, rng.integers(0, len(alphabet), len(keys)), strict=True):
        new = alphabet[i]
        if new == key[-1]:
            new = "2" if key[-1] == "1" else "1"
        out.append(key[:-1] + new)
    return out


def replace_masked(arr: pa.Array, mask: np.ndarray, values) -> pa.Array:
    """`arr` with the rows of `mask` replaced by `values` (one per masked row)."""
    if not mask.any():
        return arr
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.string())
    return pc.replace_with_mask(arr, pa.array(mask), values)


def _conflicting(rng: np.random.Generator, values, mask: np.ndarray, pool, tries: int = 20):
    """`values` with the rows of `mask` replaced by another enterprise's value from `pool`.

    A draw that happens to equal the record's own value (a shared address, a capital of 0) is
    drawn again, so that a record marked as conflicting does disagree with the registry.
    """
    rows = np.flatnonzero(mask)
    if isinstance(pool, pa.Array):
        own = text(values).take(pa.array(rows))
        others = pool.take(pa.array(rng.integers(0, len(pool), len(rows))))
        for _ in range(tries):
            same = np.asarray(pc.equal(others, own).to_numpy(zero_copy_only=False), dtype=bool)
            if not same.any():
                break
            again = pool.take(pa.array(rng.integers(0, len(pool), int(same.sum()))))
            others = replace_masked(others, same, again)
        return replace_masked(text(values), mask, others)
    out = np.array(values, dtype=float)
    own = out[rows]
    others = pool[rng.integers(0, len(pool), len(rows))]
    for _ in range(tries):
        same = others == own
        if not same.any():
            break
        others[same] = pool[rng.integers(0, len(pool), int(same.sum()))]
    out[rows] = others
    return out


def spoil(records: Records, source: Source, rates: Mess, rng: np.random.Generator) -> Delivered:
    """Apply the mess and the source's formats; see the module docstring."""
    cols = dict(records.columns)
    n = records.rows
    bits = np.zeros(n, dtype=np.int32)

    def pick(rate: float, kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        mask = rng.random(n) < rate
        if eligible is not None:
            mask &= eligible
        bits[mask] |= MESS_BITS[kind]
        return mask

    # Registry values echoed by other departments sometimes disagree with the registry: a
    # conflicting record disagrees in one of its echoed columns (the rate is per record).
    if records.echoes:
        conflict = pick(rates.conflict, "conflict")
        which = rng.integers(0, len(records.echoes), n)
        for j, (column, pool) in enumerate(records.echoes.items()):
            cols[column] = _conflicting(rng, cols[column], conflict & (which == j), pool)

    out: dict[str, pa.Array] = {}
    for column, values in cols.items():
        if column in records.dates:
            out[column] = format_dates_arrow(values, source.date_style)
        elif column in records.amounts:
            out[column] = format_amounts(values, source.amount_unit)
        else:
            out[column] = text(values)

    name = out[records.name]
    if records.name_bits is not None:  # name mess decided per account (monthly streams)
        bits |= records.name_bits
    else:
        present = np.asarray(pc.not_equal(name, "").to_numpy(zero_copy_only=False))
        mask = pick(rates.name_variant, "name_variant", present)
        name = replace_masked(
            name, mask, name_variants(rng, name.filter(pa.array(mask)).to_pylist())
        )
        mask = pick(rates.name_typo, "name_typo", present)
        name = replace_masked(name, mask, typos(rng, name.filter(pa.array(mask)).to_pylist()))
    out[records.name] = name

    key_col = records.key or records.name
    keys = out[key_col]
    present = np.asarray(pc.not_equal(keys, "").to_numpy(zero_copy_only=False))
    if records.key is not None:
        mask = pick(rates.invalid_check, "invalid_check", present)
        keys = replace_masked(
            keys, mask, bad_checks(rng, keys.filter(pa.array(mask)).to_pylist(), source.key)
        )
    mask = pick(rates.missing_key, "missing_key")
    keys = replace_masked(keys, mask, [""] * int(mask.sum()))
    out[key_col] = keys

    # Dates: the source's style, some rows in another; the first date column sometimes impossible.
    mix = pick(rates.date_style_mix, "date_style_mix")
    others = [s for s in DATE_STYLES if s != source.date_style]
    other_style = np.array(others)[rng.integers(0, len(others), n)]
    for i, column in enumerate(records.dates):
        col = out[column]
        days = np.asarray(cols[column]).astype("datetime64[D]")
        for style in others:
            m = mix & (other_style == style) & ~np.isnat(days)
            if m.any():
                col = pc.replace_with_mask(col, pa.array(m), format_dates_arrow(days[m], style))
        if i == 0:
            mask = pick(rates.impossible_date, "impossible_date", ~np.isnat(days))
            col = replace_masked(col, mask, _impossible(rng, int(mask.sum()), source.date_style))
        out[column] = col

    # Amounts in 元 sometimes written as text in 万: the rate is per record, so a record with
    # several amounts has one of them (chosen among those it has) written so.
    if source.amount_unit == "yuan" and records.amounts:
        values = np.column_stack([np.asarray(cols[c], dtype=float) for c in records.amounts])
        has = ~np.isnan(values)
        as_text = pick(rates.amount_as_text, "amount_as_text", has.any(axis=1))
        which = np.argmax(has * rng.random(has.shape), axis=1)  # uniform among those it has
        for j, column in enumerate(records.amounts):
            mask = as_text & (which == j)
            wan = format_amounts(values[mask, j], "wan").to_pylist()
            suffix = np.where(rng.random(len(wan)) < 0.5, "万", "万元")
            out[column] = replace_masked(
                out[column], mask, [w + s for w, s in zip(wan, suffix, strict=True)]
            )

    target = key_col if records.key is not None else (records.dates or [key_col])[0]
    present = np.asarray(pc.not_equal(out[target], "").to_numpy(zero_copy_only=False))
    mask = pick(rates.fullwidth, "fullwidth", present)
    out[target] = replace_masked(
        out[target],
        mask,
        [v.translate(_FULLWIDTH) for v in out[target].filter(pa.array(mask)).to_pylist()],
    )

    # Duplicates: exact copies, and near copies differing in spacing; copies land near their
    # original, as re-sent batches do.
    exact = np.flatnonzero(rng.random(n) < rates.duplicate_exact)
    near = np.flatnonzero(rng.random(n) < rates.duplicate_near)
    source_rows = np.concatenate([np.arange(n), exact, near])
    position = np.concatenate(
        [
            np.arange(n),
            exact + rng.uniform(0.1, 50, len(exact)),
            near + rng.uniform(0.1, 50, len(near)),
        ]
    )
    order = np.argsort(position, kind="stable")
    take = pa.array(source_rows[order])
    row_bits = np.concatenate(
        [bits, bits[exact] | MESS_BITS["duplicate_exact"], bits[near] | MESS_BITS["duplicate_near"]]
    )[order]
    is_near = (row_bits & MESS_BITS["duplicate_near"]) > 0
    tweak = rng.integers(0, 2, len(order))
    table = {c: a.take(take) for c, a in out.items()}
    for column, flag, pad in ((records.name, 0, "{} "), (key_col, 1, " {}")):
        m = is_near & (tweak == flag)
        if m.any():
            vals = [pad.format(v) for v in table[column].filter(pa.array(m)).to_pylist()]
            table[column] = replace_masked(table[column], m, vals)
    rename = {c: amount_header(c, source.amount_unit) for c in records.amounts}
    arrow = pa.table({rename.get(c, c): a for c, a in table.items()})
    return Delivered(
        arrow, records.uid[source_rows[order]], row_bits, [rename.get(c, c) for c in records.dates]
    )
