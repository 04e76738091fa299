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


class CatalogueError(ValueError):
    """The catalogue is inconsistent; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    column: str
    type: FieldType
    required: bool = False
    allowed: list[str] | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    future: bool = Field(False, description="a date that may lie years ahead (an expiry)")

    @model_validator(mode="after")
    def _enum_has_values(self) -> FieldSpec:
        if self.type == "enum" and not self.allowed:
            raise ValueError("an enum field needs `allowed`")
        if self.type == "code" and not self.pattern:
            raise ValueError("a code field needs `pattern`")
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
        return self


class Kinds(_Strict):
    version: int
    keys: dict[str, str]
    kinds: dict[str, KindSpec]


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
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise CatalogueError(f"{path}: not found") from None


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
