"""Typed, validated models of `params.yaml`, one per stage section.

Config is data: every number that changes a result lives in `params.yaml` and is checked here
before any compute. A bad value fails with an error that names the file, the section and the key.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from riskdraw.errors import UserError

RecordFormat = Literal["csv", "jsonl", "xlsx", "xml"]
Encoding = Literal["utf-8", "gbk"]
DateStyle = Literal["iso", "slash", "compact", "chinese", "dot", "excel"]
KeyType = Literal["credit_code", "registration_number", "organisation_code", "name"]
AmountUnit = Literal["yuan", "wan"]

SOURCE_KINDS = (
    "registration",
    "registration_change",
    "shareholder",
    "annual_report",
    "abnormal_list",
    "dishonesty_list",
    "inspection",
    "penalty",
    "complaint",
    "licence_food_business",
    "licence_food_production",
    "licence_drug_retail",
    "licence_medical_device",
    "licence_special_equipment",
    "licence_cosmetics",
    "licence_industrial_product",
    "licence_drug_production",
    "licence_public_hygiene",
    "tax_rating",
    "social_insurance",
    "medical_insurance",
    "lawsuit",
    "enforcement",
    "utility",
)
SourceKind = Literal[SOURCE_KINDS]  # type: ignore[valid-type]

_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip
MIN_MEMORY = 64 * 2**20  # below this DuckDB cannot build the smallest join


def parse_size(value: Any) -> int:
    """A memory size as bytes: a whole number of bytes, or text such as "4GB", "512 MiB".

    Raises:
        ValueError: anything else (the message says what is accepted).
    """
    if isinstance(value, bool):
        raise ValueError("a memory size must be bytes or text like 4GB, not true/false")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*", str(value), re.IGNORECASE)
        if not match:
            raise ValueError(
                f"{str(value)[:40]!r} is not a memory size: write a number and a unit, e.g. "
                f"4GB or 512MiB (units {', '.join(u.replace('I', 'i') for u in _SIZE_UNITS)})"
            )
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "B").upper()])
    if size < MIN_MEMORY:
        raise ValueError(f"a memory size of at least {MIN_MEMORY // 2**20} MiB is needed")
    return size


MemorySize = Annotated[
    int, BeforeValidator(parse_size), PlainSerializer(lambda b: f"{b}B", return_type=str)
]
"""A memory cap in bytes, parsed from params (e.g. "4GB") and handed to DuckDB as a setting
value, never as SQL text."""


class ConfigError(UserError):
    """A parameter failed validation; the message names the file, section and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Habit(_Strict):
    """How one department delivers its extract; unset fields fall back to the family default."""

    format: RecordFormat | None = None
    encoding: Encoding | None = None
    date_style: DateStyle | None = None
    key: KeyType | None = None
    amount_unit: AmountUnit | None = None


class SourceFamily(_Strict):
    """Departments x record kinds x levels that deliver alike (most: district branches)."""

    department: str = Field(description="name template; {area} is 佛山市 or 佛山市X区, {dept}")
    kinds: list[SourceKind]
    levels: list[str] = Field(min_length=1)
    depts: list[str] = Field(default_factory=lambda: [""])
    default: Habit
    habits: dict[str, Habit] = Field(default_factory=dict)
    overrides: dict[str, Habit] = Field(default_factory=dict)
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="per record kind, this department's weight among those delivering it (1)",
    )

    @model_validator(mode="after")
    def _complete_default(self) -> SourceFamily:
        missing = [k for k, v in self.default.model_dump().items() if v is None]
        if missing:
            raise ValueError(f"default habit lacks {missing}")
        unknown = set(self.habits) - set(self.levels)
        if unknown:
            raise ValueError(f"habits for levels not in levels: {sorted(unknown)}")
        if any(w <= 0 for w in self.weights.values()):
            raise ValueError("weights must be positive")
        stray = (set(self.overrides) | set(self.weights)) - set(self.kinds)
        if stray:
            raise ValueError(f"overrides or weights for kinds not in kinds: {sorted(stray)}")
        return self


class DriverSpec(_Strict):
    """One true driver: a mechanism of `riskdraw.simcity.drivers` and its log-odds effect."""

    name: str
    effect: float


