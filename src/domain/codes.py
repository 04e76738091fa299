"""Chinese enterprise and person identifiers: check characters, generation and validation.

Four identifiers appear in market-supervision records:

- the unified social credit code (统一社会信用代码, GB 32100-2015), 18 characters:
  pos 1 registration authority, pos 2 organisation type, pos 3-8 administrative division,
  pos 9-17 the organisation code (GB 11714: 8-character body + its own check character),
  pos 18 the GB 32100 check character over positions 1-17;
- the organisation code (组织机构代码, GB 11714-1997), written "XXXXXXXX-Y" or "XXXXXXXXY";
- the old 15-digit enterprise registration number (注册号, GS15-2006): division code,
  8 digits, and an ISO 7064 MOD 11,10 check digit;
- the resident ID number (居民身份证号码, GB 11643-1999): division, birth date, sequence
  (odd last digit for men, even for women) and an ISO 7064 MOD 11-2 check character.

Scalar functions serve single values and tests; the ``make_*`` functions generate millions of
valid codes for the simulator with numpy; the ``valid_*_mask`` functions check pandas Series
of strings on a fixed-width code-point view, so validation never loops in Python per row. A
mask is True exactly where the scalar ``is_valid_*`` is: for a string of the right length
whose every character is allowed where it stands, a NUL or any other control character
included (the fixed-width view pads with NUL, so each string's true length is checked too).
"""

from __future__ import annotations

import operator
from types import MappingProxyType

import numpy as np
import pandas as pd

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters allowed in a credit code (GB 32100-2015): no I, O, S, V, Z."""

USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights 3**(i-1) mod 31 for positions 1..17 of a credit code."""

ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
"""GB 11714 weights for the 8-character organisation-code body."""

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
"""ISO 7064 MOD 11-2 weights 2**(18-i) mod 11 for the 17 digits of a resident ID."""

RESIDENT_ID_CHECK_CHARS = "10X98765432"
"""Resident ID check character indexed by the weighted sum mod 11."""

REGISTRATION_AUTHORITIES = "123456789ANY"
"""Position-1 codes: 1 机构编制, 5 民政, 9 市场监管 (工商), A 军队, N 农业, Y 其他, ..."""

ORG_TYPES = MappingProxyType({"1": "企业", "2": "个体工商户", "3": "农民专业合作社", "9": "其他"})
"""Position-2 codes used under market regulation ('9'); other authorities also use 1/2/3/9."""

MA_SHARE = 0.30
"""Share of generated organisation bodies that start with "MA", as codes issued since 2015 do."""

_ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_ORG_CHECK_CHARS = "?123456789X0"  # index c = 11 - (sum mod 11), c in 1..11
_MAX_ROUNDS = 50  # redraw rounds for duplicates; each round leaves very few behind


def _table(chars: str) -> np.ndarray:
    """Lookup from code point (0..255) to a character's index in ``chars``, else -1.

    Validation clips code points to 255 (never a valid character) before looking them up.
    """
    table = np.full(256, -1, dtype=np.int16)
    for value, ch in enumerate(chars):
        table[ord(ch)] = value
    return table


_USCC_VALUE = _table(USCC_CHARSET)  # charset index, the value GB 32100 weighs
_ORG_VALUE = _table(_ALNUM36)  # GB 11714 value: 0-9 -> 0-9, A-Z -> 10-35
_DIGIT_VALUE = _table(_DIGITS)
_RID_CHECK_VALUE = _table(RESIDENT_ID_CHECK_CHARS)  # check char -> weighted sum mod 11

_USCC_BYTES = np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)
_ORG_CHECK_BYTES = np.frombuffer(_ORG_CHECK_CHARS.encode(), dtype=np.uint8)
_RID_CHECK_BYTES = np.frombuffer(RESIDENT_ID_CHECK_CHARS.encode(), dtype=np.uint8)
_USCC_W = np.array(USCC_WEIGHTS, dtype=np.int64)
_ORG_W = np.array(ORG_CODE_WEIGHTS, dtype=np.int64)
_RID_W = np.array(RESIDENT_ID_WEIGHTS, dtype=np.int64)
# GB 11714 value of each credit-code character (J is 19 in GB 11714, 18 in GB 32100).
_USCC_IDX_TO_ORG_VALUE = np.array([int(c, 36) for c in USCC_CHARSET], dtype=np.int64)
_USCC_LETTER_START = 10  # indices 10..30 of USCC_CHARSET are letters


