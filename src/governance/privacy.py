"""Personal data at ingest: pseudonymised wherever it appears, with a key from the environment.

The class of a field (`catalogue/kinds.yaml`) decides how its values are handled:

- personal classes (`person_name`, `person_id`) become a keyed hash (HMAC-SHA256, "P" and 16
  hex characters). Names and ID numbers are normalised the same way in every kind (surrounding
  spaces cut, full-width ASCII made half-width, ID numbers upper-cased), so one person has one
  pseudonym everywhere: as the legal representative of one enterprise, a natural-person
  shareholder of another, or the new representative in a registration change;
- text typed by hand (`SCANNED_CLASSES`: free text, references, enterprise names and keys) is
  scanned for Chinese resident ID numbers (17 digits and a check character; in accepted records
  only those whose check character holds) and mobile numbers (1[3-9] and 9 digits, not inside a
  longer number): each is replaced by ``[ID:P…]`` or ``[TEL:P…]``, the pseudonym of the number,
  so the text stays readable and the same number still joins;
- quarantined values keep their original text for the data steward, except personal data:
  `quarantine_values` pseudonymises personal classes and masks the ID-shaped and mobile numbers
  of every other class (check character or not: a mistyped ID is still a person's).

The key is `RISKDRAW_PSEUDONYM_KEY`. Without it, a documented development key is used (with a
warning, once per process); with `RISKDRAW_ENV=production` a missing, short or development key
is a configuration error.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.config import ConfigError
from riskdraw.domain.codes import is_valid_resident_id

from . import values as V
from .catalogue import PERSONAL_CLASSES, SCANNED_CLASSES

log = logging.getLogger(__name__)

PSEUDONYM_ENV = "RISKDRAW_PSEUDONYM_KEY"
ENVIRONMENT_ENV = "RISKDRAW_ENV"
# Development default, documented in the README; production sets the key in the environment.
DEVELOPMENT_PSEUDONYM_KEY = "riskdraw-development-key-not-secret"
MIN_KEY_LENGTH = 16

ID_MASKED = "personal_id_masked"
PHONE_MASKED = "phone_masked"
"""Repairs counted when an ID or mobile number is masked in a scanned value."""

_CANDIDATE = "[0-9]{11}"  # every ID and mobile number holds 11 digits in a row (Arrow prefilter)
_NUMBERS = re.compile(r"(?<![0-9])(?:(?P<id>[0-9]{17}[0-9Xx])|(?P<tel>1[3-9][0-9]{9}))(?![0-9])")
_warned: list[bool] = []  # the development-key warning, once per process


def pseudonym_key() -> bytes:
    """The pseudonymisation key from the environment.

    Raises:
        ConfigError: `RISKDRAW_ENV=production` and the key is unset, the development key, or
            shorter than `MIN_KEY_LENGTH` characters.
    """
    key = os.environ.get(PSEUDONYM_ENV, "")
    if os.environ.get(ENVIRONMENT_ENV, "").strip().lower() == "production":
        problem = (
            "is not set"
            if not key
            else "is the development key, which is not a secret"
            if key == DEVELOPMENT_PSEUDONYM_KEY
            else f"is shorter than {MIN_KEY_LENGTH} characters"
            if len(key) < MIN_KEY_LENGTH
            else None
        )
        if problem:
            raise ConfigError(
                f"{PSEUDONYM_ENV} {problem}, and {ENVIRONMENT_ENV}=production: set "
                f"{PSEUDONYM_ENV} to a secret of at least {MIN_KEY_LENGTH} characters from the "
                "secrets store (the same key for every run, or pseudonyms will not join)"
            )
    if not key:
        if not _warned:
            _warned.append(True)
            log.warning(
                "%s is not set: personal data is pseudonymised with the documented development "
                "key, which is not a secret (set it, and %s=production, for real data)",
                PSEUDONYM_ENV,
                ENVIRONMENT_ENV,
            )
        key = DEVELOPMENT_PSEUDONYM_KEY
    return key.encode("utf-8")


@functools.lru_cache(maxsize=4)
def _keyed(key: bytes) -> hmac.HMAC:
    """The HMAC state after the key: copied per value, it saves a third of the hashing time."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _digest(value: str, key: bytes) -> str:
    state = _keyed(key).copy()
    state.update(value.encode("utf-8"))
    return "P" + state.hexdigest()[:16]