class InteractionSpec(_Strict):
    drivers: tuple[str, str]
    effect: float


class Conduct(_Strict):
    """Base rates of the record-leaving behaviour of an average enterprise."""

    complaints_per_year: float = Field(ge=0)
    penalties_per_year: float = Field(ge=0)
    lawsuits_per_year: float = Field(ge=0)
    enforcement_share: float = Field(ge=0, le=1)
    changes_per_year: float = Field(ge=0)
    arrears_months_per_year: float = Field(ge=0, le=12)
    annual_report_missing: float = Field(ge=0, le=1)
    licence_renewal: float = Field(ge=0, le=1)
    tax_rating_low: float = Field(ge=0, le=1)
    unreachable_per_year: float = Field(ge=0)
    deregistration_per_year: float = Field(ge=0, lt=1)
    penalty_after_problem: float = Field(ge=0, le=1)
    conduct_weight: float = Field(ge=0)
    habitual_share: float = Field(0.0, ge=0, lt=1)
    habitual_shift: float = Field(0.0, ge=0)


class Mess(_Strict):
    """Rates of each kind of real-world mess (per record unless said)."""

    duplicate_exact: float = Field(ge=0, le=0.5)
    duplicate_near: float = Field(ge=0, le=0.5)
    fullwidth: float = Field(ge=0, le=1)
    name_variant: float = Field(ge=0, le=1)
    name_typo: float = Field(ge=0, le=1)
    invalid_check: float = Field(ge=0, le=1)
    missing_key: float = Field(ge=0, le=1)
    impossible_date: float = Field(ge=0, le=1)
    conflict: float = Field(ge=0, le=1)
    date_style_mix: float = Field(ge=0, le=1)
    amount_as_text: float = Field(ge=0, le=1)
    truncated_files: int = Field(ge=0, description="number of sources whose file arrives cut")


class InspectorPoolSim(_Strict):
    """How the simulated city's market-supervision bureau staffs its inspector pool."""

    qualifications: dict[str, float] = Field(
        min_length=1, description="domain -> share of inspectors qualified in it"
    )
    available_share: float = Field(ge=0, le=1, description="share available this round")
    visits: tuple[int, int] = Field(description="an available inspector's most visits: [low, high]")
    conflict_share: float = Field(ge=0, le=1, description="share declaring a conflict")

    @model_validator(mode="after")
    def _ranges(self) -> InspectorPoolSim:
        if not 1 <= self.visits[0] <= self.visits[1]:
            raise ValueError(f"visits must be [low, high] with 1 <= low <= high: {self.visits}")
        if any(not 0 <= v <= 1 for v in self.qualifications.values()):
            raise ValueError("qualification shares lie in [0, 1]")
        return self


DRIFT_KINDS = (
    "boom", "renamed_field", "renumbered_codes", "complaints", "district_violations",
    "unit_change",
)  # fmt: skip
"""The simulated city's drift scenarios (`riskdraw.simcity.drift`)."""
DRIFT_NEEDS = {
    "boom": ("industry", "share"),
    "renamed_field": ("source", "field", "to"),
    "renumbered_codes": ("source", "field"),
    "complaints": ("factor",),
    "district_violations": ("district", "log_odds"),
    "unit_change": ("source",),
}


class DriftScenario(_Strict):
    """One change in the simulated city from `since` on (`simulate.drift`): what the monitor
    must catch. Each kind names what it needs (`DRIFT_NEEDS`)."""

    kind: Literal[DRIFT_KINDS]
    since: dt.date = Field(description="the day the change begins")
    industry: str | None = Field(None, description="boom: the industry code of the new firms")
    share: float | None = Field(None, gt=0, lt=1, description="boom: share founded since")
    source: str | None = Field(None, description="the source id that changes (S001...)")
    field: str | None = Field(None, description="the column as the source writes it")
    to: str | None = Field(None, description="renamed_field: the column's new name")
    factor: float | None = Field(None, gt=1, description="complaints: how many times as many")
    district: str | None = Field(None, description="district_violations: its short name (顺德)")
    log_odds: float | None = Field(None, description="district_violations: the rise in risk")

    @model_validator(mode="after")
    def _needs(self) -> DriftScenario:
        missing = [k for k in DRIFT_NEEDS[self.kind] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} scenario needs {missing}")
        return self


