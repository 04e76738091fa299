"""A city described by configuration: `cities/<name>/city.yaml`, its schema and its loading.

A regulator that adopts riskdraw describes its own tables in one YAML file beside them: where
they are and their format, which table is the registry of enterprises, which tables are events
of which kind (inspections with their outcome and inspector, complaints, licences, penalties,
lawsuits, any other), the label (which inspection outcomes count as a problem), the rounds, and
optionally a published per-inspection feature table used as it is. Column names and value
codes are mapped in the file; dates and amounts are read by ingest's own parsers
(`riskdraw.governance.values`). The file's `params` are the stage sections (`select`, `tune`,
`train`, ...) that differ from the project's `params.yaml`; a stage given `--params
cities/<name>/city.yaml` reads them merged over it. Every key is validated here, before any
table is read; `docs/onboarding.md` documents each one with a worked example.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from riskdraw.config import DateStyle
from riskdraw.errors import USAGE, UserError

CITIES_DIR = Path("cities")
"""Where `riskdraw city ... NAME` looks for `NAME/city.yaml`."""
CITY_FILE = "city.yaml"
KNOWN_KINDS = ("inspection", "complaint", "licence", "penalty", "lawsuit")
"""Event kinds whose attributes are the simulated city's own definitions (`cities.profile`);
any other kind (a lower-case word) gets the generic ones."""
TABLE_FORMATS = ("csv", "jsonl", "xlsx", "xml", "parquet")
_NAME = r"^[a-z][a-z0-9_-]{0,39}$"
_WORD = r"^[a-z][a-z0-9_]{0,39}$"


class CityError(UserError):
    """A city file or table that cannot be used as it is (exit status 2; 3 for its data)."""


def _date(value: Any) -> str:
    """A date as YYYY-MM-DD text (YAML may give a date; DVC tracks text)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD") from None


