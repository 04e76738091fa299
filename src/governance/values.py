"""Typed values from the text departments deliver: parse, make only safe repairs, name what broke.

Every field of every extract arrives as text (Arrow strings, the empty string meaning missing).
Each parser here takes one column of that text and returns a ``Parsed``: the typed values, per
row the rule a value broke (so ingest can quarantine the record with source, row, field, rule
and original value) and per row the repairs that were applied to accept it (so the quality
report can count them). A repair is made only when it cannot change what the value means:

- ``control_characters``: invisible characters removed wherever they stand: C0 controls
  (but tab, line feed and carriage return, which lay out free text such as a two-line
  address), DEL, C1 controls (U+0080-U+009F), and format characters: the soft hyphen,
  zero-width spaces and joiners, the byte-order mark, direction marks and bidi
  embeddings, overrides and isolates (which can make "ABC" display as "CBA"), invisible
  operators and tag characters. Nothing visible goes: U+FFFD, the mark of a character lost
  in decoding, stays, so the loss shows;
- ``whitespace``: surrounding spaces (also full-width, no-break and zero-width ones) removed;
  inside identifiers, where no space can belong, inner spaces, tabs and line breaks too;
- ``fullwidth``: full-width ASCII typed on a Chinese input method made half-width ("２０２３");
- ``case``: lower-case letters of an identifier made upper-case;
- ``date_style``: a date written in another of the departments' styles than the source declared;
- ``thousands_separator``: "1,234" read as 1234;
- ``wan_text``: an amount written "12.5万" or "12.5万元" converted to yuan;
- ``yuan_text``: an amount written "1234元" taken as yuan, whatever the column's unit;
- ``wan_to_yuan``: an amount in a column declared in 万元 converted to yuan;
- ``alias``: a known other spelling of an allowed value mapped to it.

A row may need several repairs; its ``repair`` names them all, joined by ``REPAIR_SEPARATOR`` in
the order of ``REPAIRS``. Repairs are reported only for accepted values: a value that breaks a
rule has no typed value, so nothing was repaired. Empty (or all-space) text is missing: no value
and no rule, since whether a field may be missing is the caller's business.

Every parser first cleans its text the same way (``_normalise``), then judges the cleaned value:
an identifier that is valid once a stray control character is gone is accepted, cleaned, with the
repair counted; one that is not is quarantined.

Everything is vectorised with Arrow kernels and numpy. Dates and enumerations, which repeat few
distinct values, are parsed once per distinct value; identifiers are checked by the domain's
``valid_*_mask`` functions. Control characters and full-width text are rare, so they are found
first (C0 controls on the column's bytes, the others with one regular expression match over its
non-ASCII values) and only those rows are rewritten; only the full-width ones pass through Python
(``riskdraw.domain.names.halfwidth_series``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.domain.codes import (
    ORG_TYPES,
    REGISTRATION_AUTHORITIES,
    USCC_CHARSET,
    valid_org_code_mask,
    valid_regno_mask,
    valid_uscc_mask,
)
from riskdraw.domain.dates import DATE_STYLES, from_excel_serial
from riskdraw.domain.names import halfwidth_series

RULES = (
    "date_unparseable",
    "date_impossible",
    "date_out_of_range",
    "amount_unparseable",
    "amount_negative",
    "integer_unparseable",
    "integer_out_of_range",
    "credit_code_format",
    "credit_code_check",
    "registration_number_format",
    "registration_number_check",
    "organisation_code_format",
    "organisation_code_check",
    "value_not_allowed",
)
"""Names of the rules a value can break, as written into the quarantine table."""

REPAIRS = (
    "control_characters",
    "whitespace",
    "fullwidth",
    "case",
    "date_style",
    "thousands_separator",
    "wan_text",
    "yuan_text",
    "wan_to_yuan",
    "alias",
)
"""Names of the safe repairs (see the module docstring), in the order a row's repairs are named."""

REPAIR_SEPARATOR = "+"
"""Joins the names of several repairs made to one value, e.g. "whitespace+fullwidth"."""

AMOUNT_UNITS = ("yuan", "wan")
"""Declared units of an amount column: 元, or 万元 (10,000 yuan)."""

_RULE = {name: code for code, name in enumerate(RULES, start=1)}  # 0 means no rule broken
_RULE_NAMES = np.array([None, *RULES], dtype=object)
_BIT = {name: 1 << i for i, name in enumerate(REPAIRS)}

