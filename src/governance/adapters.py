"""One adapter per record kind: delivered text -> canonical typed columns, with every issue named.

An `Adapter` is built from a kind's schema in `catalogue/kinds.yaml`; it reads any source of that
kind, whatever the department's column order, units, date style or key. For each batch it
returns the typed values, the rule each value broke (if any) and the safe repair applied to it
(if any), so that ingest can quarantine a record with source, row, field, rule and original
value, and count every repair.

Each field is handled by its class (kinds.yaml, `riskdraw.governance.privacy`): personal values
are pseudonymised, hand-typed text has its ID and mobile numbers masked (repairs
`personal_id_masked`, `phone_masked`, also per field in `Adapted.masked`). Amounts and integers
must lie within their field's range (`amount_out_of_range`, `integer_out_of_range`), and no date
after the extract's delivery (`date_after_delivery`; an expiry up to `future_years` after it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskdraw.domain.codes import valid_resident_id_mask, valid_uscc_mask

from . import values as V
from .catalogue import KEY_FIELDS, NAME_CLASS, PERSONAL_CLASSES, FieldSpec, KindSpec, SourceEntry
from .privacy import (  # noqa: F401  (pseudonymise and the key stay importable from here)
    DEVELOPMENT_PSEUDONYM_KEY,
    PSEUDONYM_ENV,
    is_scanned,
    mask_numbers,
    pseudonym_key,
    pseudonymise,
    pseudonymise_personal,
)

EARLIEST_DATE = dt.date(1949, 10, 1)


class SchemaError(ValueError):
    """A source's columns do not match its kind: the whole source fails."""


@dataclass
class Adapted:
    """A batch in canonical form, with per-field issues."""

    frame: pd.DataFrame  # canonical typed columns (key fields, name, kind fields)
    issues: list[tuple[str, str, np.ndarray, pa.Array]] = field(default_factory=list)
    # (field, column, rule per row (object, None = fine), original text)
    repairs: dict[str, int] = field(default_factory=dict)
    # per field, the values whose ID or mobile numbers were masked (also counted in `repairs`)
    masked: dict[str, dict[str, int]] = field(default_factory=dict)


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


def _broken(parsed: V.Parsed, broken: np.ndarray, rule: str) -> V.Parsed:
    """`parsed` with the values where `broken` (that broke no rule yet) now breaking `rule`:
    no value, and no repair (repairs count accepted values only)."""
    broken = np.asarray(broken, dtype=bool) & parsed.ok
    if not broken.any():
        return parsed
    rules = np.array(parsed.rule, dtype=object, copy=True)
    rules[broken] = rule
    repair = np.array(parsed.repair, dtype=object, copy=True)
    repair[broken] = None
    values = np.array(parsed.values, copy=True)
    values[broken] = np.datetime64("NaT") if values.dtype.kind == "M" else np.nan
    return V.Parsed(values=values, rule=rules, repair=repair)


def _parse_bounded_amounts(text: pa.Array, unit: str, spec: FieldSpec) -> V.Parsed:
    """Amounts in yuan, within the field's plausible range (rule "amount_out_of_range")."""
    parsed = V.parse_amounts(text, unit)
    amounts = parsed.values
    broken = np.zeros(len(amounts), dtype=bool)
    if spec.minimum is not None:
        broken |= amounts < spec.minimum
    if spec.maximum is not None:
        broken |= amounts > spec.maximum
    return _broken(parsed, broken, "amount_out_of_range")


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


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


