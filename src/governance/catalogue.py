"""The source catalogue: every department's source, and the canonical schema of each record kind.

Two versioned YAML files in `catalogue/`: `kinds.yaml` (what each kind of record becomes: its
fields, types, rules; city-independent) and one sources file per city (each source's department,
kind, format, encoding, key, date style, amount unit, owner, cadence and file). A new district
branch delivering a known kind is one more entry in the sources file, not code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskdraw.errors import UserError

FieldType = Literal[
    "text",
    "name",
    "date",
    "amount",
    "integer",
    "number",
    "year",
    "period",
    "enum",
    "code",
    "person_name",
    "person_id",
    "holder_id",
]
KEY_TYPES = ("credit_code", "registration_number", "organisation_code", "name")
KEY_FIELDS = ("credit_code", "registration_number", "organisation_code")

FieldClass = Literal[
    "person_name",
    "person_id",
    "enterprise_name",
    "enterprise_key",
    "free_text",
    "reference",
    "code",
    "category",
    "amount",
    "count",
    "rate",
    "date",
]
"""What a value is, and so how it is handled (`riskdraw.governance.privacy`): see kinds.yaml."""
PERSONAL_CLASSES = ("person_name", "person_id")
"""Classes of personal data: pseudonymised at ingest wherever they appear."""
SCANNED_CLASSES = ("free_text", "reference", "enterprise_name", "enterprise_key")
"""Classes of text typed by hand: scanned for ID and mobile numbers, which are masked."""
KEY_CLASS = "enterprise_key"
NAME_CLASS = "enterprise_name"

# The types each class may be parsed as: a class says what a value is, a type how it is read.
_CLASS_TYPES: dict[str, tuple[str, ...]] = {
    "person_name": ("person_name", "text", "name"),
    "person_id": ("person_id",),
    "enterprise_name": ("text", "name"),
    "enterprise_key": ("holder_id",),
    "free_text": ("text",),
    "reference": ("text", "code"),
    "code": ("code",),
    "category": ("enum",),
    "amount": ("amount",),
    "count": ("integer",),
    "rate": ("number",),
    "date": ("date", "period", "year"),
}
_BOUNDED_TYPES = ("number", "amount", "integer")


class CatalogueError(UserError):
    """The catalogue is inconsistent; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonalWhen(_Strict):
    """A field that holds personal data in some records only, as another field of the record
    says (the `before` of a change of legal representative is a person's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str = Field(description="the enum field of the same record that decides")
    values: list[str] = Field(min_length=1, description="its values that make this personal")
    class_: FieldClass = Field(alias="class", description="the personal class it then has")

    @model_validator(mode="after")
    def _personal(self) -> PersonalWhen:
        if self.class_ not in PERSONAL_CLASSES:
            raise ValueError(f"personal_when.class must be one of {PERSONAL_CLASSES}")
        return self


class FieldSpec(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    type: FieldType
    class_: FieldClass = Field(alias="class", description="what the value is (kinds.yaml)")
    personal_when: PersonalWhen | None = None
    required: bool = False
    allowed: list[str] | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    future_years: int | None = Field(
        None, ge=1, le=100, description="a date that may lie this many years after delivery"
    )

    @model_validator(mode="after")
    def _enum_has_values(self) -> FieldSpec:
        if self.type == "enum" and not self.allowed:
            raise ValueError("an enum field needs `allowed`")
        if self.type == "code" and not self.pattern:
            raise ValueError("a code field needs `pattern`")
        if self.type not in _CLASS_TYPES[self.class_]:
            raise ValueError(
                f"class {self.class_} is read as one of types {_CLASS_TYPES[self.class_]}, "
                f"not {self.type}"
            )
        if self.personal_when is not None and self.class_ in PERSONAL_CLASSES:
            raise ValueError("a personal class is personal in every record: drop personal_when")
        if self.type == "holder_id" and self.personal_when is None:
            raise ValueError("a holder_id (an ID number or a credit code) needs personal_when")
        if self.type not in _BOUNDED_TYPES and (
            self.minimum is not None or self.maximum is not None
        ):
            raise ValueError(f"minimum/maximum apply to types {_BOUNDED_TYPES} only")
        if self.type in ("amount", "integer") and self.maximum is None:
            raise ValueError(f"an {self.type} field needs a plausible `maximum`")
        if self.type == "integer" and any(
            b is not None and b != int(b) for b in (self.minimum, self.maximum)
        ):
            raise ValueError("an integer field's bounds are whole numbers")
        if self.future_years is not None and self.type != "date":
            raise ValueError("future_years applies to dates only")
        return self


class CheckSpec(_Strict):
    name: str
    rule: str
    fields: list[str] = Field(min_length=1, description="the field(s) the failure is filed under")


class KindSpec(_Strict):
    title: str
    cadence: str
    name: str = Field(description="the column holding the enterprise's name")
    occurred_on: str
    known_on: str
    fields: dict[str, FieldSpec]
    checks: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_exist(self) -> KindSpec:
        for role in ("occurred_on", "known_on"):
            name = getattr(self, role)
            if name not in self.fields or self.fields[name].type not in ("date", "period"):
                raise ValueError(f"{role} names {name!r}, which is not a date field")
        for check in self.checks:
            stray = [f for f in check.fields if f not in self.fields]
            if stray:
                raise ValueError(f"check {check.name} files under unknown fields {stray}")
        for name, spec in self.fields.items():
            rule = spec.personal_when
            if rule is None:
                continue
            decider = self.fields.get(rule.field)
            if decider is None or decider.type != "enum":
                raise ValueError(f"{name}.personal_when names {rule.field!r}, not an enum field")
            unknown = sorted(set(rule.values) - set(decider.allowed or ()))
            if unknown:
                raise ValueError(
                    f"{name}.personal_when: {unknown} are not allowed values of {rule.field}"
                )
        return self

    def field_class(self, name: str) -> str:
        """The declared class of a field, of a key field or of `name`.

        Raises:
            KeyError: the kind has no such field.
        """
        if name in KEY_FIELDS:
            return KEY_CLASS
        if name == "name":
            return NAME_CLASS
        if name not in self.fields:
            raise KeyError(f"no field {name!r} (fields: {sorted(self.fields)})")
        return self.fields[name].class_

    def quarantine_class(self, name: str) -> str:
        """The class a value of this field is handled as when its record is not at hand (the
        quarantine): a field that holds personal data in some records counts as personal."""
        spec = self.fields.get(name)
        if spec is not None and spec.personal_when is not None:
            return spec.personal_when.class_
        return self.field_class(name)


class Kinds(_Strict):
    version: int
    keys: dict[str, str]
    key_class: Literal["enterprise_key"] = Field(description="the class of every key column")
    name_class: Literal["enterprise_name"] = Field(description="the class of every name column")
    kinds: dict[str, KindSpec]

    def class_of(self, kind: str, field: str) -> str:
        """The declared class of a field of `kind` (its key fields and `name` included)."""
        return self.kinds[kind].field_class(field)


class SourceEntry(_Strict):
    source_id: str
    department: str
    level: str
    kind: str
    licence_domain: str | None = None
    format: Literal["csv", "jsonl", "xlsx", "xml"]
    encoding: Literal["utf-8", "gbk"]
    key: Literal[KEY_TYPES]  # type: ignore[valid-type]
    date_style: str
    amount_unit: Literal["yuan", "wan"]
    file: str
    owner: str
    cadence: str


class SourceCatalogue(_Strict):
    city: str
    version: int
    sources: list[SourceEntry]

    def by_id(self) -> dict[str, SourceEntry]:
        return {s.source_id: s for s in self.sources}


def _load_yaml(path: Path) -> dict:
    """A catalogue file's mapping, or CatalogueError naming the file, line and fault."""
    from riskdraw.io import read_mapping

    return read_mapping(path, CatalogueError)