# Stripped around every value: ASCII and Unicode spaces, the ideographic space, zero-width
# characters and the byte-order mark, all invisible in a spreadsheet cell.
_SPACES = " \t\n\r\v\f\xa0\u3000\u200b\u200c\u200d\u2060\ufeff"
_WIDE = "[\uff01-\uff5e\u3000]"  # what halfwidth_series converts
# Removed from every value (RE2 syntax): C0 controls but tab, LF and CR; DEL; the C1 controls;
# and the format characters: soft hyphen, Arabic letter mark, Mongolian vowel separator;
# zero-width space, non-joiner and joiner, LRM and RLM; bidi embeddings and overrides; word
# joiner and invisible operators; bidi isolates and the deprecated format characters; the
# byte-order mark; interlinear annotation; language tags.
_C1_AND_FORMAT = (
    r"\x{80}-\x{9f}\x{ad}\x{61c}\x{180e}\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}"
    r"\x{2066}-\x{206f}\x{feff}\x{fff9}-\x{fffb}\x{e0001}\x{e0020}-\x{e007f}"
)
_CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f" + _C1_AND_FORMAT + "]"
# What a non-ASCII value may need rewritten for: a control character or full-width text.
_UNUSUAL = "[" + _C1_AND_FORMAT + r"\x{3000}\x{ff01}-\x{ff5e}]"


def _ascii_table(codes: list[int]) -> np.ndarray:
    """Lookup by byte (0..255): True for the given code points (all in 0x00-0x20 or 0x7F)."""
    table = np.zeros(256, dtype=bool)
    table[codes] = True
    return table


_C0_BYTES = _ascii_table([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SPACE_BYTES = _ascii_table([ord(c) for c in " \t\n\r"])
# Squeezed out of identifiers: spaces, tabs and line breaks (the ideographic space is already
# half-width when this applies).
_INNER_SPACES = r"[ \t\n\r\x{a0}\x{3000}]"

_DATE_PATTERN = (
    r"^(?:(?P<y>\d{4})(?P<s1>[-/.年])(?P<m>\d{1,2})(?P<s2>[-/.月])(?P<d>\d{1,2})(?P<s3>日?)"
    r"|(?P<cy>\d{4})(?P<cm>\d{2})(?P<cd>\d{2})"
    r"|(?P<serial>-?\d{1,5}))$"
)
# Separators of a year-month-day value, joined, and the style they mean.
_SEPARATOR_STYLES = {"--": "iso", "//": "slash", "..": "dot", "年月日": "chinese"}
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])

_AMOUNT_PATTERN = (
    r"^(?P<sign>-?)(?P<whole>\d{1,15}|\d{1,3}(?:,\d{3}){1,4})(?:\.(?P<frac>\d{1,8}))?"
    r"(?P<unit>万元|万|元)?$"
)
_INTEGER_PATTERN = r"^[-+]?(?:\d+|\d{1,3}(?:,\d{3})+)$"
_MAX_INTEGER_DIGITS = 18  # every 18-digit number fits in int64

_USCC_FORMAT = (
    f"^[{REGISTRATION_AUTHORITIES}][{''.join(ORG_TYPES)}][0-9]{{6}}[{USCC_CHARSET}]{{10}}$"
)
_REGNO_FORMAT = r"^[0-9]{15}$"
_ORG_FORMAT = r"^[0-9A-Z]{8}[0-9X]$"
_ORG_HYPHEN = r"^([0-9A-Z]{8})-([0-9A-Z])$"
_USCC_LENGTH, _REGNO_LENGTH = 18, 15


@dataclass
class Parsed:
    """One parsed column: typed values, and per row the rule broken and the repairs made.

    Attributes:
        values: the typed values, missing where the text was empty or broke a rule: a numpy
            array for dates (datetime64[D], NaT) and amounts (float64 yuan, NaN), an Arrow
            array with nulls for integers (int64) and text (string).
        rule: object array, per row the name of the rule (one of ``RULES``) the value broke,
            None where the value is fine or missing.
        repair: object array, per row the names of the repairs (``REPAIRS``) made to accept
            the value, joined by ``REPAIR_SEPARATOR``; None where nothing was repaired.
    """

    values: np.ndarray | pa.Array
    rule: np.ndarray
    repair: np.ndarray

    def __len__(self) -> int:
        return len(self.rule)

    @property
    def ok(self) -> np.ndarray:
        """Bool mask: the value broke no rule (it may still be missing)."""
        return np.equal(self.rule, None)

    @property
    def missing(self) -> np.ndarray:
        """Bool mask: the text was empty, so there is no value, and no rule was broken."""
        if isinstance(self.values, pa.Array):
            absent = self.values.is_null().to_numpy(zero_copy_only=False)
        else:
            absent = pd.isna(self.values)
        return absent & self.ok

    def rule_counts(self) -> dict[str, int]:
        """How many values broke each rule (rules nobody broke are left out)."""
        counts = pd.Series(self.rule, dtype=object).value_counts(dropna=True)
        return {str(name): int(count) for name, count in counts.items()}

    def repaired_counts(self) -> dict[str, int]:
        """How many values received each repair; a value repaired twice counts for both."""
        out: dict[str, int] = {}
        counts = pd.Series(self.repair, dtype=object).value_counts(dropna=True)
        for names, count in counts.items():
            for name in str(names).split(REPAIR_SEPARATOR):
                out[name] = out.get(name, 0) + int(count)
        return out


