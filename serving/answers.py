"""What goes in and out of the service: the OpenAPI document shows these, with examples."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Row = dict[str, float | None]


class Scored(BaseModel):
    """One scored row."""

    entity_id: str | None = Field(default=None, description="as sent (files, enterprise ids)")
    probability: float = Field(ge=0, le=1, description="calibrated probability of a problem")
    rank_score: float = Field(description="the finer, uncalibrated ranking score")
    risk_class: Literal["A", "B", "C", "D"] = Field(description="by the model's own cut-offs")
    reasons: list[str] | None = Field(default=None, description="largest raising factors")
    reasons_zh: list[str] | None = None


class ScoreAnswer(BaseModel):
    model_name: str
    model_version: str = Field(examples=["3"])
    data_version: str | None = Field(
        default=None,
        description="the profile's digest, where the rows came from it (enterprise ids)",
    )
    rows: int
    scores: list[Scored]


class Health(BaseModel):
    status: Literal["ok"]
    model_name: str
    model_version: str
    data_version: str
    development_token: bool = Field(description="running on the documented development token")


class Screening(BaseModel):
    screening_id: str
    model_name: str
    model_version: str
    data_version: str
    screening_date: str
    enterprises: int
    expected_problems: float
    expected_hit_rate_random: float
    by_class: dict[str, dict[str, Any]]
    top: list[dict[str, Any]]
    downloads: list[str] = Field(description="files `download` gives for this screening")
    seconds: float


class Progress(BaseModel):
    state: Literal["idle", "running", "done", "failed"]
    stage: str
    done: int
    total: int
    screening_id: str | None = None
    error: str | None = None


class Capacity(BaseModel):
    inspections: int | None = None
    share: float | None = None


class PlanAnswer(BaseModel):
    screening_id: str
    plan_id: str
    model_version: str
    data_version: str
    commitment: str
    public_value: str
    report: dict[str, Any]
    visits: list[dict[str, Any]]
    downloads: list[str]
    binding: bool = Field(
        description="false: a proposal; the round's plan, with its "
        "inspectors and checklists, is drawn by `riskdraw plan`"
    )


class Verified(BaseModel):
    plan: str
    identical: bool
    problems: list[str]