class SimulateParams(_Strict):
    """The `simulate` section: a city, its departments, its truth and its mess."""

    entities: int = Field(gt=0)
    seed: int
    history_start: dt.date
    history_end: dt.date
    screening_date: dt.date
    rounds: list[dt.date] = Field(min_length=1)
    round_days: int = Field(gt=0, le=365)
    draw_rate: float = Field(gt=0, le=1)
    targeted_rounds: list[int] = Field(
        default_factory=list,
        description="rounds (1 = the first) drawn with probabilities that rise with the risk",
    )
    planned_rounds: list[int] = Field(
        default_factory=list,
        description="rounds (1 = the first) the simulator leaves to the product's plan: their "
        "truth is drawn, their inspections come from the plan's results (`simulate-rounds`)",
    )
    random_hit_rate: float = Field(gt=0, lt=1)
    inspectors_per_1000: float = Field(gt=0)
    inspectors_per_visit: int = Field(ge=1)
    inspector_pool: InspectorPoolSim
    active_share_at_start: float = Field(gt=0, le=1)
    latent_sd: float = Field(ge=0)
    drivers: list[DriverSpec]
    interactions: list[InteractionSpec] = Field(default_factory=list)
    conduct: Conduct
    mess: Mess
    sources: list[SourceFamily] = Field(min_length=1)
    drift: list[DriftScenario] = Field(
        default_factory=list, description="changes from a date on, for the monitor to catch"
    )

    @model_validator(mode="after")
    def _consistent(self) -> SimulateParams:
        if not self.history_start < self.history_end:
            raise ValueError("history_start must be before history_end")
        if sorted(self.rounds) != self.rounds or len(set(self.rounds)) != len(self.rounds):
            raise ValueError("rounds must be strictly increasing")
        if self.rounds[0] <= self.history_start or self.rounds[-1] > self.history_end:
            raise ValueError("rounds must fall inside the history window")
        if any(not 1 <= r <= len(self.rounds) for r in self.targeted_rounds):
            raise ValueError(f"targeted_rounds must be between 1 and {len(self.rounds)}")
        if any(not 1 <= r <= len(self.rounds) for r in self.planned_rounds):
            raise ValueError(f"planned_rounds must be between 1 and {len(self.rounds)}")
        if set(self.planned_rounds) & set(self.targeted_rounds):
            raise ValueError("a round is either targeted by the simulator or planned, not both")
        if self.planned_rounds and sorted(self.planned_rounds) != list(
            range(len(self.rounds) - len(self.planned_rounds) + 1, len(self.rounds) + 1)
        ):
            raise ValueError("planned_rounds must be the last rounds (the rounds after the reform)")
        for scenario in self.drift:
            if not self.history_start < scenario.since <= self.history_end:
                raise ValueError(f"drift: a {scenario.kind} must begin inside the history window")
        names = [d.name for d in self.drivers]
        if len(set(names)) != len(names):
            raise ValueError(f"drivers named twice: {names}")
        for inter in self.interactions:
            for name in inter.drivers:
                if name not in names:
                    raise ValueError(f"interaction names {name!r}, which is not a driver")
        return self


class Bounds(_Strict):
    """A quality dimension's thresholds: below `warn` warns, below `fail` fails."""

    warn: float = Field(ge=0, le=1)
    fail: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.fail > self.warn:
            raise ValueError("fail must not exceed warn")
        return self