def pseudonymise(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Keyed hash (HMAC-SHA256, "P" and 16 hex characters) of each value; equal in, equal out.

    Joins on persons (the same legal representative of two enterprises) still work; the names
    and ID numbers themselves never leave ingest. "" stays "" and missing stays missing.
    """
    key = key or pseudonym_key()
    uniques = pd.unique(values.to_numpy(dtype=object))
    digests = {
        v: (None if v is None or v is pd.NA or v != v else "" if v == "" else _digest(str(v), key))
        for v in uniques
    }
    return values.map(digests)


def normalise_personal(field_class: str, values: pd.Series) -> pd.Series:
    """The text a personal value is hashed from: the same in every kind and in the quarantine
    (spaces cut, full-width made half-width, as ingest cleans text; ID numbers upper-cased)."""
    text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    cleaned = V.clean_text(text).values  # null where the text was missing or blank
    if field_class == "person_id":
        cleaned = pc.utf8_upper(cleaned)
    blank = pc.if_else(text.is_null(), pa.scalar(None, pa.string()), "")
    out = pc.coalesce(cleaned, blank).to_numpy(zero_copy_only=False)
    return pd.Series(out, index=values.index, dtype=object)


def pseudonymise_personal(
    field_class: str, values: pd.Series, key: bytes | None = None
) -> pd.Series:
    """Normalise (`normalise_personal`) and pseudonymise the values of a personal class."""
    return pseudonymise(normalise_personal(field_class, values), key)


@dataclass
class Masked:
    """Text with its ID and mobile numbers masked, and per row whether any was."""

    text: pa.Array
    ids: np.ndarray  # bool per row: an ID number was masked
    phones: np.ndarray  # bool per row: a mobile number was masked

    def counts(self) -> dict[str, int]:
        """Masked values per repair (`ID_MASKED`, `PHONE_MASKED`), those that occurred."""
        counts = {ID_MASKED: int(self.ids.sum()), PHONE_MASKED: int(self.phones.sum())}
        return {name: n for name, n in counts.items() if n}


def mask_numbers(
    text: pa.Array | pa.ChunkedArray, *, strict: bool = True, key: bytes | None = None
) -> Masked:
    """Mask resident ID numbers and mobile numbers inside text, vectorised.

    Arrow finds the few values holding 11 digits in a row; only those pass through Python.

    Args:
        text: Arrow strings (nulls stay null).
        strict: mask only ID numbers whose check character and birth date hold (accepted
            records: an 18-digit order number is left alone); False masks every 17 digits and a
            digit or X (the quarantine: a mistyped ID is still a person's).
        key: the pseudonymisation key (default: `pseudonym_key()`).

    Returns:
        `Masked`: the text with ``[ID:P…]`` / ``[TEL:P…]`` in place of the numbers.
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    ids, phones = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    found = pc.fill_null(pc.match_substring_regex(text, _CANDIDATE), False)
    rows = np.flatnonzero(found.to_numpy(zero_copy_only=False))
    if not rows.size:
        return Masked(text, ids, phones)
    key = key or pseudonym_key()
    cache: dict[str, str] = {}

    def token(kind: str, number: str) -> str:
        if number not in cache:
            cache[number] = _digest(number, key)
        return f"[{kind}:{cache[number]}]"

    masked = []
    for i, value in zip(rows, text.take(pa.array(rows)).to_pylist(), strict=True):

        def replace(match: re.Match, i: int = i) -> str:
            if match.group("id"):
                number = match.group("id").upper()
                if strict and not is_valid_resident_id(number):
                    return match.group(0)
                ids[i] = True
                return token("ID", number)
            phones[i] = True
            return token("TEL", match.group("tel"))

        masked.append(_NUMBERS.sub(replace, value))
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    out = pc.replace_with_mask(text, pa.array(mask), pa.array(masked, type=text.type))
    return Masked(out, ids, phones)


def quarantine_values(field_class: str, values: pd.Series, key: bytes | None = None) -> pd.Series:
    """The original text of quarantined values, as the quarantine table may hold it.

    Args:
        field_class: the field's class (`KindSpec.quarantine_class`, which counts a field that
            is personal in some records as personal).
        values: the original text ("" for empty).
        key: the pseudonymisation key (default: `pseudonym_key()`).

    Returns:
        Personal classes pseudonymised (normalised as in accepted records, so the same person
        has the same pseudonym); every other class with its ID-shaped and mobile numbers masked.
    """
    if field_class in PERSONAL_CLASSES:
        return pseudonymise_personal(field_class, values, key)
    text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    masked = mask_numbers(text, strict=False, key=key).text
    return pd.Series(masked.to_numpy(zero_copy_only=False), index=values.index, dtype=object)


def is_scanned(field_class: str) -> bool:
    """Whether values of this class are scanned for ID and mobile numbers in accepted records."""
    return field_class in SCANNED_CLASSES