# ---------------------------------------------------------------------------------------------
# shared machinery


@cache
def _repair_names() -> np.ndarray:
    """Object array: repair bit combination -> joined repair names (None for no repair)."""
    names = np.empty(1 << len(REPAIRS), dtype=object)
    for bits in range(len(names)):
        chosen = [name for name in REPAIRS if bits & _BIT[name]]
        names[bits] = REPAIR_SEPARATOR.join(chosen) if chosen else None
    return names


def _as_text(s: pa.Array | pa.ChunkedArray | pd.Series | np.ndarray | list) -> pa.Array:
    """A column as an Arrow string array without nulls (missing values become "").

    Raises:
        TypeError: the values are not text and cannot be cast to text.
    """
    if isinstance(s, pa.ChunkedArray):
        s = s.combine_chunks()
    if not isinstance(s, pa.Array):
        values = s.to_numpy(dtype=object) if isinstance(s, pd.Series) else np.asarray(s, object)
        try:
            s = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise TypeError(f"expected a column of text, got mixed values: {error}") from error
        if s.type == pa.null():
            s = s.cast(pa.string())
    if s.type != pa.string():
        try:
            s = pc.cast(s, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise TypeError(f"expected a column of text, got {s.type}") from error
    return pc.fill_null(s, "") if s.null_count else s


def _np(mask: pa.Array) -> np.ndarray:
    """An Arrow boolean array (no nulls) as a numpy bool array."""
    return mask.to_numpy(zero_copy_only=False)


def _put(text: pa.Array, rows: np.ndarray, values: list[str]) -> pa.Array:
    """``text`` with the given (ascending) rows replaced by ``values``."""
    mask = np.zeros(len(text), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array(values, type=text.type))


def _shorter(after: pa.Array, before: pa.Array) -> np.ndarray:
    """Bool mask: the repair made the string shorter (so it changed something)."""
    return _np(pc.less(pc.binary_length(after), pc.binary_length(before)))


def _byte_rows(text: pa.Array, table: np.ndarray) -> np.ndarray:
    """Rows (ascending) holding an ASCII character marked in ``table``, found on the bytes.

    In UTF-8 a byte below 0x80 is always an ASCII character (every byte of a longer character
    is 0x80 or above), so one pass over the column's data buffer finds them exactly. The
    marked characters are all among 0x00-0x20 and 0x7F: two comparisons find the candidate
    bytes, the table only sorts out the few of them.
    """
    data = text.buffers()[2]
    if len(text) == 0 or data is None:
        return np.empty(0, dtype=np.int64)
    wide_offsets = pa.types.is_large_string(text.type) or pa.types.is_large_binary(text.type)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64 if wide_offsets else np.int32)
    offsets = offsets[text.offset : text.offset + len(text) + 1]
    body = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    near = np.flatnonzero((body <= 0x20) | (body == 0x7F))
    at = near[table[body[near]]]
    return np.unique(np.searchsorted(offsets, at + offsets[0], side="right") - 1)


def _non_ascii_rows(text: pa.Array) -> np.ndarray:
    """Rows (ascending) holding a character outside ASCII."""
    return np.flatnonzero(~_np(pc.string_is_ascii(text)))


def _unusual_rows(text: pa.Array) -> np.ndarray:
    """Rows (ascending) that may need the control-character or full-width repair.

    C0 controls and DEL are found on the bytes; the other control, format and full-width
    characters with one regular expression over the non-ASCII rows only.
    """
    rows = _byte_rows(text, _C0_BYTES)
    other = _non_ascii_rows(text)
    if other.size:
        hit = _np(pc.match_substring_regex(text.take(pa.array(other)), _UNUSUAL))
        rows = np.union1d(rows, other[hit])
    return rows


def _rewrite(text: pa.Array, rows: np.ndarray, bits: np.ndarray, repair) -> pa.Array:
    """``text`` with only ``rows`` passed through ``repair(subset, subset_bits)``.

    Args:
        text: strings without nulls.
        rows: ascending rows that may need the repair (the others are left as they are).
        bits: per-row repair bits, updated in place.
        repair: function of (strings, their bits) returning the repaired strings.

    Returns:
        The strings, repaired where needed.
    """
    if not rows.size:
        return text
    local = np.zeros(rows.size, dtype=bits.dtype)
    fixed = repair(text.take(pa.array(rows)), local)
    bits[rows] |= local
    return _put(text, rows, fixed)