class IngestParams(_Strict):
    """The `ingest` section: batch size, the failure tolerance policy, quality thresholds.

    The run goes on while the failed sources are at most `max_failed_share` of all sources in
    the catalogue and none is of an `essential_kinds` kind; otherwise it stops (exit status 3).
    Whether each essential kind is a kind of the catalogue is checked against the catalogue
    (`riskdraw.governance.quality.check_tolerance_policy`), which this file does not read.
    """

    batch_rows: int = Field(gt=0)
    contract_sample: int = Field(ge=0, description="records per batch checked by the contract")
    max_failed_share: float = Field(
        ge=0, lt=1, description="failed sources tolerated, as a share of all sources"
    )
    essential_kinds: list[str] = Field(
        min_length=1, description="record kinds of which no source may fail (registration)"
    )
    timeliness_days: dict[str, Annotated[int, Field(ge=0, le=3660)]] = Field(
        description="allowed delivery delay per cadence, in days (0 or more)"
    )
    quality: dict[str, Bounds]

    @model_validator(mode="after")
    def _complete(self) -> IngestParams:
        dims = {"completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy"}
        missing = dims - set(self.quality)
        if missing:
            raise ValueError(f"quality thresholds missing for {sorted(missing)}")
        if "default" not in self.timeliness_days:
            raise ValueError("timeliness_days needs a `default`")
        if any(not k.strip() for k in self.essential_kinds):
            raise ValueError(f"essential_kinds has a blank kind: {self.essential_kinds}")
        if len(set(self.essential_kinds)) != len(self.essential_kinds):
            raise ValueError(f"essential_kinds names a kind twice: {self.essential_kinds}")
        return self


class ResolveParams(_Strict):
    """The `resolve` section: how names link when a department gives no key."""

    name_threshold: float = Field(gt=0, le=1, description="least similarity for a fuzzy link")
    name_margin: float = Field(ge=0, le=1, description="lead over any other entity's name")
    block_prefix: int = Field(ge=1, le=6, description="characters of a core name per block")
    names_per_entity: int = Field(ge=0, description="spellings learnt from keyed records")
    memory_limit: MemorySize = Field(description="DuckDB's memory cap, e.g. 4GB")


class ProfileParams(_Strict):
    """The `profile` section: the as-of dates and DuckDB's resources (a configured city's
    stages read its own: `cities/<name>/city.yaml`)."""

    screening_date: str = Field(description="the date the whole city is screened at (YYYY-MM-DD)")
    rounds: bool = Field(description="also a snapshot at every inspection round, with labels")
    memory_limit: MemorySize = Field(description="DuckDB's memory cap, e.g. 4GB")
    threads: int = Field(ge=0, description="DuckDB threads (0: all cores)")

    @model_validator(mode="after")
    def _date(self) -> ProfileParams:
        try:
            dt.date.fromisoformat(self.screening_date)
        except ValueError:
            raise ValueError(f"screening_date {self.screening_date!r} is not YYYY-MM-DD") from None
        return self


class SelectParams(_Strict):
    """The `select` section: how many factors, from which rows, by which criteria."""

    n_factors: int = Field(ge=1, le=100)
    holdout_rounds: int = Field(ge=0, description="last rounds never looked at")
    fixed: list[str] = Field(description="factors that policy requires")
    min_iv: float = Field(ge=0)
    max_correlation: float = Field(gt=0, le=1)
    bins: int = Field(ge=2, le=50)
    l1_resamples: int = Field(ge=1)
    l1_keep: int = Field(ge=1)
    perm_repeats: int = Field(ge=1)
    max_swaps: int = Field(ge=0)
    validation_top: float = Field(gt=0, le=1)
    seed: int


class ScorecardRule(_Strict):
    """Points for one attribute: `points * value / per`, at most `cap`; with `below`, a flag
    for values under that bound."""

    points: float
    per: float = Field(default=1.0, gt=0)
    cap: float | None = Field(default=None, gt=0)
    below: float | None = None


class TuneParams(_Strict):
    """The `tune` section: validation by time, the study, the search space, the baselines."""

    holdout_rounds: int = Field(ge=1, description="last rounds only evaluate reads")
    validation_rounds: int = Field(ge=1, description="latest training rounds validated on")
    capacity: float = Field(gt=0, le=1, description="share of a round the inspectors visit")
    trials: int = Field(ge=1)
    seed: int
    study: str
    space: dict[str, list[float | int]]
    fixed: dict[str, float | int | str] = Field(default_factory=dict)
    scorecard: dict[str, ScorecardRule]

    @model_validator(mode="after")
    def _ranges(self) -> TuneParams:
        for name, bounds in self.space.items():
            if len(bounds) != 2 or not bounds[0] < bounds[1]:
                raise ValueError(f"space.{name} must be [low, high] with low < high: {bounds}")
        return self