Day = Annotated[str, BeforeValidator(_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Table(_Strict):
    """Where one table is and how it is written."""

    path: str = Field(description="the file, relative to the city's folder")
    format: Literal[TABLE_FORMATS] = "csv"  # type: ignore[valid-type]
    encoding: Literal["utf-8", "gbk"] = "utf-8"
    date_style: DateStyle | None = Field(
        default=None, description="how its dates are written (ingest's styles); any is read"
    )
    amount_unit: Literal["yuan", "wan"] = Field(
        default="yuan", description="amounts as written (`wan`: in 10,000s, turned to units)"
    )


class Value(_Strict):
    """One column read into a canonical value: its type and, for codes, their mapping."""

    column: str
    type: Literal["category", "number", "amount", "date"] = "category"
    map: dict[str, str] | None = Field(
        default=None, description="code as written -> value; a code not mapped is refused"
    )
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mapped(self) -> Value:
        if self.map is not None and self.type != "category":
            raise ValueError(f"{self.column}: only a category has a map (type is {self.type})")
        if self.map is not None and not self.map:
            raise ValueError(f"{self.column}: the map is empty")
        return self


def _codes(value: Any) -> Any:
    """YAML reads codes such as 1 or 0.0 as numbers: mapping keys are compared as text."""
    if isinstance(value, dict) and isinstance(value.get("map"), dict):
        return {**value, "map": {str(k): str(v) for k, v in value["map"].items()}}
    return value


MappedValue = Annotated[Value, BeforeValidator(_codes)]


class Registry(_Strict):
    """The registry of enterprises: one row per enterprise."""

    table: str
    entity_id: str = Field(description="the column of the enterprise's id, the key events use")
    name: str | None = None
    opened_on: str = Field(description="the column of the day it opened (registered)")
    closed_on: str | None = Field(default=None, description="the day it closed, empty if open")
    district: MappedValue | None = None
    industry: MappedValue | None = None
    size: MappedValue | None = Field(default=None, description="a number: employees, capital")
    entity_type: MappedValue | None = None
    credit_code: str | None = None

    @model_validator(mode="after")
    def _types(self) -> Registry:
        for name in ("district", "industry", "entity_type"):
            value = getattr(self, name)
            if value is not None and value.type != "category":
                raise ValueError(f"registry.{name} is a category, not {value.type}")
        if self.size is not None and self.size.type not in ("number", "amount"):
            raise ValueError("registry.size is a number or an amount (type: number)")
        return self


class Event(_Strict):
    """One table of events of one kind, keyed by the registry's entity id."""

    kind: str = Field(pattern=_WORD, description=f"one of {KNOWN_KINDS}, or another word")
    table: str
    entity_id: str
    occurred_on: str = Field(description="the column of the day it happened")
    known_on: str | None = Field(default=None, description="the day the regulator knew of it")
    known_after_days: int | None = Field(
        default=None, ge=0, description="without known_on: known this many days after it happened"
    )
    id: str | None = Field(default=None, description="the record's own id (unique)")
    outcome: MappedValue | None = Field(default=None, description="inspections: what it found")
    inspector: str | None = Field(default=None, description="inspections: who inspected")
    inclusion_probability: str | None = Field(
        default=None, description="inspections: the recorded chance it was drawn (else 1)"
    )
    keep: dict[str, list[str]] = Field(
        default_factory=dict, description="column -> the values of the rows to keep"
    )
    values: dict[str, MappedValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        if (self.known_on is None) == (self.known_after_days is None):
            raise ValueError(f"{self.kind}: give exactly one of known_on and known_after_days")
        if self.kind == "inspection":
            if self.outcome is None or self.outcome.map is None:
                raise ValueError("inspection: `outcome` needs its column and a map of its codes")
        else:
            for key in ("outcome", "inspector", "inclusion_probability"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{self.kind}: `{key}` is for inspections only")
        for name in self.values:
            if not re.fullmatch(_WORD, name) or name in RESERVED:
                raise ValueError(
                    f"{self.kind}: value name {name!r} must be a lower-case word, not one of "
                    f"{sorted(RESERVED)}"
                )
        return self

    def columns(self) -> list[str]:
        """Every column of the table this event reads."""
        named = [
            self.entity_id,
            self.occurred_on,
            self.known_on,
            self.id,
            self.inspector,
            self.inclusion_probability,
            self.outcome.column if self.outcome else None,
        ]
        named += [v.column for v in self.values.values()] + list(self.keep)
        return list(dict.fromkeys(c for c in named if c))


RESERVED = {
    "entity_id",
    "occurred_on",
    "known_on",
    "source_id",
    "row",
    "record_id",
    "outcome",
    "problem",
    "inspectors",
    "inclusion_probability",
    "as_of_date",
}
"""The canonical event columns, which a value may not be named."""


class Label(_Strict):
    """Which inspection outcomes (after the map) count as a problem found."""

    problem: list[str] = Field(min_length=1)
    not_counted: list[str] = Field(
        default_factory=list,
        description="outcomes that are not an inspection's finding (nobody there): left out",
    )


class Period(_Strict):
    """A round: one window `from`..`until`, or windows of `every_days` counted back from
    `until` as far as the inspections go."""

    start: Day | None = Field(default=None, alias="from")
    until: Day
    every_days: int | None = Field(default=None, ge=7)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one(self) -> Period:
        if (self.start is None) == (self.every_days is None):
            raise ValueError("a round gives `from` (one window) or `every_days` (windows)")
        if self.start is not None and self.start > self.until:
            raise ValueError(f"a round from {self.start} until {self.until} ends before it starts")
        return self


class Rounds(_Strict):
    """The inspection rounds (each a snapshot labelled by what it found) and the screening."""

    periods: list[Period] = Field(min_length=1)
    screening_date: Day | None = Field(default=None, description="the date the city is screened")


class Features(_Strict):
    """A published per-inspection feature table, used as it is (Chicago's case)."""

    table: str
    inspection_id: str = Field(description="the column joining each row to its inspection's id")
    attributes: list[str] = Field(min_length=1, description="numeric columns used as attributes")
    categories: dict[str, list[str]] = Field(
        default_factory=dict, description="column -> the values that become 0/1 attributes"
    )
    inspector_attributes: bool = Field(
        default=False,
        description="the inspector as 0/1 attributes (where inspectors were not drawn at random)",
    )


class Inspectors(_Strict):
    """The inspector pool the plan draws from (`riskdraw plan --pool`)."""

    table: str
    inspector_id: str
    district: MappedValue | None = None
    unit: str | None = None
    qualifications: MappedValue = Field(description="the supervision domains each may check")
    separator: str = Field(default=";", min_length=1, description="between qualifications")
    available_visits: str


class Checks(_Strict):
    """How much of a city's input may be refused before the flow refuses to start."""

    max_unjoined_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="an events table's rows whose key is not registered (more: the key column "
        "is the wrong one, or the registry is not the events')",
    )
    max_refused_share: float = Field(
        default=0.01, ge=0, le=1, description="a table's rows refused by one rule of one field"
    )
    earliest: Day = Field(default="1900-01-01", description="no date before this is plausible")


class City(_Strict):
    """`cities/<name>/city.yaml`."""

    name: str = Field(pattern=_NAME)
    title: str = ""
    tables: dict[str, Table] = Field(min_length=1)
    registry: Registry | None = None
    events: list[Event] = Field(min_length=1)
    label: Label
    rounds: Rounds
    features: Features | None = None
    inspectors: Inspectors | None = None
    checks: Checks = Checks()
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _whole(self) -> City:
        used = [e.table for e in self.events]
        used += [x.table for x in (self.registry, self.features, self.inspectors) if x]
        for table in used:
            if table not in self.tables:
                raise ValueError(f"table {table!r} is not among `tables` ({sorted(self.tables)})")
        kinds = [e.kind for e in self.events]
        if "inspection" not in kinds:
            raise ValueError("no `inspection` events: the label is what inspections found")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"a kind is given twice among the events: {kinds}")
        outcomes = set(self.inspection.outcome.map.values())
        unknown = sorted(set(self.label.problem + self.label.not_counted) - outcomes)
        if unknown:
            raise ValueError(f"label names outcomes no inspection code maps to: {unknown}")
        if self.features is not None and self.inspection.id is None:
            raise ValueError("a feature table joins inspections by their id: give inspection `id`")
        if self.registry is None and self.features is None:
            raise ValueError("give a `registry` (or a published `features` table)")
        if self.inspectors is not None and self.registry is None:
            raise ValueError("the inspector pool plans visits to registered enterprises")
        if self.rounds.screening_date is not None and self.registry is None:
            raise ValueError("screening scores the registry: a city without one has no screening")
        unknown = sorted(set(self.params) - STAGE_SECTIONS)
        if unknown:
            raise ValueError(f"params: {unknown} are not stage sections ({sorted(STAGE_SECTIONS)})")
        return self

    @property
    def inspection(self) -> Event:
        return next(e for e in self.events if e.kind == "inspection")

    def events_table(self, kind: str) -> str:
        """The table that holds the events of `kind`."""
        return next(e.table for e in self.events if e.kind == kind)


STAGE_SECTIONS = {"profile", "select", "tune", "train", "evaluate", "screen", "plan", "chicago"}
"""The params sections a city may set (the rest are the simulated city's)."""


def city_path(name_or_path: str | Path) -> Path:
    """The city file of a name (`cities/<name>/city.yaml`) or of a path to it or its folder."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    if path.is_dir():
        return path / CITY_FILE
    return CITIES_DIR / str(name_or_path) / CITY_FILE


def _explain(error: ValidationError, path: Path) -> str:
    lines = [f"{path}: not a valid city file"]
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(file)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message} (got {item.get('input')!r:.80})")
    return "\n".join(lines)


def load_city(name_or_path: str | Path) -> tuple[City, Path]:
    """The validated city and its folder (the tables' paths are relative to it).

    Raises:
        CityError: the file is missing, is not YAML, or breaks the schema (every key at fault).
    """
    from riskdraw.io import read_mapping

    path = city_path(name_or_path)
    if not path.is_file():
        known = sorted(p.parent.name for p in CITIES_DIR.glob(f"*/{CITY_FILE}"))
        raise CityError(f"{path}: no city file there (cities here: {known or 'none'})", USAGE)
    raw = read_mapping(path, CityError)
    try:
        return City.model_validate(raw), path.parent
    except ValidationError as error:
        raise CityError(_explain(error, path), USAGE) from None