def _explain(error: ValidationError, path: Path) -> str:
    return "\n".join(
        f"{path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
    )


def load_kinds(path: Path | str) -> Kinds:
    """Load and validate `kinds.yaml`."""
    path = Path(path)
    try:
        return Kinds.model_validate(_load_yaml(path))
    except ValidationError as error:
        raise CatalogueError(_explain(error, path)) from None


def load_sources(path: Path | str, kinds: Kinds) -> SourceCatalogue:
    """Load a city's sources file and check every source names a known kind, once."""
    path = Path(path)
    try:
        catalogue = SourceCatalogue.model_validate(_load_yaml(path))
    except ValidationError as error:
        raise CatalogueError(_explain(error, path)) from None
    seen: set[str] = set()
    for source in catalogue.sources:
        if source.kind not in kinds.kinds:
            raise CatalogueError(
                f"{path}: {source.source_id}: unknown record kind "
                f"{source.kind!r} (kinds.yaml has {sorted(kinds.kinds)})"
            )
        if source.source_id in seen:
            raise CatalogueError(f"{path}: {source.source_id}: listed twice")
        seen.add(source.source_id)
    return catalogue


def dump_sources(catalogue: SourceCatalogue, path: Path | str) -> None:
    """Write a sources file (sorted keys, one source per block) for review in git."""
    header = (
        "# Sources of a city: one entry per department source. Generated for the "
        "simulated city by `riskdraw catalogue`; edit by hand for a real city.\n"
    )
    body = yaml.safe_dump(
        catalogue.model_dump(mode="json"), allow_unicode=True, sort_keys=False, width=100
    )
    Path(path).write_text(header + body, encoding="utf-8")