class TrainParams(_Strict):
    """The `train` section: the registered model's name, seed, calibration rounds and risk
    classes (registered with the model: a version carries its own classes)."""

    model_name: str
    seed: int
    calibration_rounds: int = Field(ge=1)
    cutoffs: dict[str, float] = Field(description="class -> probability at which it begins")
    weighting: Literal["inverse_inclusion", "none"] = Field(
        default="inverse_inclusion",
        description="each inspection weighted by 1 / its inclusion probability, or all alike "
        "(`none`: the unweighted arm of `simulate-rounds`, which shows what the weights prevent)",
    )
    reference_rows: int = Field(
        default=50_000,
        ge=100,
        description="enterprises of the latest training round stored with the version as the "
        "reference `monitor` compares screenings with (a random sample if there are more)",
    )

    @model_validator(mode="after")
    def _classes(self) -> TrainParams:
        if set(self.cutoffs) != {"B", "C", "D"}:
            raise ValueError(f"cutoffs needs B, C and D (A is below B): {sorted(self.cutoffs)}")
        bounds = [self.cutoffs[c] for c in "BCD"]
        if not all(0 < b < 1 for b in bounds) or not bounds[0] < bounds[1] < bounds[2]:
            raise ValueError(f"cutoffs must rise within (0, 1) from B to D: {self.cutoffs}")
        return self


class Gates(_Strict):
    """What a challenger must show on the held-out round to become champion."""

    max_calibration_error: float = Field(gt=0, le=1)
    slice_floor: float = Field(ge=0, le=1, description="least hit rate in any slice's C and D")
    slice_min_inspections: int = Field(ge=1, description="fewer in classes C, D: not gated")


class EvaluateParams(_Strict):
    """The `evaluate` section: the plan's ratios, the capacity, the gates (the risk classes
    are the model's own: `train.cutoffs`)."""

    plan_ratios: dict[str, float] = Field(description="class -> share of it a plan draws")
    capacity: float | None = Field(default=None, gt=0, le=1)
    gates: Gates

    @model_validator(mode="after")
    def _classes(self) -> EvaluateParams:
        if set(self.plan_ratios) != {"A", "B", "C", "D"}:
            raise ValueError(f"plan_ratios needs A, B, C and D: {sorted(self.plan_ratios)}")
        return self


class ScreenParams(_Strict):
    """The `screen` section: which classes get their reasons, and how many."""

    reasons: int = Field(ge=1, le=12, description="reasons per explained enterprise")
    explained_classes: list[Literal["A", "B", "C", "D"]] = Field(
        min_length=1, description="classes whose every enterprise is explained"
    )


class Capacity(_Strict):
    """The visits a round holds: a number of inspections, or a share of the open enterprises."""

    inspections: int | None = Field(default=None, ge=1)
    share: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one(self) -> Capacity:
        if (self.inspections is None) == (self.share is None):
            raise ValueError("give exactly one of `inspections` and `share`")
        return self

    def visits(self, open_enterprises: int) -> int:
        """The visits for a city of this many open enterprises."""
        if self.inspections is not None:
            return self.inspections
        return max(1, round(self.share * open_enterprises))


class PlanParams(_Strict):
    """The `plan` section: capacity, policy, overrides outside the draw, the public value."""

    capacity: Capacity
    policy: Literal["ratios", "optimal"]
    ratios: str | dict[str, float] = Field(
        description="a preset's name (riskdraw.inspection.allocation.PRESETS) or class -> ratio"
    )
    floor: float = Field(gt=0, lt=1, description="optimal: every open enterprise's least chance")
    cap: float = Field(gt=0, lt=1, description="optimal: every enterprise's greatest chance")
    outside_draw: dict[str, int] = Field(
        default_factory=dict,
        description="event kind -> days: an enterprise with such a record known in the days "
        "before the screening date is visited outside the draw, on top of its capacity "
        "(complaint-triggered, mandatory)",
    )
    cool_off_days: int = Field(ge=0, le=3660, description="inspected this recently: not drawn")
    inspectors_per_visit: int = Field(ge=1, le=10)
    max_visits_per_inspector: int = Field(ge=1, description="the workload cap of a round")
    frontier_floors: list[float] = Field(min_length=1)
    public_value: str = Field(
        min_length=1, description="fixed after the commitment (a lottery number, a beacon)"
    )
    task: str = Field(
        min_length=1, description="the round's task id, which its results carry (FSSJ-2025-08)"
    )

    @model_validator(mode="after")
    def _bounds(self) -> PlanParams:
        if self.floor > self.cap:
            raise ValueError(f"floor {self.floor} is above cap {self.cap}")
        if any(not 0 < f < 1 for f in self.frontier_floors):
            raise ValueError(f"frontier_floors must lie in (0, 1): {self.frontier_floors}")
        for kind, days in self.outside_draw.items():
            if not 0 < days <= 3660:
                raise ValueError(f"outside_draw.{kind}: {days} days; allowed 1 to 3660")
        return self


