"""The contract of each canonical table, as pandera schemas built from `kinds.yaml`.

Ingest quarantines every record that breaks a rule before filing; the schema checks what is
then filed: types, required values, allowed values, patterns and ranges. A record reaching the
canonical tables in breach of its contract is a bug in an adapter, and it fails the source
loudly rather than passing downstream.

The pandera schema is thorough but slow, so ingest applies it to a sample of each batch. The
keys, on which every later join depends, are checked on every record by ``check_keys``: a few
vectorised masks, a small fraction of a second per million records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pda

from riskdraw.domain.codes import valid_org_code_mask, valid_regno_mask, valid_uscc_mask

from .catalogue import FieldSpec, KindSpec

KEY_PATTERNS = {
    "credit_code": r"^[0-9A-Z]{18}$",
    "registration_number": r"^[0-9]{15}$",
    "organisation_code": r"^[0-9A-Z]{8}[0-9X]$",
}


KEY_CHECKS = {
    "credit_code": ("credit code (GB 32100)", valid_uscc_mask),
    "registration_number": ("registration number (GS15)", valid_regno_mask),
    "organisation_code": (
        "organisation code (GB 11714, XXXXXXXXY)",
        lambda s: valid_org_code_mask(s, hyphen=False),
    ),
}
"""Per key column: what its values are, and the mask of values that are valid keys (each
implies the column's ``KEY_PATTERNS`` pattern, and checks the check characters too)."""

_SHOWN_ROWS = 5  # row numbers quoted in a breach message


class ContractError(ValueError):
    """Accepted records breach their canonical table's contract (an adapter bug)."""


def _column(spec: FieldSpec) -> pda.Column:
    nullable = not spec.required
    kind = spec.type
    if kind in ("date", "period"):
        return pda.Column("datetime64[ns]", nullable=nullable, coerce=True)
    if kind == "amount":
        return pda.Column(float, pda.Check.ge(0), nullable=nullable)
    if kind in ("integer", "year"):
        checks = [pda.Check.ge(1949), pda.Check.le(2100)] if kind == "year" else [pda.Check.ge(0)]
        return pda.Column("Int64", checks, nullable=nullable)
    if kind == "number":
        checks = []
        if spec.minimum is not None:
            checks.append(pda.Check.ge(spec.minimum))
        if spec.maximum is not None:
            checks.append(pda.Check.le(spec.maximum))
        return pda.Column(float, checks, nullable=nullable)
    if kind == "enum":
        return pda.Column(str, pda.Check.isin(spec.allowed), nullable=nullable)
    if kind == "code":
        return pda.Column(str, pda.Check.str_matches(spec.pattern), nullable=nullable)
    return pda.Column(str, nullable=nullable)


def canonical_schema(kind: str, spec: KindSpec) -> pda.DataFrameSchema:
    """The schema every accepted record of `kind` satisfies."""
    columns = {
        "source_id": pda.Column(str, pda.Check.str_matches(r"^S\d+$")),
        "row": pda.Column("int64", pda.Check.ge(0)),
        "name": pda.Column(str, nullable=True),
        "occurred_on": pda.Column(
            "datetime64[ns]", nullable=not spec.fields[spec.occurred_on].required, coerce=True
        ),
        "known_on": pda.Column("datetime64[ns]", nullable=False, coerce=True),
    }
    for key, pattern in KEY_PATTERNS.items():
        columns[key] = pda.Column(str, pda.Check.str_matches(pattern), nullable=True)
    for name, field in spec.fields.items():
        columns[name] = _column(field)
    return pda.DataFrameSchema(
        columns,
        checks=[
            pda.Check(
                lambda f: (
                    f[["credit_code", "registration_number", "organisation_code", "name"]]
                    .notna()
                    .any(axis=1)
                ),
                name="identified",
                error="a record needs a key or a name",
            )
        ],
        name=f"canonical {kind}",
        strict=False,
    )


def enforce(schema: pda.DataFrameSchema, frame, source_id: str):
    """Validate accepted records; a breach raises ContractError naming the source and checks."""
    try:
        return schema.validate(frame, lazy=True)
    except pda.errors.SchemaErrors as error:
        cases = error.failure_cases
        checks = cases.drop_duplicates(["index", "check"])["check"].value_counts().head(5)
        columns = sorted({str(c) for c in cases["column"].dropna()} - {schema.name})[:5]
        raise ContractError(
            f"{source_id}: accepted records breach {schema.name}: checks "
            f"{checks.to_dict()} on columns {columns}"
        ) from None


def _present(values: np.ndarray) -> np.ndarray:
    """Bool mask: the value is not missing (None, NaN, pd.NA).

    A column of text without a gap, the usual case, is recognised in one quick pass.
    """
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.ones(len(values), dtype=bool)
    return ~pd.isna(values)


def _invalid_keys(values: np.ndarray, present: np.ndarray, valid) -> np.ndarray:
    """Positions of present values that ``valid`` refuses (only those values are checked)."""
    if present.all():
        return np.flatnonzero(~valid(pd.Series(values, dtype=object, copy=False)))
    at = np.flatnonzero(present)
    ok = valid(pd.Series(values[at], dtype=object, copy=False))
    return at[~ok]


def _breach(column: str, what: str, positions: np.ndarray, rows: np.ndarray) -> str:
    """One part of a breach message: the column, how many records broke it and how, and the
    first of their row numbers."""
    shown = ", ".join(str(r) for r in rows[positions[:_SHOWN_ROWS]])
    more = ", ..." if len(positions) > _SHOWN_ROWS else ""
    plural = "record" if len(positions) == 1 else "records"
    return f"{column}: {len(positions):,} {plural} {what} (rows [{shown}{more}])"


def check_keys(frame: pd.DataFrame, source_id: str) -> None:
    """Check the keys of every accepted record, cheaply enough for every batch.

    Each key column (``KEY_CHECKS``) holds, per record, either nothing or a valid key: the
    column's pattern and its check characters, judged on the exact value (a NUL, a space or
    a lower-case letter breaks it). Every record is identified: it has a key or a non-empty
    name.

    Args:
        frame: accepted records with the key columns, ``name`` and ``row`` (the record's row
            in the source, quoted in the message; positions in ``frame`` if absent).
        source_id: the source, named in the message.

    Raises:
        ContractError: a key column is missing, or records breach; the message names the
            source and, per breach, the column, the number of records and their first rows.
    """
    missing = [c for c in (*KEY_CHECKS, "name") if c not in frame.columns]
    if missing:
        raise ContractError(f"{source_id}: accepted records have columns {missing} missing")
    rows = frame["row"].to_numpy() if "row" in frame.columns else np.arange(len(frame))
    breaches = []
    identified = np.zeros(len(frame), dtype=bool)
    for column, (what, valid) in KEY_CHECKS.items():
        values = frame[column].to_numpy(dtype=object)
        present = _present(values)
        identified |= present
        bad = _invalid_keys(values, present, valid)
        if bad.size:
            breaches.append(_breach(column, f"neither null nor a valid {what}", bad, rows))
    keyless = np.flatnonzero(~identified)  # only these need a name
    names = frame["name"].to_numpy(dtype=object)[keyless]
    named = _present(names)
    named[named] = names[named] != ""
    unnamed = keyless[~named]
    if unnamed.size:
        breaches.append(_breach("identified", "with neither a key nor a name", unnamed, rows))
    if breaches:
        raise ContractError(
            f"{source_id}: accepted records breach their keys: " + "; ".join(breaches)
        )