def _empty_column(kind: str, n: int) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A column of `n` missing values of a field type, as its parser would type it."""
    if kind in ("date", "period"):
        return np.full(n, np.datetime64("NaT", "D"))
    if kind in ("amount", "number"):
        return np.full(n, np.nan)
    if kind in ("integer", "year"):
        return pd.array([pd.NA] * n, dtype="Int64")
    return np.full(n, None, dtype=object)


class Adapter:
    """Reads any source of one record kind into its canonical table.

    Args:
        kind, spec: the record kind and its schema (kinds.yaml).
        key_columns: key field -> the column it is delivered in (kinds.yaml `keys`).
        delivered_on: the day the extract was delivered (its manifest's `delivered_on`): no
            date of a record may lie after it, except `future_years` fields. None: today.
    """

    def __init__(
        self,
        kind: str,
        spec: KindSpec,
        key_columns: dict[str, str],
        *,
        delivered_on: dt.date | None = None,
    ) -> None:
        self.kind = kind
        self.spec = spec
        self.key_columns = key_columns
        self.delivered_on = delivered_on or dt.date.today()

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
            name: str,
            column: str,
            parsed: V.Parsed,
            text: pa.Array,
            required: bool,
            scan: bool = False,
        ) -> None:
            rule = np.array(parsed.rule, dtype=object, copy=True)
            if required:
                rule[parsed.missing] = "missing_required"
            adapted.issues.append((name, column, rule, text))
            for repair, count in parsed.repaired_counts().items():
                repairs[repair] = repairs.get(repair, 0) + count
            values = parsed.values
            if scan:  # hand-typed text: ID and mobile numbers masked
                values = masked(name, values, np.ones(len(rule), dtype=bool))
            out[name] = _column(values)

        def masked(name: str, values, rows: np.ndarray):
            """`values` with the ID and mobile numbers of `rows` masked, counted per field."""
            arrow = isinstance(values, pa.Array)
            text = values if arrow else pa.array(values, type=pa.string(), from_pandas=True)
            if not rows.all():
                text = pc.if_else(pa.array(rows), text, pa.scalar(None, pa.string()))
            result = mask_numbers(text)
            counts = result.counts()
            if not counts:
                return values
            adapted.masked[name] = counts
            for repair, count in counts.items():
                repairs[repair] = repairs.get(repair, 0) + count
            changed = result.ids | result.phones
            if arrow:
                return pc.if_else(pa.array(changed), result.text, values)
            out_values = np.array(values, dtype=object, copy=True)
            out_values[changed] = result.text.filter(pa.array(changed)).to_numpy(
                zero_copy_only=False
            )
            return out_values

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
        record(
            "name",
            self.spec.name,
            V.clean_text(text),
            text,
            required=source.key == "name",
            scan=is_scanned(NAME_CLASS),
        )

        for name, spec in self.spec.fields.items():
            column, unit = self._find(columns, spec.column)
            if column is None:  # an optional column not delivered: empty, of its type
                out[name] = _empty_column(spec.type, batch.num_rows)
                continue
            text = _as_text(batch.column(column))
            parsed = self._parse(spec, text, source, unit)
            scan = is_scanned(spec.class_) and spec.personal_when is None
            record(name, column, parsed, text, spec.required, scan=scan)
            if spec.class_ in PERSONAL_CLASSES:
                values = pd.Series(out[name], dtype=object)
                out[name] = pseudonymise_personal(spec.class_, values).to_numpy()
        # Fields personal in some records only (as another field of the record says): their
        # personal values pseudonymised like every personal value, the others scanned. A record
        # whose deciding value is missing or not allowed counts as personal (the safe side).
        for name, spec in self.spec.fields.items():
            rule = spec.personal_when
            if rule is None:
                continue
            decider = pd.Series(out[rule.field], dtype=object)
            personal = (decider.isin(rule.values) | decider.isna()).to_numpy()
            values = pd.Series(out[name], dtype=object)
            if personal.any():
                values[personal] = pseudonymise_personal(rule.class_, values[personal])
            values = values.to_numpy()
            if is_scanned(spec.class_) and not personal.all():
                values = masked(name, values, ~personal)
            out[name] = values
        adapted.frame = pd.DataFrame(out)
        adapted.repairs = repairs
        self._checks(adapted, batch)
        return adapted

    def _parse(
        self, spec: FieldSpec, text: pa.Array, source: SourceEntry, unit: str | None
    ) -> V.Parsed:
        kind = spec.type
        delivered = np.datetime64(self.delivered_on, "D")
        if kind == "date":
            if spec.future_years:  # an expiry: up to so many years after the delivery
                latest = _years_after(self.delivered_on, spec.future_years)
                return V.parse_dates(text, source.date_style, EARLIEST_DATE, latest)
            parsed = V.parse_dates(text, source.date_style, EARLIEST_DATE, latest=None)
            return _broken(parsed, parsed.values > delivered, "date_after_delivery")
        if kind == "amount":
            return _parse_bounded_amounts(text, unit or source.amount_unit, spec)
        if kind == "integer":
            return V.parse_integers(
                text,
                minimum=0 if spec.minimum is None else int(spec.minimum),
                maximum=None if spec.maximum is None else int(spec.maximum),
            )
        if kind == "year":  # a year that has not begun by the delivery is not yet reported
            return V.parse_integers(text, minimum=1949, maximum=self.delivered_on.year)
        if kind == "number":
            return _parse_number(text, spec)
        if kind == "period":
            parsed = _parse_period(text)
            return _broken(parsed, parsed.values > delivered, "date_after_delivery")
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