class RoundResultsParams(_Strict):
    """The `round_results` section: how the simulated city's bureaus report a plan's visits
    (`riskdraw simulate-results`; a real city's bureaus send their own)."""

    visit_days: tuple[int, int] = Field(description="a visit's days after the plan's date")
    lag_days: tuple[int, int] = Field(description="days from a visit to its record")
    late_share: float = Field(ge=0, le=1, description="share of results recorded late")
    late_days: tuple[int, int] = Field(description="days from a visit to a late record")
    unreported_share: float = Field(ge=0, le=1, description="visits with no result sent")
    mixed_date_share: float = Field(ge=0, le=1, description="dates typed in another style")
    reported_twice: int = Field(ge=0, description="visits whose result is sent twice")
    not_drawn: int = Field(ge=0, description="results for an enterprise the plan did not draw")
    unassigned: int = Field(ge=0, description="results naming an inspector not assigned")
    before_plan: int = Field(ge=0, description="results dated before the plan")

    @model_validator(mode="after")
    def _ranges(self) -> RoundResultsParams:
        for name in ("visit_days", "lag_days", "late_days"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be [low, high] with 0 <= low <= high")
        return self


class SimulateRoundsParams(_Strict):
    """The `simulate_rounds` section: consecutive rounds after the reform in a simulated city of
    their own (the `simulate` section's, with these rounds added as planned rounds), each
    drawn by the plan, its results recorded and ingested, the model retrained; once with the
    inspections weighted by their inclusion probabilities and once without."""

    entities: int = Field(gt=0, description="the loop city's enterprises")
    rounds: list[dt.date] = Field(min_length=1, description="the rounds after the reform")
    arms: list[Literal["inverse_inclusion", "none"]] = Field(
        min_length=1, description="the training weightings compared (`train.weighting`)"
    )
    after_days: int = Field(
        ge=1, le=730, description="the loop city's records go on this long after its last round"
    )

    @model_validator(mode="after")
    def _ordered(self) -> SimulateRoundsParams:
        if sorted(set(self.rounds)) != self.rounds:
            raise ValueError("rounds must be strictly increasing")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"an arm named twice: {self.arms}")
        return self


class PublishParams(_Strict):
    """The `publish` section: the publication rule and the unit a round's results come from."""

    within_days: int = Field(ge=1, le=366, description="days from inspection to publication")
    department: str = Field(min_length=1, description="the unit that records the results")


class QualityChecks(_Strict):
    """`monitor.quality`: what the screening snapshot's factors may hold."""

    max_missing_increase: float = Field(
        ge=0, le=1, description="share of a factor left empty beyond the reference's share"
    )
    max_out_of_range_share: float = Field(
        ge=0, le=1, description="share of a factor outside what it can take"
    )


DriftMethod = Literal["wasserstein", "psi", "jensenshannon", "hellinger"]
"""Drift scores that measure how far two distributions are apart (not p-values): each drifts
at or above its threshold."""


class DriftChecks(_Strict):
    """`monitor.drift`: a factor drifts when its drift score reaches `threshold`; a family of
    the profile when `family_share` of its attributes do."""

    method: DriftMethod
    family_method: DriftMethod
    threshold: float = Field(gt=0)
    family_share: float = Field(gt=0, le=1)
    family_sample_rows: int = Field(ge=100, description="screening enterprises compared per family")
    min_values: int = Field(ge=1, description="fewer values on a side: an attribute not compared")