def _remove(text: pa.Array, bits: np.ndarray, pattern: str, repair: str) -> pa.Array:
    """``text`` without the characters the class ``pattern`` matches; rows that lost any are
    marked ``repair`` (meant for a column's few candidate rows, see ``_rewrite``)."""
    cleaned = pc.replace_substring_regex(text, pattern, "")
    bits[_shorter(cleaned, text)] |= _BIT[repair]
    return cleaned


def _trim(text: pa.Array, bits: np.ndarray) -> pa.Array:
    """``text`` without surrounding spaces (``_SPACES``), marking the "whitespace" repair."""
    trimmed = pc.utf8_trim(text, characters=_SPACES)
    bits[_shorter(trimmed, text)] |= _BIT["whitespace"]
    return trimmed


def _unhide(text: pa.Array, bits: np.ndarray) -> pa.Array:
    """Remove control characters (``_CONTROLS``), then the spaces they hid at the ends."""
    return _trim(_remove(text, bits, _CONTROLS, "control_characters"), bits)


def _narrow(text: pa.Array, bits: np.ndarray) -> pa.Array:
    """Full-width ASCII and ideographic spaces made half-width; only such rows reach Python."""
    wide = _np(pc.match_substring_regex(text, _WIDE))
    if not wide.any():
        return text
    narrow = halfwidth_series(pd.Series(text.filter(pa.array(wide)).to_pylist()))
    bits[wide] |= _BIT["fullwidth"]
    return _put(text, np.flatnonzero(wide), narrow.tolist())


def _normalise(
    text: pa.Array,
    bits: np.ndarray,
    *,
    squeeze: bool = False,
    upper: bool = False,
    halfwidth: bool = True,
) -> pa.Array:
    """Apply the control-character, whitespace, full-width and (optionally) case repairs.

    Every parser cleans its text here first, so each judges the cleaned value. Surrounding
    spaces are cut first, so an edge tab or byte-order mark stays a "whitespace" repair; a
    control character inside a value, or one that hid spaces behind it, is a
    "control_characters" repair. Both kinds of character are rare: only the rows holding one
    are rewritten.

    Args:
        text: strings without nulls.
        bits: per-row repair bits, updated in place.
        squeeze: also remove inner spaces, tabs and line breaks (identifiers, which never
            contain any).
        upper: upper-case ASCII letters (identifiers).
        halfwidth: make full-width ASCII half-width (``parse_enum`` judges width itself).

    Returns:
        The repaired strings.
    """

    def unusual(subset: pa.Array, local: np.ndarray) -> pa.Array:
        subset = _unhide(subset, local)
        return _narrow(subset, local) if halfwidth else subset

    text = _trim(text, bits)
    text = _rewrite(text, _unusual_rows(text), bits, unusual)
    if squeeze:
        rows = np.union1d(_byte_rows(text, _SPACE_BYTES), _non_ascii_rows(text))
        text = _rewrite(text, rows, bits, lambda t, b: _remove(t, b, _INNER_SPACES, "whitespace"))
    if upper:
        upper_text = pc.ascii_upper(text)
        bits[_np(pc.not_equal(upper_text, text))] |= _BIT["case"]
        text = upper_text
    return text


def _empty(text: pa.Array) -> np.ndarray:
    return _np(pc.equal(pc.binary_length(text), 0))


def _parsed(
    values: np.ndarray | pa.Array,
    rule: np.ndarray,
    bits: np.ndarray,
    index: np.ndarray | None = None,
) -> Parsed:
    """Assemble a ``Parsed`` from rule codes and repair bits, expanding distinct values by
    ``index`` when the column was parsed once per distinct value."""
    bits = np.where(rule == 0, bits, 0)
    if index is not None:
        values = values.take(pa.array(index)) if isinstance(values, pa.Array) else values[index]
        rule, bits = rule[index], bits[index]
    return Parsed(values=values, rule=_RULE_NAMES[rule], repair=_repair_names()[bits])


