"""One adapter per record kind: delivered text -> canonical typed columns, with every issue named.

An `Adapter` is built from a kind's schema in `catalogue/kinds.yaml`; it reads any source of that
kind, whatever the department's column order, units, date style or key. For each batch it
returns the typed values, the rule each value broke (if any) and the safe repair applied to it
(if any), so that ingest can quarantine a record with source, row, field, rule and original
value, and count every repair.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.domain.codes import valid_resident_id_mask, valid_uscc_mask

from . import values as V
from .catalogue import FieldSpec, KindSpec, SourceEntry

PSEUDONYM_ENV = "RISKDRAW_PSEUDONYM_KEY"
# Development default, documented in the README; production sets the key in the environment.
DEVELOPMENT_PSEUDONYM_KEY = "riskdraw-development-key-not-secret"
KEY_FIELDS = ("credit_code", "registration_number", "organisation_code")


class SchemaError(ValueError):
    """A source's columns do not match its kind: the whole source fails."""


def pseudonym_key() -> bytes:
    return os.environ.get(PSEUDONYM_ENV, DEVELOPMENT_PSEUDONYM_KEY).encode("utf-8")


def pseudonymise(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Keyed hash (HMAC-SHA256, 16 hex characters) of personal data; equal in, equal out.

    Joins on persons (the same legal representative of two enterprises) still work; the names
    and ID numbers themselves never leave ingest.
    """
    key = key or pseudonym_key()
    uniques = pd.unique(values.to_numpy())
    digests = {
        v: (
            ""
            if v in ("", None)
            else "P" + hmac.new(key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        )
        for v in uniques
    }
    return values.map(digests)


@dataclass
class Adapted:
    """A batch in canonical form, with per-field issues."""

    frame: pd.DataFrame  # canonical typed columns (key fields, name, kind fields)
    issues: list[tuple[str, str, np.ndarray, pa.Array]] = field(default_factory=list)
    # (field, column, rule per row (object, None = fine), original text)
    repairs: dict[str, int] = field(default_factory=dict)


def _as_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.fill_null(column, "") if column.null_count else column


def _filled(cleaned: V.Parsed) -> pd.Series:
    """Cleaned text as a Series with "" for missing (the parsers give None)."""
    return pd.Series(cleaned.values.to_numpy(zero_copy_only=False), dtype=object).fillna("")


def _parse_number(text: pa.Array, spec: FieldSpec) -> V.Parsed:
    cleaned = V.clean_text(text)
    s = _filled(cleaned)
    num = pd.to_numeric(s.where(s != ""), errors="coerce").to_numpy(dtype=float)
    rule = np.full(len(s), None, dtype=object)
    rule[(s != "").to_numpy() & np.isnan(num)] = "number_unparseable"
    lo = -np.inf if spec.minimum is None else spec.minimum
    hi = np.inf if spec.maximum is None else spec.maximum
    rule[~np.isnan(num) & ((num < lo) | (num > hi))] = "number_out_of_range"
    return V.Parsed(values=num, rule=rule, repair=cleaned.repair)


def _parse_period(text: pa.Array) -> V.Parsed:
    """A month written yyyymm, as the date it starts on; anything else breaks the rule."""
    cleaned = V.clean_text(text)
    s = _filled(cleaned)
    number = pd.to_numeric(s.where(s.str.len() == 6), errors="coerce").to_numpy()
    year, month = number // 100, number % 100
    ok = (month >= 1) & (month <= 12) & (year >= 1949) & (year <= 2100)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype(np.int64)
    values = np.where(
        ok, months.astype("datetime64[M]").astype("datetime64[D]"), np.datetime64("NaT", "D")
    )
    rule = np.full(len(s), None, dtype=object)
    rule[(s != "").to_numpy() & ~ok] = "period_unparseable"
    return V.Parsed(values=values, rule=rule, repair=cleaned.repair)


def _parse_code(text: pa.Array, pattern: str) -> V.Parsed:
    cleaned = V.clean_text(text)
    s = _filled(cleaned)
    bad = (s != "") & ~s.str.fullmatch(pattern).fillna(False)
    rule = np.where(bad.to_numpy(), "code_format", None).astype(object)
    return V.Parsed(
        values=s.where(s != "").to_numpy(dtype=object), rule=rule, repair=cleaned.repair
    )


def _parse_person_id(text: pa.Array, allow_credit_code: bool) -> V.Parsed:
    cleaned = V.clean_text(text)
    s = _filled(cleaned).str.upper()
    ok = valid_resident_id_mask(s)
    if allow_credit_code:
        ok |= valid_uscc_mask(s)
    rule = np.where((s != "").to_numpy() & ~ok, "person_id_check", None).astype(object)
    return V.Parsed(
        values=s.where(s != "").to_numpy(dtype=object), rule=rule, repair=cleaned.repair
    )


def _column(values) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Parsed values as a pandas-ready column: Arrow text -> object (None), ints -> Int64."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if pa.types.is_integer(values.type):
            return pd.array(values.to_numpy(zero_copy_only=False), dtype="Int64")
        return values.to_numpy(zero_copy_only=False)
    return values


class Adapter:
    """Reads any source of one record kind into its canonical table."""

    def __init__(self, kind: str, spec: KindSpec, key_columns: dict[str, str]) -> None:
        self.kind = kind
        self.spec = spec
        self.key_columns = key_columns

    def _find(self, columns: list[str], name: str) -> tuple[str | None, str | None]:
        """The delivered column for a canonical column name, and its unit if it carries one."""
        if name in columns:
            return name, None
        for column in columns:
            match = re.fullmatch(re.escape(name) + r"\((元|万元)\)", column)
            if match:
                return column, "wan" if match.group(1) == "万元" else "yuan"
        return None, None

    def check_columns(self, columns: list[str], source: SourceEntry) -> None:
        """Fail the source if a required column (or its declared key) is missing."""
        missing = [
            spec.column
            for spec in self.spec.fields.values()
            if spec.required and self._find(columns, spec.column)[0] is None
        ]
        if source.key != "name" and self.key_columns[source.key] not in columns:
            missing.append(self.key_columns[source.key])
        if self.spec.name not in columns:
            missing.append(self.spec.name)
        if missing:
            raise SchemaError(
                f"{source.source_id} ({source.file}): columns {missing} missing; "
                f"delivered {columns}"
            )

    def adapt(self, batch: pa.Table, source: SourceEntry) -> Adapted:
        columns = batch.column_names
        self.check_columns(columns, source)
        out: dict[str, object] = {}
        adapted = Adapted(frame=pd.DataFrame())
        repairs: dict[str, int] = {}

        def record(
            name: str, column: str, parsed: V.Parsed, text: pa.Array, required: bool
        ) -> None:
            rule = np.array(parsed.rule, dtype=object, copy=True)
            if required:
                rule[parsed.missing] = "missing_required"
            adapted.issues.append((name, column, rule, text))
            for repair, count in parsed.repaired_counts().items():
                repairs[repair] = repairs.get(repair, 0) + count
            out[name] = _column(parsed.values)

        # Keys: whichever key columns the source delivers; its declared key is required.
        for key in KEY_FIELDS:
            column = self.key_columns[key]
            if column not in columns:
                out[key] = np.full(batch.num_rows, None, dtype=object)
                continue
            text = _as_text(batch.column(column))
            parser = {
                "credit_code": V.parse_credit_codes,
                "registration_number": V.parse_registration_numbers,
                "organisation_code": V.parse_organisation_codes,
            }[key]
            record(key, column, parser(text), text, required=source.key == key)
        # A registration-number column holds credit codes for enterprises registered since 2015.
        regno = np.asarray(out["registration_number"], dtype=object)
        if pd.notna(regno).any():
            kinds = V.key_kind(regno)
            moved = (kinds == "credit_code") & pd.isna(np.asarray(out["credit_code"], dtype=object))
            credit = np.asarray(out["credit_code"], dtype=object).copy()
            credit[moved] = regno[moved]
            regno = regno.copy()
            regno[kinds == "credit_code"] = None
            out["credit_code"], out["registration_number"] = credit, regno

        text = _as_text(batch.column(self.spec.name))
        record("name", self.spec.name, V.clean_text(text), text, required=source.key == "name")

        for name, spec in self.spec.fields.items():
            column, unit = self._find(columns, spec.column)
            if column is None:
                out[name] = np.full(batch.num_rows, None, dtype=object)
                continue
            text = _as_text(batch.column(column))
            record(name, column, self._parse(spec, text, source, unit), text, spec.required)
            if spec.type in ("person_name", "person_id"):
                out[name] = pseudonymise(pd.Series(out[name], dtype=object)).to_numpy()
            elif spec.type == "holder_id":
                values = pd.Series(out[name], dtype=object)
                person = ~pd.Series(valid_uscc_mask(values))
                values[person] = pseudonymise(values[person])
                out[name] = values.to_numpy()
        frame = pd.DataFrame(out)
        if "holder_name" in frame and "holder_type" in frame:
            person = frame["holder_type"] == "自然人股东"
            frame.loc[person, "holder_name"] = pseudonymise(frame.loc[person, "holder_name"])
        adapted.frame = frame
        adapted.repairs = repairs
        self._checks(adapted, batch)
        return adapted

    def _parse(
        self, spec: FieldSpec, text: pa.Array, source: SourceEntry, unit: str | None
    ) -> V.Parsed:
        kind = spec.type
        if kind == "date":
            today = dt.date.today()
            latest = today.replace(year=today.year + (100 if spec.future else 1))
            return V.parse_dates(text, source.date_style, latest=latest)
        if kind == "amount":
            return V.parse_amounts(text, unit or source.amount_unit)
        if kind == "integer":
            return V.parse_integers(text, minimum=0)
        if kind == "year":
            return V.parse_integers(text, minimum=1949, maximum=2100)
        if kind == "number":
            return _parse_number(text, spec)
        if kind == "period":
            return _parse_period(text)
        if kind == "enum":
            return V.parse_enum(V.clean_text(text).values, spec.allowed, spec.aliases or None)
        if kind == "code":
            return _parse_code(text, spec.pattern)
        if kind == "person_id":
            return _parse_person_id(text, allow_credit_code=False)
        if kind == "holder_id":
            return _parse_person_id(text, allow_credit_code=True)
        return V.clean_text(text)  # text, name, person_name

    def _checks(self, adapted: Adapted, batch: pa.Table) -> None:
        """Rules across the fields of one record (e.g. deregistered before founded)."""
        frame = adapted.frame
        for check in self.spec.checks:
            try:
                passed = frame.eval(check.rule, engine="python")
            except Exception as error:  # a rule that cannot be evaluated is a catalogue bug
                raise SchemaError(f"kinds.yaml: {self.kind}.checks.{check.name}: {error}") from None
            involved = re.findall(r"[a-z_]+", check.rule)
            known = np.ones(len(frame), dtype=bool)
            for name in involved:
                if name in frame:
                    known &= frame[name].notna().to_numpy()
            failed = known & ~passed.fillna(True).to_numpy(dtype=bool)
            name = check.fields[0]
            column = self.spec.fields[name].column
            found, _ = self._find(batch.column_names, column)
            text = _as_text(batch.column(found)) if found else pa.array([""] * len(frame))
            rule = np.where(failed, check.name, None).astype(object)
            adapted.issues.append((name, found or column, rule, text))