class PredictionChecks(_Strict):
    """`monitor.prediction`: the probability's drift, and how far a class's share may move."""

    method: DriftMethod
    threshold: float = Field(gt=0)
    class_share_change: float = Field(gt=0, le=1, description="absolute change of a class's share")


class PerformanceChecks(_Strict):
    """`monitor.performance`: observed against expected hit rate, once results are recorded."""

    z: float = Field(gt=0, description="binomial standard errors allowed")
    min_difference: float = Field(
        ge=0, le=1, description="nor a miss smaller than this (share of visits): not a fault"
    )
    min_visits: int = Field(ge=1, description="fewer visits in a group: reported, not judged")


class DeliveryChecks(_Strict):
    """`monitor.deliveries`: each source's latest delivery against its earlier ones."""

    window_days: int = Field(ge=7, le=365, description="the latest delivery: days before screening")
    earlier_windows: int = Field(ge=1, le=10, description="the same span 1..N years before")
    volume_ratio: tuple[float, float] = Field(description="records now / before: (low, high)")
    z: float = Field(gt=0, description="Poisson standard errors a volume change must pass too")
    min_records: int = Field(ge=1, description="fewer records expected: volume not judged")
    fill_drop: float = Field(gt=0, le=1, description="drop of a field's filled share")
    scale_ratio: float = Field(gt=1, description="an amount's median this many times off")
    new_code_share: float = Field(gt=0, le=1, description="share of records with unseen codes")

    @model_validator(mode="after")
    def _ratio(self) -> DeliveryChecks:
        lo, hi = self.volume_ratio
        if not 0 <= lo < 1 < hi:
            raise ValueError(f"volume_ratio must be (low < 1, high > 1): {self.volume_ratio}")
        return self


class MonitorParams(_Strict):
    """The `monitor` section: the checks' thresholds (a failed check fails the verdict)."""

    seed: int
    quality: QualityChecks
    drift: DriftChecks
    prediction: PredictionChecks
    performance: PerformanceChecks
    deliveries: DeliveryChecks


class ServeParams(_Strict):
    """The `serve` section: what the service accepts and what its answers show (the service
    itself holds no number of its own)."""

    max_rows: int = Field(ge=1, description="rows one scoring request may hold")
    max_upload_mb: float = Field(gt=0, le=4096, description="largest request body, in MB")
    max_ids: int = Field(ge=1, description="enterprise ids one request may name")
    top: int = Field(ge=1, le=1000, description="riskiest enterprises a screening shows")
    screen_part_rows: int = Field(
        ge=1000, description="enterprises scored per step of a screening (its progress)"
    )
    history: int = Field(ge=1, description="latest inspections an enterprise's file lists")


class ChicagoPublished(_Strict):
    """The city's published evaluation (Chicago/food-inspections-evaluation)."""

    days_earlier: float
    first_half_share: float
    first_half_share_business_as_usual: float
    days_earlier_without_inspector: float


class ChicagoParams(_Strict):
    """The `chicago` section of `cities/chicago/city.yaml`: the city's published figures and
    how close the reproduction must come (its data and rounds are the city file's; riskdraw's
    model on it reads the `select`, `tune` and `train` sections beside it)."""

    top_shares: list[float]
    published: ChicagoPublished
    tolerance_days: float = Field(gt=0)
    tolerance_share: float = Field(gt=0)


SECTIONS: dict[str, type[BaseModel]] = {
    "simulate": SimulateParams,
    "ingest": IngestParams,
    "resolve": ResolveParams,
    "profile": ProfileParams,
    "select": SelectParams,
    "tune": TuneParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "screen": ScreenParams,
    "plan": PlanParams,
    "round_results": RoundResultsParams,
    "simulate_rounds": SimulateRoundsParams,
    "publish": PublishParams,
    "serve": ServeParams,
    "monitor": MonitorParams,
    "chicago": ChicagoParams,
}


def _read_yaml(path: Path) -> dict:
    """A YAML file's top-level mapping, or ConfigError naming the file, line and fault."""
    from riskdraw.io import read_mapping

    return read_mapping(path, ConfigError)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, where: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(section)"
        lines.append(f"{where}.{key}: {item['msg']} (got {item.get('input')!r:.80})")
    return "\n".join(lines)