def _distinct(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct strings and, per row, the position of its string among them."""
    encoded = pc.dictionary_encode(text)
    return encoded.dictionary, encoded.indices.to_numpy()


def _int_field(parts: pa.StructArray, name: str, use: np.ndarray) -> np.ndarray:
    """An extracted digit group as int64; 0 where ``use`` is False or the group is empty."""
    field = parts.field(name)
    return pc.cast(pc.if_else(pa.array(use & ~_empty(field)), field, "0"), pa.int64()).to_numpy()


# ---------------------------------------------------------------------------------------------
# dates


def parse_dates(
    s: pa.Array | pd.Series,
    style: str | None = None,
    earliest: date | None = date(1949, 10, 1),
    latest: date | None = date(2026, 12, 31),
) -> Parsed:
    """Parse dates written in any of the departments' styles (``DATE_STYLES``).

    "2023-01-05", "2023/1/5", "20230105", "2023年1月5日", "2023.01.05" and the Excel serial
    "44931" all mean 5 January 2023. An 8-digit value is compact (YYYYMMDD); 1-5 digits,
    optionally negative, are an Excel serial. Month and day may be written with or without a
    leading zero in the separated styles.

    Args:
        s: the column's text.
        style: the source's declared style; a value in another style is accepted with the
            repair "date_style". None: no style declared, so no such repair.
        earliest: first plausible date (default: the founding of the PRC); None for no bound.
        latest: last plausible date; None for no bound.

    Returns:
        ``Parsed`` with datetime64[D] values. Rules: "date_unparseable" (no style matches),
        "date_impossible" (no such calendar date, or an Excel serial <= 0),
        "date_out_of_range" (before ``earliest`` or after ``latest``). Repairs: "whitespace",
        "fullwidth", "date_style".

    Raises:
        ValueError: ``style`` is not one of ``DATE_STYLES``.
    """
    if style is not None and style not in DATE_STYLES:
        raise ValueError(f"unknown date style {style!r}; expected one of {DATE_STYLES}")
    distinct, index = _distinct(_as_text(s))
    values, rule, bits = _dates_of(distinct, style, earliest, latest)
    return _parsed(values, rule, bits, index)


def _dates_of(
    text: pa.Array, style: str | None, earliest: date | None, latest: date | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates, rule codes and repair bits of (distinct) date strings."""
    n = len(text)
    bits = np.zeros(n, dtype=np.int32)
    text = _normalise(text, bits)
    empty = _empty(text)
    parts = pc.extract_regex(text, _DATE_PATTERN)
    matched = _np(parts.is_valid())

    separators = pc.binary_join_element_wise(
        parts.field("s1"), parts.field("s2"), parts.field("s3"), ""
    )
    known = pa.array(list(_SEPARATOR_STYLES))
    styles = np.array([DATE_STYLES.index(v) for v in _SEPARATOR_STYLES.values()])
    found = pc.fill_null(pc.index_in(separators, value_set=known), -1).to_numpy()
    is_compact = matched & ~_empty(parts.field("cy"))
    is_excel = matched & ~_empty(parts.field("serial"))
    is_ymd = matched & (found >= 0) & ~is_compact & ~is_excel
    style_of = np.full(n, -1)
    style_of[is_ymd] = styles[found[is_ymd]]
    style_of[is_compact] = DATE_STYLES.index("compact")
    style_of[is_excel] = DATE_STYLES.index("excel")

    calendar = is_ymd | is_compact
    year = _int_field(parts, "y", is_ymd) + _int_field(parts, "cy", is_compact)
    month = _int_field(parts, "m", is_ymd) + _int_field(parts, "cm", is_compact)
    day = _int_field(parts, "d", is_ymd) + _int_field(parts, "cd", is_compact)
    serial = _int_field(parts, "serial", is_excel)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    real = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
    impossible = (calendar & ~real) | (is_excel & (serial <= 0))

    days = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    rows = calendar & real
    months = ((year[rows] - 1970) * 12 + month[rows] - 1).astype("datetime64[M]")
    days[rows] = months.astype("datetime64[D]") + (day[rows] - 1).astype("timedelta64[D]")
    rows = is_excel & ~impossible
    days[rows] = from_excel_serial(serial[rows])

    out_of_range = np.zeros(n, dtype=bool)
    if earliest is not None:
        out_of_range |= days < np.datetime64(earliest, "D")
    if latest is not None:
        out_of_range |= days > np.datetime64(latest, "D")
    out_of_range &= ~np.isnat(days)

    rule = np.zeros(n, dtype=np.uint8)
    rule[~empty & (style_of < 0)] = _RULE["date_unparseable"]
    rule[impossible] = _RULE["date_impossible"]
    rule[out_of_range] = _RULE["date_out_of_range"]
    days[rule > 0] = np.datetime64("NaT")
    if style is not None:
        bits[(style_of >= 0) & (style_of != DATE_STYLES.index(style))] |= _BIT["date_style"]
    return days, rule, bits


# ---------------------------------------------------------------------------------------------
# numbers


def parse_amounts(s: pa.Array | pd.Series, unit: str) -> Parsed:
    """Parse money amounts into yuan (float64).

    Plain numbers are in the column's declared unit; a value that says its own unit ("12.5万",
    "12.5万元", "1234元") is read in that unit whatever the column's. Up to eight decimals;
    万元 are shifted to yuan on the digits, so "56.8" in a 万元 column is exactly 568000.0.

    Args:
        s: the column's text.
        unit: the column's declared unit, "yuan" (元) or "wan" (万元).

    Returns:
        ``Parsed`` with float64 yuan. Rules: "amount_unparseable", "amount_negative" (a
        well-formed amount below zero). Repairs: "whitespace", "fullwidth",
        "thousands_separator", "wan_text", "yuan_text", and "wan_to_yuan" for every value of a
        万元 column converted to yuan (all but those written "…元").

    Raises:
        ValueError: ``unit`` is not one of ``AMOUNT_UNITS``.
    """
    if unit not in AMOUNT_UNITS:
        raise ValueError(f"unknown amount unit {unit!r}; expected one of {AMOUNT_UNITS}")
    text = _as_text(s)
    n = len(text)
    bits = np.zeros(n, dtype=np.int32)
    text = _normalise(text, bits)
    empty = _empty(text)
    matched = _np(pc.match_substring_regex(text, _AMOUNT_PATTERN))
    # Most amounts are plain digits with perhaps a decimal point; only the others (a sign,
    # separators, a unit) are taken apart, which is much slower than matching.
    odd = matched & ~_np(pc.string_is_ascii(text))
    odd |= matched & _np(pc.or_(pc.match_substring(text, ","), pc.starts_with(text, "-")))
    odd_rows = np.flatnonzero(odd)
    grouped, minus, wan_text, yuan_text = (np.zeros(n, dtype=bool) for _ in range(4))
    number = text
    if odd_rows.size:
        parts = pc.extract_regex(text.take(pa.array(odd_rows)), _AMOUNT_PATTERN)
        whole, frac, suffix = parts.field("whole"), parts.field("frac"), parts.field("unit")
        grouped[odd_rows] = _np(pc.match_substring(whole, ","))
        minus[odd_rows] = _np(pc.equal(parts.field("sign"), "-"))
        wan_text[odd_rows] = _np(pc.starts_with(suffix, "万"))
        yuan_text[odd_rows] = _np(pc.equal(suffix, "元"))
        whole = pc.replace_substring(whole, ",", "")
        dotted = pc.binary_join_element_wise(whole, frac, ".")
        number = _put(number, odd_rows, pc.if_else(pc.equal(frac, ""), whole, dotted))
    number = pc.if_else(pa.array(matched), number, "0")
    amounts = pc.cast(number, pa.float64()).to_numpy().copy()
    point = pc.find_substring(number, ".").to_numpy()
    decimals = np.where(point >= 0, pc.utf8_length(number).to_numpy() - point - 1, 0)
    # 万元 to yuan on the decimal digits: with at most four decimals the yuan are whole, and
    # rint recovers them exactly ("56.8" -> 568000.0, never 567999.99999999994).
    in_wan = matched & (wan_text | ((unit == "wan") & ~yuan_text))
    whole_yuan = in_wan & (decimals <= 4)
    amounts[whole_yuan] = np.rint(amounts[whole_yuan] * 1e4)
    fine = in_wan & (decimals > 4)
    scale = 10.0 ** decimals[fine]
    amounts[fine] = np.rint(amounts[fine] * scale) / (scale / 1e4)
    negative = minus & (amounts > 0)

    rule = np.zeros(n, dtype=np.uint8)
    rule[~empty & ~matched] = _RULE["amount_unparseable"]
    rule[negative] = _RULE["amount_negative"]
    amounts = np.where(matched & (rule == 0), np.abs(amounts), np.nan)  # "-0" is 0.0
    bits[grouped] |= _BIT["thousands_separator"]
    bits[wan_text] |= _BIT["wan_text"]
    bits[yuan_text] |= _BIT["yuan_text"]
    if unit == "wan":
        bits[matched & ~yuan_text] |= _BIT["wan_to_yuan"]
    return _parsed(amounts, rule, bits)


def parse_integers(
    s: pa.Array | pd.Series, minimum: int | None = 0, maximum: int | None = None
) -> Parsed:
    """Parse whole numbers (counts such as employees or inspections) into int64.

    Args:
        s: the column's text.
        minimum: smallest allowed value (inclusive); None for no bound.
        maximum: largest allowed value (inclusive); None for no bound.

    Returns:
        ``Parsed`` with an Arrow int64 array (null where missing or invalid). Rules:
        "integer_unparseable", "integer_out_of_range" (outside the bounds, or more than 18
        digits). Repairs: "whitespace", "fullwidth", "thousands_separator".
    """
    text = _as_text(s)
    n = len(text)
    bits = np.zeros(n, dtype=np.int32)
    text = _normalise(text, bits)
    empty = _empty(text)
    matched = _np(pc.match_substring_regex(text, _INTEGER_PATTERN))
    grouped = matched & _np(pc.match_substring(text, ","))
    number = pc.if_else(pa.array(matched), text, "0")
    if grouped.any():
        number = pc.replace_substring(number, ",", "")
    number = pc.utf8_ltrim(number, "+")
    long_rows = np.flatnonzero(_np(pc.greater(pc.utf8_length(number), _MAX_INTEGER_DIGITS)))
    too_long = np.zeros(n, dtype=bool)
    if long_rows.size:  # leading zeros do not count
        digits = pc.utf8_ltrim(pc.utf8_ltrim(number.take(pa.array(long_rows)), "-"), "0")
        too_long[long_rows] = _np(pc.greater(pc.utf8_length(digits), _MAX_INTEGER_DIGITS))
        number = pc.if_else(pa.array(too_long), "0", number)
    use = matched & ~too_long
    numbers = pc.cast(number, pa.int64()).to_numpy()

    outside = too_long.copy()
    if minimum is not None:
        outside |= use & (numbers < minimum)
    if maximum is not None:
        outside |= use & (numbers > maximum)
    rule = np.zeros(n, dtype=np.uint8)
    rule[~empty & ~matched] = _RULE["integer_unparseable"]
    rule[outside] = _RULE["integer_out_of_range"]
    bits[grouped] |= _BIT["thousands_separator"]
    values = pa.array(numbers, mask=empty | (rule > 0), type=pa.int64())
    return _parsed(values, rule, bits)


# ---------------------------------------------------------------------------------------------
# text and enumerations


def clean_text(s: pa.Array | pd.Series) -> Parsed:
    """Free text (names, addresses): full-width ASCII made half-width, surrounding spaces cut.

    Inner spaces and everything else are left alone (matching names is ``normalise_names``'s
    job). Never breaks a rule.

    Returns:
        ``Parsed`` with an Arrow string array (null where empty). Repairs: "whitespace",
        "fullwidth".
    """
    text = _as_text(s)
    bits = np.zeros(len(text), dtype=np.int32)
    text = _normalise(text, bits)
    values = pc.if_else(pa.array(_empty(text)), pa.scalar(None, text.type), text)
    return _parsed(values, np.zeros(len(text), dtype=np.uint8), bits)


def parse_enum(
    s: pa.Array | pd.Series,
    allowed: Collection[str],
    aliases: Mapping[str, str] | None = None,
) -> Parsed:
    """Check values against an allowed set, mapping known aliases onto it.

    Values are compared after trimming spaces and with ASCII width ignored, so "（个体）" and
    "(个体)" both match whichever of the two is allowed, and come back spelled as allowed.

    Args:
        s: the column's text.
        allowed: the allowed values, spelled as they should come out.
        aliases: other spellings -> the allowed value each stands for.

    Returns:
        ``Parsed`` with an Arrow string array of allowed values. Rule: "value_not_allowed".
        Repairs: "whitespace", "fullwidth" (width differed from the allowed spelling), "alias".

    Raises:
        ValueError: nothing is allowed, an alias maps to a value that is not allowed, an alias
            is itself allowed, or two allowed values or aliases differ only in width.
    """
    allowed = list(dict.fromkeys(allowed))
    if not allowed:
        raise ValueError("allowed must hold at least one value")
    aliases = dict(aliases or {})
    unknown = sorted(set(aliases.values()) - set(allowed))
    if unknown:
        raise ValueError(f"aliases map to values that are not allowed: {unknown}")
    clash = sorted(set(aliases) & set(allowed))
    if clash:
        raise ValueError(f"aliases must not be allowed values themselves: {clash}")
    spellings = [*allowed, *aliases]
    keys = _normalise(pa.array(spellings, type=pa.string()), np.zeros(len(spellings), np.int32))
    keys = keys.to_pylist()  # spelled as _normalise spells the input
    if len(set(keys)) < len(keys):
        raise ValueError("allowed values and aliases must differ in more than character width")
    targets = pa.array([*allowed, *aliases.values()], type=pa.string())
    is_alias = np.arange(len(spellings)) >= len(allowed)

    distinct, index = _distinct(_as_text(s))
    bits = np.zeros(len(distinct), dtype=np.int32)
    trimmed = _normalise(distinct, np.zeros(len(distinct), dtype=np.int32), halfwidth=False)
    text = _normalise(distinct, bits)
    bits &= ~_BIT["fullwidth"]  # width is judged against the matched spelling instead
    position = pc.index_in(text, value_set=pa.array(keys, type=pa.string()))
    found = _np(position.is_valid())
    at = pc.fill_null(position, 0)
    values = pc.if_else(pa.array(found), targets.take(at), pa.scalar(None, pa.string()))
    spelled = pa.array(spellings, type=pa.string()).take(at)
    bits[found & _np(pc.not_equal(spelled, trimmed))] |= _BIT["fullwidth"]
    bits[found & is_alias[at.to_numpy()]] |= _BIT["alias"]
    rule = np.where(~found & ~_empty(text), _RULE["value_not_allowed"], 0).astype(np.uint8)
    return _parsed(values, rule, bits, index)


# ---------------------------------------------------------------------------------------------
# identifiers


def _series(text: pa.Array) -> pd.Series:
    """Arrow strings as the object Series the domain's ``valid_*_mask`` functions take."""
    return pd.Series(text.to_numpy(zero_copy_only=False), dtype=object, copy=False)


def _identifiers(text: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Normalised identifiers, their repair bits and which rows are empty."""
    bits = np.zeros(len(text), dtype=np.int32)
    text = _normalise(text, bits, squeeze=True, upper=True)
    return text, bits, _empty(text)


def _rule_rows(
    text: pa.Array, rows: np.ndarray, pattern: str, rule: np.ndarray, fmt: str, check: str
) -> None:
    """Set rules on invalid ``rows``: ``fmt`` where ``pattern`` does not match, else ``check``."""
    if rows.size:
        well_formed = _np(pc.match_substring_regex(text.take(pa.array(rows)), pattern))
        rule[rows] = np.where(well_formed, _RULE[check], _RULE[fmt])


def _keep(text: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), text, pa.scalar(None, text.type))


def parse_credit_codes(s: pa.Array | pd.Series) -> Parsed:
    """Parse unified social credit codes (统一社会信用代码, 18 characters).

    Returns:
        ``Parsed`` with an Arrow string array of valid codes. Rules: "credit_code_format"
        (wrong length, or a character not allowed at its position), "credit_code_check" (the
        GB 32100 check character, or the embedded organisation code's, is wrong). Repairs:
        "whitespace", "fullwidth", "case".
    """
    text, bits, empty = _identifiers(_as_text(s))
    valid = valid_uscc_mask(_series(text))
    rule = np.zeros(len(text), dtype=np.uint8)
    bad = np.flatnonzero(~valid & ~empty)
    _rule_rows(text, bad, _USCC_FORMAT, rule, "credit_code_format", "credit_code_check")
    return _parsed(_keep(text, valid), rule, bits)


def parse_registration_numbers(s: pa.Array | pd.Series) -> Parsed:
    """Parse a registration-number column: old 15-digit numbers (注册号) or credit codes.

    Enterprises registered since the 2015 reform have no old number, so the column holds their
    18-character credit code; such values are validated as credit codes. ``key_kind`` tells the
    two apart in the returned values.

    Returns:
        ``Parsed`` with an Arrow string array of valid keys. Rules:
        "registration_number_format", "registration_number_check" (MOD 11,10 check digit), and
        for 18-character values "credit_code_format", "credit_code_check". Repairs:
        "whitespace", "fullwidth", "case".
    """
    text, bits, empty = _identifiers(_as_text(s))
    length = pc.utf8_length(text).to_numpy()
    credit = np.flatnonzero(length == _USCC_LENGTH)
    other = np.flatnonzero((length != _USCC_LENGTH) & ~empty)
    valid = np.zeros(len(text), dtype=bool)
    if credit.size:
        valid[credit] = valid_uscc_mask(_series(text.take(pa.array(credit))))
    if other.size:
        valid[other] = valid_regno_mask(_series(text.take(pa.array(other))))
    rule = np.zeros(len(text), dtype=np.uint8)
    _rule_rows(
        text, credit[~valid[credit]], _USCC_FORMAT, rule, "credit_code_format", "credit_code_check"
    )
    _rule_rows(
        text,
        other[~valid[other]],
        _REGNO_FORMAT,
        rule,
        "registration_number_format",
        "registration_number_check",
    )
    return _parsed(_keep(text, valid), rule, bits)


def parse_organisation_codes(s: pa.Array | pd.Series) -> Parsed:
    """Parse organisation codes (组织机构代码), written "XXXXXXXX-X" or "XXXXXXXXX".

    Returns:
        ``Parsed`` with an Arrow string array of valid codes, always "XXXXXXXXX" (the hyphen
        is a way of writing the code, not a repair). Rules: "organisation_code_format",
        "organisation_code_check" (GB 11714 check character). Repairs: "whitespace",
        "fullwidth", "case".
    """
    text, bits, empty = _identifiers(_as_text(s))
    text = pc.replace_substring_regex(text, _ORG_HYPHEN, r"\1\2")
    valid = valid_org_code_mask(_series(text))
    rule = np.zeros(len(text), dtype=np.uint8)
    bad = np.flatnonzero(~valid & ~empty)
    _rule_rows(text, bad, _ORG_FORMAT, rule, "organisation_code_format", "organisation_code_check")
    return _parsed(_keep(text, valid), rule, bits)


def key_kind(values: pa.Array | pd.Series | np.ndarray) -> np.ndarray:
    """Kind of each parsed key: "credit_code" (18 characters), "registration_number" (15),
    "organisation_code" (9), None where missing or another length.

    Meant for the values of ``parse_registration_numbers``, where both kinds share a column.
    """
    length = pc.fill_null(pc.utf8_length(_as_text(values)), 0).to_numpy()
    kinds = np.full(len(length), None, dtype=object)
    kinds[length == _USCC_LENGTH] = "credit_code"
    kinds[length == _REGNO_LENGTH] = "registration_number"
    kinds[length == 9] = "organisation_code"
    return kinds
