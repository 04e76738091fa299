"""Real-world mess, at the configured rates, and each source's own way of writing values.

`spoil` takes a source's clean `Records` and returns the strings the department actually
delivers, the true enterprise behind each row, and a bit mask per row saying which kinds of mess
that row received (truth, for tests and evaluation only). Rates are per record of the sources
where the mess can occur: key mess where the source has a key column, name mess on the name
column, conflicts where a source echoes a registry value, text amounts where amounts are in 元.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def to_fullwidth_series(s: pd.Series) -> pd.Series:
    return s.astype(str).str.translate(_FULLWIDTH)


@dataclass
class Delivered:
    """What a source delivers: strings per column, plus truth per row."""

    frame: pd.DataFrame
    uid: np.ndarray
    mess: np.ndarray
    date_columns: list[str]


def amount_header(column: str, unit: str) -> str:
    return f"{column}({'万元' if unit == 'wan' else '元'})"


def format_amounts(values: np.ndarray, unit: str) -> np.ndarray:
    """Amounts as the source writes them: whole yuan, or 万元 with up to four decimals."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    if unit == "yuan":
        out = np.round(np.nan_to_num(values)).astype(np.int64).astype(str).astype(object)
    else:
        cents = np.round(np.nan_to_num(values)).astype(np.int64)  # 1 yuan = 0.0001 万元
        whole = (cents // 10_000).astype(str).astype(object)
        frac = (
            pd.Series(cents % 10_000)
            .astype(str)
            .str.zfill(4)
            .str.rstrip("0")
            .to_numpy(dtype=object)
        )
        out = np.where(frac == "", whole, whole + "." + frac)
    out[missing] = ""
    return out


def format_date_column(dates: np.ndarray, styles: np.ndarray) -> np.ndarray:
    """Dates as strings, each in its row's style; empty where there is no date."""
    dates = np.asarray(dates).astype("datetime64[D]")
    out = np.full(len(dates), "", dtype=object)
    present = ~np.isnat(dates)
    for style in np.unique(styles):
        mask = present & (styles == style)
        if mask.any():
            out[mask] = format_dates(dates[mask], str(style))
    return out


def _impossible(rng: np.random.Generator, n: int, style: str) -> np.ndarray:
    """Dates no calendar has: 30 February, month 13, day 0, or long before any register."""
    year = rng.integers(2005, 2025, n)
    kind = rng.integers(0, 4, n)
    month = np.select([kind == 0, kind == 1, kind == 2], [2, 13, 6], 1)
    day = np.select([kind == 0, kind == 1, kind == 2], [30, 5, 0], 1)
    year = np.where(kind == 3, 1900, year)
    y, m, d = (pd.Series(v).astype(str) for v in (year, month, day))
    if style == "iso":
        return (y + "-" + m.str.zfill(2) + "-" + d.str.zfill(2)).to_numpy(dtype=object)
    if style == "slash":
        return (y + "/" + m + "/" + d).to_numpy(dtype=object)
    if style == "compact":
        return (y + m.str.zfill(2) + d.str.zfill(2)).to_numpy(dtype=object)
    if style == "chinese":
        return (y + "年" + m + "月" + d + "日").to_numpy(dtype=object)
    if style == "dot":
        return (y + "." + m.str.zfill(2) + "." + d.str.zfill(2)).to_numpy(dtype=object)
    return np.where(kind == 3, "-1", "0").astype(object)  # Excel serials before 1900


def _name_variants(rng: np.random.Generator, names: pd.Series) -> pd.Series:
    """Ways one enterprise's name is written elsewhere: city dropped, legal form, spaces."""
    kind = rng.integers(0, 4, len(names))
    out = names.copy()
    drop_city = kind == 0
    out[drop_city] = names[drop_city].str.replace("^佛山市", "", regex=True)
    form = kind == 1
    swapped = names[form].str.replace("有限公司$", "有限责任公司", regex=True)
    same = swapped == names[form]
    swapped[same] = names[form][same].str.replace("有限责任公司$", "有限公司", regex=True)
    out[form] = swapped
    space = kind == 2
    cut = (names[space].str.len() // 2).to_numpy()
    out[space] = [s[:c] + " " + s[c:] for s, c in zip(names[space], cut, strict=True)]
    bracket = kind == 3
    out[bracket] = (
        names[bracket]
        .str.replace("^佛山市(.{2,3}区)?", r"\g<0>（佛山）", regex=True)
        .str.replace("^佛山市", "", regex=True)
    )
    # Where a variant happened to leave the name as it was, add a trailing space.
    unchanged = (out == names).to_numpy()
    out[unchanged] = names[unchanged] + " "
    return out


def _typos(rng: np.random.Generator, names: pd.Series) -> pd.Series:
    """One character of the name replaced by another (a keying error)."""
    replacement = TRADE_CHARS[rng.integers(0, len(TRADE_CHARS), len(names))]
    out = []
    for name, new in zip(names, replacement, strict=True):
        if len(name) < 4:
            out.append(name + new)
            continue
        pos = int(rng.integers(3, len(name) - 1)) if len(name) > 4 else 3
        if name[pos] == new:
            new = "鑫" if new != "鑫" else "森"
        out.append(name[:pos] + new + name[pos + 1 :])
    return pd.Series(out, index=names.index)


def _bad_check(rng: np.random.Generator, keys: pd.Series, key_type: str) -> pd.Series:
    """The last character replaced by a different one: the check no longer holds."""
    last = keys.str[-1]
    alphabet = np.array(list(USCC_CHARSET if key_type == "credit_code" else "0123456789"))
    new = pd.Series(alphabet[rng.integers(0, len(alphabet), len(keys))], index=keys.index)
    clash = new == last
    new[clash] = np.where(last[clash] == "1", "2", "1")
    return keys.str[:-1] + new


def spoil(records: Records, source: Source, rates: Mess, rng: np.random.Generator) -> Delivered:
    """Apply the mess and the source's formats; see the module docstring."""
    frame = records.frame.copy()
    n = len(frame)
    bits = np.zeros(n, dtype=np.int32)

    def pick(rate: float, kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        mask = rng.random(n) < rate
        if eligible is not None:
            mask &= eligible
        bits[mask] |= MESS_BITS[kind]
        return mask

    name = frame[records.name].astype(str)
    present = (name != "").to_numpy()
    mask = pick(rates.name_variant, "name_variant", present)
    name[mask] = _name_variants(rng, name[mask])
    mask = pick(rates.name_typo, "name_typo", present)
    name[mask] = _typos(rng, name[mask])
    frame[records.name] = name

    for column, pool in records.echoes.items():
        mask = pick(rates.conflict, "conflict")
        frame.loc[mask, column] = pool[rng.integers(0, len(pool), int(mask.sum()))]

    key_col = records.key or records.name
    keys = frame[key_col].astype(object).where(frame[key_col].notna(), "").astype(str)
    if records.key is not None:
        mask = pick(rates.invalid_check, "invalid_check", (keys != "").to_numpy())
        keys[mask] = _bad_check(rng, keys[mask], source.key)
    mask = pick(rates.missing_key, "missing_key")
    keys[mask] = ""
    fullwidth_target = key_col if records.key is not None else (records.dates or [key_col])[0]
    frame[key_col] = keys

    # Dates: the source's style, some rows in another; one date column sometimes impossible.
    styles = np.full(n, source.date_style, dtype=object)
    mask = pick(rates.date_style_mix, "date_style_mix")
    others = [s for s in DATE_STYLES if s != source.date_style]
    styles[mask] = np.array(others, dtype=object)[rng.integers(0, len(others), int(mask.sum()))]
    for i, column in enumerate(records.dates):
        frame[column] = format_date_column(frame[column].to_numpy(), styles)
        if i == 0:
            mask = pick(rates.impossible_date, "impossible_date")
            frame.loc[mask, column] = _impossible(rng, int(mask.sum()), source.date_style)

    rename = {}
    for column in records.amounts:
        values = format_amounts(frame[column].to_numpy(dtype=float), source.amount_unit)
        if source.amount_unit == "yuan":
            mask = pick(rates.amount_as_text, "amount_as_text", frame[column].notna().to_numpy())
            wan = format_amounts(frame[column].to_numpy(dtype=float)[mask], "wan")
            values[mask] = wan + np.where(rng.random(int(mask.sum())) < 0.5, "万", "万元")
        frame[column] = values
        rename[column] = amount_header(column, source.amount_unit)

    mask = pick(rates.fullwidth, "fullwidth", (frame[fullwidth_target] != "").to_numpy())
    frame.loc[mask, fullwidth_target] = to_fullwidth_series(frame.loc[mask, fullwidth_target])

    frame = frame.astype(object).where(frame.notna(), "")
    for column in frame.columns:
        if frame[column].dtype != object or not isinstance(frame[column].iat[0] if n else "", str):
            frame[column] = frame[column].astype(str)
    frame = frame.rename(columns=rename)
    uid = records.uid

    # Duplicates: exact copies, and near copies that differ in spacing, width or date style.
    exact = np.flatnonzero(rng.random(n) < rates.duplicate_exact)
    near = np.flatnonzero(rng.random(n) < rates.duplicate_near)
    copies = frame.iloc[near].copy()
    name_col = rename.get(records.name, records.name)
    tweak = rng.integers(0, 2, len(near))
    copies.loc[tweak == 0, name_col] = copies.loc[tweak == 0, name_col] + " "
    tkey = rename.get(key_col, key_col)
    copies.loc[tweak == 1, tkey] = " " + copies.loc[tweak == 1, tkey]
    out = pd.concat([frame, frame.iloc[exact], copies], ignore_index=True)
    out_uid = np.concatenate([uid, uid[exact], uid[near]])
    out_bits = np.concatenate(
        [bits, bits[exact] | MESS_BITS["duplicate_exact"], bits[near] | MESS_BITS["duplicate_near"]]
    )
    # Copies land near their original, as re-sent batches do.
    position = np.concatenate(
        [
            np.arange(n),
            exact + rng.uniform(0.1, 50, len(exact)),
            near + rng.uniform(0.1, 50, len(near)),
        ]
    )
    order = np.argsort(position, kind="stable")
    dates = [rename.get(c, c) for c in records.dates]
    return Delivered(out.iloc[order].reset_index(drop=True), out_uid[order], out_bits[order], dates)
