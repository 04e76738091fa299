"""The contract of each canonical table, as pandera schemas built from `kinds.yaml`.

Ingest quarantines every record that breaks a rule before filing; the schema checks what is
then filed: types, required values, allowed values, patterns and ranges. A record reaching the
canonical tables in breach of its contract is a bug in an adapter, and it fails the source
loudly rather than passing downstream.
"""

from __future__ import annotations

import pandera.pandas as pda

from .catalogue import FieldSpec, KindSpec

KEY_PATTERNS = {
    "credit_code": r"^[0-9A-Z]{18}$",
    "registration_number": r"^[0-9]{15}$",
    "organisation_code": r"^[0-9A-Z]{8}[0-9X]$",
}


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