PROJECT_PARAMS = Path("params.yaml")
"""The project's params, under a configured city's own (`--params cities/<name>/city.yaml`)."""


def city_name(path: Path | str) -> str | None:
    """The city's name if `path` is a configured city's file (`cities/<name>/city.yaml`: a
    top-level `tables` and `events`), else None (a params file such as params.yaml)."""
    try:
        raw = _read_yaml(Path(path))
    except ConfigError:
        return None
    if "tables" not in raw or "events" not in raw:
        return None
    return str(raw.get("name") or Path(path).parent.name)


def city_params(city: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stage sections a configured city's stages read over the project's params: its own
    `params`, with what its description already says (the screening date, its rounds) and its
    own names for what MLflow keeps (the registered model `<name>-risk`, the study
    `<name>-lightgbm`); without rules of its own, no rule scorecard among the baselines (the
    simulated city's rules name its own attributes). The file's other keys are checked by
    `riskdraw.cities.config.load_city`."""
    own = {k: dict(v) for k, v in (city.get("params") or {}).items() if isinstance(v, dict)}
    rounds = city.get("rounds") or {}
    periods = rounds.get("periods") or [{}]
    screening = rounds.get("screening_date") or periods[-1].get("until")
    profile = own.setdefault("profile", {})
    profile.setdefault("rounds", True)
    if screening is not None:
        profile.setdefault("screening_date", str(screening))
    name = city.get("name", "city")
    own.setdefault("train", {}).setdefault("model_name", f"{name}-risk")
    tune = own.setdefault("tune", {})
    tune.setdefault("study", f"{name}-lightgbm")
    tune.setdefault("scorecard", {})
    return own


def load_section(
    section: str,
    params_path: Path | str = "params.yaml",
    override_path: Path | str | None = None,
    project_params: Path | str = PROJECT_PARAMS,
    **overrides: Any,
) -> Any:
    """Load and validate one section of params.yaml.

    Args:
        section: the section name (a stage), e.g. "simulate".
        params_path: the params file.
        override_path: an optional YAML file whose mapping (the section's keys, or the whole file
            with the section at top level) is deep-merged over the section.
        project_params: where a configured city's file is given as `params_path`, the
            project's params it layers its own over (`city_params`): a key the city sets
            replaces the project's whole (its scorecard or search space is its own, never a
            blend with the simulated city's).
        **overrides: single keys given on the command line (None values are ignored).

    Returns:
        The validated, frozen section model.

    Raises:
        ConfigError: naming the file, section and key of every invalid value.
    """
    params_path = Path(params_path)
    if section not in SECTIONS:
        raise ConfigError(f"{params_path}: unknown section {section!r}")
    raw = _read_yaml(params_path)
    layer = None
    if "tables" in raw and "events" in raw:  # a configured city's file
        layer = (str(params_path), city_params(raw))
        params_path = Path(project_params)
        raw = _read_yaml(params_path)
    if layer is not None and section in layer[1] and section not in raw:
        raw = {**raw, section: {}}  # a section only the layer holds (a city's own)
    if section not in raw:
        raise ConfigError(f"{params_path}: section {section!r} is missing")
    values = raw[section]
    if not isinstance(values, dict):
        raise ConfigError(
            f"{params_path}: section {section!r} is "
            f"{'empty' if values is None else f'a {type(values).__name__}'}, not a mapping of keys"
        )
    where = f"{params_path}: {section}"
    if layer is not None and isinstance(values, dict):
        values = {**values, **layer[1].get(section, {})}  # a city's key replaces it whole
        where = f"{params_path} + {layer[0]}: {section}"
    if override_path is not None:
        extra = _read_yaml(Path(override_path))
        extra = extra.get(section, extra)
        if not isinstance(extra, dict):
            raise ConfigError(f"{override_path}: expected a mapping of {section} keys")
        values = _deep_merge(values, extra)
        where = f"{params_path} + {override_path}: {section}"
    values = _deep_merge(values, {k: v for k, v in overrides.items() if v is not None})
    try:
        return SECTIONS[section].model_validate(values)
    except ValidationError as error:
        raise ConfigError(_describe(error, where)) from None