# ---------------------------------------------------------------------------------------------
# scalar check characters


def _values(body: str, length: int, alphabet: str, what: str) -> list[int]:
    """Validate ``body`` and return each character's index in ``alphabet``.

    Raises:
        TypeError: ``body`` is not a str.
        ValueError: wrong length, or a character outside ``alphabet`` (named with position).
    """
    if not isinstance(body, str):
        raise TypeError(f"{what} must be a str, got {type(body).__name__}")
    if len(body) != length:
        raise ValueError(f"{what} must have {length} characters, got {len(body)}: {body!r}")
    values = []
    for pos, ch in enumerate(body, start=1):
        value = alphabet.find(ch)
        if value < 0:
            raise ValueError(f"invalid character {ch!r} at position {pos} of {what} {body!r}")
        values.append(value)
    return values


def uscc_check_char(body17: str) -> str:
    """GB 32100 check character (position 18) of a credit code's first 17 characters.

    Raises:
        ValueError: not 17 characters, or a character outside ``USCC_CHARSET``.
    """
    values = _values(body17, 17, USCC_CHARSET, "credit-code body")
    total = sum(v * w for v, w in zip(values, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation-code body (0-9, A-Z).

    Raises:
        ValueError: not 8 characters, or a character outside 0-9A-Z.
    """
    values = _values(body8, 8, _ALNUM36, "organisation-code body")
    total = sum(v * w for v, w in zip(values, ORG_CODE_WEIGHTS, strict=True))
    return _ORG_CHECK_CHARS[11 - total % 11]


def regno_check_digit(body14: str) -> str:
    """ISO 7064 MOD 11,10 check digit of the first 14 digits of a 15-digit registration number.

    Raises:
        ValueError: not 14 characters, or a non-digit.
    """
    p = 10
    for d in _values(body14, 14, _DIGITS, "registration-number body"):
        s = (p + d) % 10 or 10
        p = (2 * s) % 11
    return str((11 - p) % 10)


def resident_id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') of a resident ID's first 17 digits.

    Raises:
        ValueError: not 17 characters, or a non-digit.
    """
    values = _values(body17, 17, _DIGITS, "resident-ID body")
    total = sum(v * w for v, w in zip(values, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK_CHARS[total % 11]


# ---------------------------------------------------------------------------------------------
# scalar validation (never raises: anything malformed is simply invalid)


def is_valid_uscc(code: object) -> bool:
    """Whether ``code`` is a well-formed credit code with both check characters right.

    Checks: 18 characters from ``USCC_CHARSET``; position 1 in ``REGISTRATION_AUTHORITIES``;
    position 2 in ``ORG_TYPES``; positions 3-8 digits; the embedded organisation code's GB 11714
    check character (position 17); the GB 32100 check character (position 18). Strict: no
    surrounding spaces, lower case or full-width characters (normalise first if wanted).
    """
    if not isinstance(code, str) or len(code) != 18 or not all(c in USCC_CHARSET for c in code):
        return False
    if code[0] not in REGISTRATION_AUTHORITIES or code[1] not in ORG_TYPES:
        return False
    if not all(c in _DIGITS for c in code[2:8]):
        return False
    return code[16] == org_code_check_char(code[8:16]) and code[17] == uscc_check_char(code[:17])


def is_valid_org_code(code: object) -> bool:
    """Whether ``code`` is a GB 11714 organisation code, as "XXXXXXXX-Y" or "XXXXXXXXY"."""
    if not isinstance(code, str):
        return False
    if len(code) == 10 and code[8] == "-":
        code = code[:8] + code[9]
    if len(code) != 9 or not all(c in _ALNUM36 for c in code[:8]):
        return False
    return code[8] == org_code_check_char(code[:8])


def is_valid_regno(code: object) -> bool:
    """Whether ``code`` is 15 ASCII digits whose last digit is the MOD 11,10 check digit."""
    if not isinstance(code, str) or len(code) != 15 or not all(c in _DIGITS for c in code):
        return False
    return code[14] == regno_check_digit(code[:14])


def is_valid_resident_id(code: object) -> bool:
    """Whether ``code`` is an 18-character resident ID with a real birth date and right check.

    The birth date (positions 7-14) must be a calendar date in 1800-2099; the check character
    must be upper-case 'X' when it is ten.
    """
    if not isinstance(code, str) or len(code) != 18 or not all(c in _DIGITS for c in code[:17]):
        return False
    if not _is_birth_date(int(code[6:10]), int(code[10:12]), int(code[12:14])):
        return False
    return code[17] == resident_id_check_char(code[:17])


def _is_birth_date(year: int, month: int, day: int) -> bool:
    """Whether year/month/day is a calendar date with 1800 <= year <= 2099."""
    if not (1800 <= year <= 2099 and 1 <= month <= 12 and day >= 1):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def org_code_of_uscc(code: str) -> str:
    """The 9-character organisation code (positions 9-17) embedded in a credit code.

    Raises:
        ValueError: ``code`` is not 18 characters long.
    """
    if not isinstance(code, str) or len(code) != 18:
        raise ValueError(f"a credit code has 18 characters, got {code!r}")
    return code[8:17]


# ---------------------------------------------------------------------------------------------
# vectorised generation


def _division_digits(division_codes: np.ndarray | str | int, n: int | None = None) -> np.ndarray:
    """Six-digit division codes (str or int, scalar or array) as an (n, 6) int64 digit matrix.

    Raises:
        ValueError: a code is not exactly six digits.
    """
    codes = np.asarray(division_codes)
    if n is not None:
        codes = np.broadcast_to(codes, (n,))
    if codes.ndim != 1:
        raise ValueError(f"division_codes must be one-dimensional, got shape {codes.shape}")
    if codes.dtype.kind in "iu":
        ints = codes.astype(np.int64)
        if ints.size and (ints.min() < 100000 or ints.max() > 999999):
            raise ValueError("division_codes must be six-digit integers (100000..999999)")
        return (ints[:, None] // 10 ** np.arange(5, -1, -1, dtype=np.int64)) % 10
    points = _code_points(codes.astype(str), 7)
    digits = points[:, :6].astype(np.int64) - ord("0")
    ok = (points[:, 6] == 0) & ((digits >= 0) & (digits <= 9)).all(axis=1)
    if not ok.all():
        bad = codes[np.flatnonzero(~ok)[0]]
        raise ValueError(f"division_codes must be six digits, got {bad!r}")
    return digits


def _code_points(strings: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint32 code points of a str array; longer strings are cut at ``width``.

    Shorter strings are padded with NUL, so trailing NULs of a string are lost: lengths come
    from ``_lengths``.
    """
    fixed = np.ascontiguousarray(strings, dtype=f"U{width}")
    return fixed.view(np.uint32).reshape(len(fixed), width)


def _single_chars(values: np.ndarray | str, n: int, allowed: str, what: str) -> np.ndarray:
    """Broadcast single-character codes to length n and return their code points (uint8).

    Raises:
        ValueError: a value is not one character of ``allowed``.
    """
    arr = np.broadcast_to(np.asarray(values), (n,))
    points = _code_points(arr.astype(str), 2)
    ok = (points[:, 1] == 0) & np.isin(points[:, 0], [ord(c) for c in allowed])
    if not ok.all():
        bad = arr[np.flatnonzero(~ok)[0]]
        raise ValueError(f"{what} must be one of {sorted(allowed)}, got {bad!r}")
    return points[:, 0].astype(np.uint8)


def _to_objects(chars: np.ndarray) -> np.ndarray:
    """(n, width) matrix of ASCII code points -> object array of Python str.

    Viewing uint32 code points as a fixed-width unicode array costs nothing; only the final
    conversion to Python objects touches every row.
    """
    width = chars.shape[1]
    fixed = np.ascontiguousarray(chars, dtype=np.uint32).view(f"U{width}").ravel()
    return fixed.astype(object)


def _redraw_duplicates(keys: np.ndarray, redraw, what: str, strict: bool = True) -> None:
    """Redraw rows whose int64 key repeats an earlier row until all keys are unique.

    ``redraw(rows)`` regenerates the given rows in place and returns their new keys. After
    ``_MAX_ROUNDS`` rounds a strict call raises; a lenient one keeps the leftover duplicates.
    """
    for _ in range(_MAX_ROUNDS):
        dup = np.flatnonzero(pd.Series(keys).duplicated().to_numpy())
        if dup.size == 0:
            return
        keys[dup] = redraw(dup)
    if strict:
        raise RuntimeError(f"could not draw unique {what} in {_MAX_ROUNDS} rounds")


# One uint16 draw per body character: 1890 of 2100 outcomes are digits (p = 0.9, each digit
# equally likely), the other 210 the 21 letters of the charset (ten outcomes each).
_OLD_STYLE_CHAR = np.concatenate(
    [np.arange(1890) % 10, _USCC_LETTER_START + np.arange(210) % 21]
).astype(np.uint8)
_MA = (USCC_CHARSET.index("M"), USCC_CHARSET.index("A"))


def _draw_org_bodies(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 8) uint8 credit-code charset indices of organisation bodies.

    ``MA_SHARE`` of rows are "MA" + six characters uniform over the charset (post-2015 style);
    the rest are mostly digits (each position a letter with probability 0.1), like older codes.
    """
    body = _OLD_STYLE_CHAR[rng.integers(0, len(_OLD_STYLE_CHAR), size=(n, 8), dtype=np.uint16)]
    ma = np.flatnonzero(rng.random(n) < MA_SHARE)
    body[ma, :2] = _MA
    body[ma, 2:] = rng.integers(0, 31, size=(len(ma), 6), dtype=np.uint8)
    return body


def make_usccs(
    rng: np.random.Generator,
    division_codes: np.ndarray | str | int,
    org_type: np.ndarray | str,
    registration_authority: str = "9",
) -> np.ndarray:
    """Generate valid credit codes, one per division code, with unique organisation codes.

    Args:
        rng: the random generator (the only source of randomness).
        division_codes: six-digit division codes (str or int), one per code to make.
        org_type: organisation-type code per row ("1" enterprise, "2" individual business,
            "3" farmers' cooperative, "9" other), or one code for all rows.
        registration_authority: position-1 code, "9" for market regulation.

    Returns:
        Object array of 18-character str. Organisation bodies are unique within the call
        (duplicates are redrawn), so the codes are unique too; uniqueness across calls is only
        highly probable.

    Raises:
        ValueError: a division code, organisation type or authority is malformed.
    """
    div = _division_digits(division_codes)
    n = len(div)
    if not (isinstance(registration_authority, str) and len(registration_authority) == 1) or (
        registration_authority not in REGISTRATION_AUTHORITIES
    ):
        raise ValueError(
            f"registration_authority must be one of {list(REGISTRATION_AUTHORITIES)}, "
            f"got {registration_authority!r}"
        )
    types = _single_chars(org_type, n, "".join(ORG_TYPES), "org_type")

    body = _draw_org_bodies(rng, n)
    place = 31 ** np.arange(8, dtype=np.int64)

    def redraw(rows: np.ndarray) -> np.ndarray:
        body[rows] = _draw_org_bodies(rng, len(rows))
        return body[rows].astype(np.int64) @ place

    _redraw_duplicates(body.astype(np.int64) @ place, redraw, "organisation codes")

    org_check = 11 - (_USCC_IDX_TO_ORG_VALUE[body] @ _ORG_W) % 11  # 1..11
    org_check_idx = _USCC_VALUE[_ORG_CHECK_BYTES[org_check]].astype(np.int64)
    values = np.empty((n, 17), dtype=np.int64)
    values[:, 0] = USCC_CHARSET.index(registration_authority)
    values[:, 1] = _USCC_VALUE[types]
    values[:, 2:8] = div
    values[:, 8:16] = body
    values[:, 16] = org_check_idx
    check = (31 - (values @ _USCC_W) % 31) % 31

    chars = np.empty((n, 18), dtype=np.uint32)
    chars[:, :17] = _USCC_BYTES[values]
    chars[:, 17] = _USCC_BYTES[check]
    return _to_objects(chars)


# ISO 7064 MOD 11,10 as a state machine: the next state p (1..10) after digit d is
# _MOD11_10_NEXT[10 * p + d]; the check digit is (11 - p) % 10 of the final state.
_MOD11_10_NEXT = np.array(
    [(2 * ((p + d) % 10 or 10)) % 11 for p in range(11) for d in range(10)], dtype=np.uint8
)


def _mod11_10(digits: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11,10 check digits of an (n, k) matrix of digits 0-9, one column at a time.

    Each step is one lookup in a small state table, so a column costs a single gather.
    """
    p = np.full(len(digits), 10, dtype=np.uint8)
    for j in range(digits.shape[1]):
        p = _MOD11_10_NEXT[10 * p.astype(np.intp) + digits[:, j]]
    return (11 - p.astype(np.int64)) % 10


def make_regnos(rng: np.random.Generator, division_codes: np.ndarray | str | int) -> np.ndarray:
    """Generate valid, mutually unique 15-digit registration numbers, one per division code.

    Layout: division code (6) + 8 random digits + MOD 11,10 check digit.

    Raises:
        ValueError: a division code is malformed.
    """
    div = _division_digits(division_codes)
    n = len(div)
    digits = np.empty((n, 14), dtype=np.int64)
    digits[:, :6] = div
    digits[:, 6:] = rng.integers(0, 10, size=(n, 8), dtype=np.int64)
    place = 10 ** np.arange(13, -1, -1, dtype=np.int64)

    def redraw(rows: np.ndarray) -> np.ndarray:
        digits[rows, 6:] = rng.integers(0, 10, size=(len(rows), 8), dtype=np.int64)
        return digits[rows] @ place

    _redraw_duplicates(digits @ place, redraw, "registration numbers")
    chars = np.empty((n, 15), dtype=np.uint32)
    chars[:, :14] = digits + ord("0")
    chars[:, 14] = _mod11_10(digits) + ord("0")
    return _to_objects(chars)


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day integer arrays of a datetime64[D] array."""
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def make_resident_ids(
    rng: np.random.Generator,
    n: int,
    division_codes: np.ndarray | str | int,
    birth_dates: np.ndarray,
    female: np.ndarray | bool,
) -> np.ndarray:
    """Generate valid resident ID numbers for n people.

    Layout: division (6) + birth date yyyymmdd (8) + sequence (3, last digit odd for men, even
    for women) + MOD 11-2 check. Each argument may be one value for all or an array of length n.
    Duplicates are redrawn, but only 500 sequences exist per division, date and sex, so an
    impossible request keeps its leftover duplicates rather than failing.

    Raises:
        ValueError: a division code is malformed, or a birth date is NaT or outside 1800-2099.
    """
    div = _division_digits(division_codes, n)
    dates = np.broadcast_to(np.asarray(birth_dates, dtype="datetime64[D]"), (n,))
    if np.isnat(dates).any():
        raise ValueError("birth_dates must not contain NaT")
    year, month, day = _ymd(dates)
    if n and (year.min() < 1800 or year.max() > 2099):
        raise ValueError("birth_dates must lie in 1800-2099")
    is_female = np.broadcast_to(np.asarray(female, dtype=bool), (n,))

    ymd = year * 10000 + month * 100 + day
    digits = np.empty((n, 17), dtype=np.int64)
    digits[:, :6] = div
    digits[:, 6:14] = (ymd[:, None] // 10 ** np.arange(7, -1, -1, dtype=np.int64)) % 10

    place = 10 ** np.arange(16, -1, -1, dtype=np.int64)

    def redraw(rows: np.ndarray) -> np.ndarray:
        m = len(rows)
        digits[rows, 14] = rng.integers(0, 10, size=m)
        digits[rows, 15] = rng.integers(0, 10, size=m)
        digits[rows, 16] = 2 * rng.integers(0, 5, size=m) + (~is_female[rows]).astype(np.int64)
        return digits[rows] @ place

    _redraw_duplicates(redraw(np.arange(n)), redraw, "resident IDs", strict=False)
    chars = np.empty((n, 18), dtype=np.uint32)
    chars[:, :17] = digits + ord("0")
    chars[:, 17] = _RID_CHECK_BYTES[(digits @ _RID_W) % 11]
    return _to_objects(chars)


# ---------------------------------------------------------------------------------------------
# vectorised validation

_CHUNK = 1 << 18  # rows per block: keeps the fixed-width views small and cache-friendly
_BAD = 1000.0  # the value of a character not allowed where it stands: one of them lifts the
# sum of a row's values to _BAD or more, which no row of allowed characters (< 36 each) reaches


def _scored(allowed: str, value: np.ndarray) -> np.ndarray:
    """Float32 lookup by code point (0..255): ``value`` of an allowed character, else ``_BAD``."""
    table = np.full(256, _BAD, dtype=np.float32)
    for ch in allowed:
        table[ord(ch)] = value[ord(ch)]
    return table


def _positional(*tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One flat lookup for position-dependent tables, and the offset of each position in it.

    ``flat[chars + offsets]`` looks every character up in its own position's table at once.
    """
    return np.concatenate(tables), (np.arange(len(tables)) * 256).astype(np.uint16)


_USCC_AT, _USCC_OFFSETS = _positional(
    _scored(REGISTRATION_AUTHORITIES, _USCC_VALUE),
    _scored("".join(ORG_TYPES), _USCC_VALUE),
    *[_scored(_DIGITS, _USCC_VALUE)] * 6,
    *[_scored(USCC_CHARSET, _USCC_VALUE)] * 10,
)
_ORG_SCORED = _scored(_ALNUM36, _ORG_VALUE)
_DIGIT_SCORED = _scored(_DIGITS, _DIGIT_VALUE)
_USCC_W32 = np.r_[USCC_WEIGHTS, 0].astype(np.float32)  # position 18 is the check itself
_ORG_W32 = _ORG_W.astype(np.float32)
_RID_W32 = _RID_W.astype(np.float32)


def _lengths(values: np.ndarray) -> np.ndarray:
    """Length in code points of each str of an object array; 0 for None, NaN and pd.NA.

    Needed beside the fixed-width view, where a NUL inside a string cannot be told from the
    padding: "<valid code>\\x00X" would otherwise look exactly ``width`` characters long.
    ``length_hint`` is ``len`` for a str and 0 for an object without a length.
    """
    return np.fromiter(map(operator.length_hint, values), dtype=np.int64, count=len(values))


def _string_blocks(s: pd.Series, width: int):
    """Yield (slice, (m, width + 1) uint8 matrix, (m,) lengths) blocks of the values of ``s``.

    Code points above 255 become 255 (a character no check accepts). Non-str values
    (numbers from Excel) become "" and missing values have length 0, which fails every
    length check. The lengths are the strings' true lengths: the matrix alone cannot show
    them, since a NUL is also its padding (each check also refuses code point 0 wherever it
    appears).
    """
    values = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
        values = np.where(is_str, values, "")
    for start in range(0, len(values), _CHUNK):
        block = slice(start, start + _CHUNK)
        points = _code_points(values[block], width + 1)
        np.minimum(points, 255, out=points)
        yield block, points.astype(np.uint8), _lengths(values[block])


def _mask(s: pd.Series, width: int, check) -> np.ndarray:
    """Boolean mask from ``check`` applied to blocks of strings of exactly ``width`` characters."""
    if not isinstance(s, pd.Series):
        s = pd.Series(s, dtype=object)
    out = np.zeros(len(s), dtype=bool)
    for block, chars, lengths in _string_blocks(s, width):
        out[block] = (lengths == width) & check(chars[:, :width])
    return out


def _weighted(values: np.ndarray, weights32: np.ndarray | None = None) -> np.ndarray:
    """Row-wise (weighted) sums of small non-negative integers as int64.

    Exact in float32, since every sum stays below 2**24. ``einsum`` runs numpy's own loop in
    the calling thread: a multi-threaded BLAS call can stall for a whole time slice when the
    machine is busy, which costs more than the product itself.
    """
    values = values.astype(np.float32, copy=False)
    if weights32 is None:
        weights32 = np.ones(values.shape[1], dtype=np.float32)
    return np.einsum("ij,j->i", values, weights32).astype(np.int64)


def _org_check_ok(body: np.ndarray, check: np.ndarray) -> np.ndarray:
    """Whether GB 11714 check characters ``check`` (m,) match bodies ``body`` (m, 8) (uint8)."""
    values = _ORG_SCORED[body]
    expected = _ORG_CHECK_BYTES[11 - _weighted(values, _ORG_W32) % 11]
    return (_weighted(values) < _BAD) & (check == expected)


def _uscc_ok(chars: np.ndarray) -> np.ndarray:
    """Row-wise credit-code checks on an (m, 18) uint8 matrix (see ``is_valid_uscc``).

    Each character is looked up in its position's table (authority, organisation type,
    division digits, charset), where a character out of place weighs ``_BAD``: two row sums
    then tell whether every character is allowed and whether the GB 32100 check is right.
    """
    values = _USCC_AT[chars + _USCC_OFFSETS]
    ok = _weighted(values) < _BAD
    ok &= values[:, 17] == (31 - _weighted(values, _USCC_W32) % 31) % 31
    return ok & _org_check_ok(chars[:, 8:16], chars[:, 16])


def _regno_ok(chars: np.ndarray) -> np.ndarray:
    """Row-wise registration-number checks on an (m, 15) uint8 matrix."""
    digits = _DIGIT_SCORED[chars]
    ok = _weighted(digits) < _BAD
    digits = np.minimum(digits, 9).astype(np.uint8)
    return ok & (digits[:, 14] == _mod11_10(digits[:, :14]))


def _resident_id_ok(chars: np.ndarray) -> np.ndarray:
    """Row-wise resident-ID checks on an (m, 18) uint8 matrix (see ``is_valid_resident_id``)."""
    digits = _DIGIT_VALUE[chars[:, :17]].astype(np.int64)
    ok = digits.min(axis=1) >= 0
    digits = np.clip(digits, 0, 9)
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    last = month_days[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (year >= 1800) & (year <= 2099) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= last
    return ok & (_RID_CHECK_VALUE[chars[:, 17]] == _weighted(digits, _RID_W32) % 11)


def valid_uscc_mask(s: pd.Series) -> np.ndarray:
    """Vectorised ``is_valid_uscc`` over a Series; NaN, None and non-str values are False."""
    return _mask(s, 18, _uscc_ok)


def valid_org_code_mask(s: pd.Series, hyphen: bool = True) -> np.ndarray:
    """Vectorised ``is_valid_org_code``: accepts "XXXXXXXXY" and "XXXXXXXX-Y"; NaN is False.

    Args:
        s: the values.
        hyphen: also accept the written form "XXXXXXXX-Y"; False accepts only the canonical
            nine characters, as the canonical tables store them.

    Returns:
        Bool array, per value whether it is a valid organisation code.
    """
    if not isinstance(s, pd.Series):
        s = pd.Series(s, dtype=object)
    out = np.zeros(len(s), dtype=bool)
    for block, chars, lengths in _string_blocks(s, 10):
        written = (lengths == 10) & (chars[:, 8] == ord("-")) & hyphen
        check = np.where(written, chars[:, 9], chars[:, 8])
        out[block] = ((lengths == 9) | written) & _org_check_ok(chars[:, :8], check)
    return out


def valid_regno_mask(s: pd.Series) -> np.ndarray:
    """Vectorised ``is_valid_regno`` over a Series; NaN, None and non-str values are False."""
    return _mask(s, 15, _regno_ok)


def valid_resident_id_mask(s: pd.Series) -> np.ndarray:
    """Vectorised ``is_valid_resident_id`` over a Series; NaN, None and non-str are False."""
    return _mask(s, 18, _resident_id_ok)
