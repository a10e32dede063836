"""Request and response bodies for cases (案件) and their steps."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.eligibility.cases.workflow import Status
from shared.core.names import PersonName
from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery

_IN = ConfigDict(extra="forbid")
Opinion = Field(min_length=1, max_length=2000, description="the acting official's opinion text (意见)")


class StepIn(BaseModel):
    """Every step records the date it happened (paper records are often entered later) and an opinion."""

    model_config = _IN

    on: date | None = Field(
        default=None, description="when it happened; defaults to today (China time), never in the future"
    )
    opinion: str | None = Field(default=None, max_length=2000)


class ReviewIn(StepIn):
    """定期核查 on the household's latest facts, as the front desk holds them."""

    household_version: int | None = Field(
        default=None,
        ge=1,
        description="the household's version the official saw at the front desk (intake's ETag); not given, "
        "eligibility asks intake for its current one. Facts of an older version held here (the change still on its "
        "way): 409 naming this field, nothing changed; try again shortly",
    )


class HomeVisitIn(StepIn):
    """入户调查: at least two investigators; `by_county` for the county's own visit (separate register)."""

    investigators: list[PersonName] = Field(min_length=2, max_length=10)
    findings: str = Field(min_length=1, max_length=4000)
    by_county: bool = False

    @field_validator("investigators")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        names = [v.strip() for v in value]
        if any(not n for n in names) or len(set(names)) < 2:
            raise ValueError("at least two different investigators are required")
        return names


class EconomicCheckIn(StepIn):
    """家庭经济状况核对: the county's cross-check of 户籍, tax, social insurance, property, vehicles, banks…"""

    result: Literal["consistent", "discrepancies"]
    notes: str = Field(default="", max_length=4000)


class TownshipOpinionIn(StepIn):
    recommendation: Literal["approve", "reject"]
    opinion: str = Opinion


class AppraisalIn(StepIn):
    """民主评议."""

    result: Literal["agreed", "disagreed"]
    participants: int = Field(ge=1, le=500)
    opinion: str = Opinion


class NoticeIn(StepIn):
    """公示 from the county's review: why the county does not follow the township's rejection or the appraisal."""

    opinion: str = Opinion


class ObjectionIn(StepIn):
    """公示期异议: sends the case back to investigation."""

    objection: str = Field(min_length=1, max_length=4000)


class DecisionIn(StepIn):
    """审核确认: approve (the amount is the rule's, from the region's parameters) or reject with reasons."""

    decision: Literal["approve", "reject"]
    # Checked even when left out (validate_default), against the decision validated before it: the 422 names
    # `reasons` (a model validator's error is located at the body).
    reasons: list[str] = Field(
        default_factory=list, max_length=20, validate_default=True, description="书面说明理由: required to reject"
    )
    opinion: str = Opinion

    @field_validator("reasons")
    @classmethod
    def _reasons_for_rejection(cls, reasons: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("decision") == "reject" and not [r for r in reasons if r.strip()]:
            raise ValueError("reasons are required to reject (书面说明理由)")
        return reasons


class ExtendIn(StepIn):
    opinion: str = Opinion


class EmergencyApproveIn(StepIn):
    """急难型临时救助: pay first, document after."""

    opinion: str = Opinion


class TerminateIn(StepIn):
    reason: Literal["death", "fraud", "moved", "other"]
    opinion: str = Opinion
    death_date: date | None = Field(
        default=None, description="死亡日期: required for a death; owed up to the month of death, none after"
    )
    member_id: uuid.UUID | None = Field(
        default=None, description="who died, when the case covers more than one person (the others stay on)"
    )


class StepOut(BaseModel):
    step: str
    from_status: str
    to_status: str
    actor: str
    on: date
    opinion: str | None
    data: dict[str, Any]


class CaseOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    status: str
    opened_on: date
    due_date: date | None
    due_date_provisional: bool = Field(
        description="the due date was counted Monday–Friday: no official holiday "
        "calendar for a year it spans (load it: calendar.holidays)"
    )
    next_steps: list[str] = Field(
        description="The steps the case may take now, each the path of its POST: "
        "`/cases/{id}/<step>` (e.g. `decision`); the step's entry says who may take it"
    )
    separate_register: bool
    complained: bool = Field(
        default=False, description="公示期异议 raised: the county visits the household before approving (domain.md)"
    )
    delegated: bool
    extended: bool
    home_visits: int
    notice_posted_on: date | None
    notice_ends_on: date | None
    eligible: bool | None
    assessed_monthly_amount_fen: int | None
    assessed_one_off_amount_fen: int | None
    assessment_reasons: list[str]
    monthly_amount_fen: int | None
    one_off_amount_fen: int | None
    effective_month: str | None
    reasons: list[str] | None
    decided_at: datetime | None
    next_review_on: date | None
    documents_pending: bool
    exit_last_month: str | None


class CaseDetailOut(CaseOut):
    trace: list[dict[str, Any]] = Field(description="计算依据: every parameter value and version used")
    steps: list[StepOut]


class CaseQuery(RegionListQuery):
    """Which cases a list shows (the caller's region, or a township or village of it), a page at a time."""

    status: Status | None = None
    programme: Programme | None = None
    household_id: uuid.UUID | None = None
    due_before: date | None = Field(default=None, description="open cases whose nearest deadline is before this day")
    review_due_before: date | None = Field(
        default=None, description="cases whose periodic review (定期核查) falls before this day"
    )


class CasePage(Page[CaseOut]):
    """Cases by 受理 date, oldest first (then by id)."""


class DeadlineQuery(RegionListQuery):
    programme: Programme | None = None
    within_workdays: int = Field(default=3, ge=0, le=30, description="due within this many working days from today")


class ReviewQuery(RegionListQuery):
    programme: Programme | None = None
    within_days: int = Field(default=30, ge=0, le=366, description="reviews falling within this many days")


class DeadlinePage(Page[CaseOut]):
    """Open cases due by the window's end, most urgent first: those with `due_date` before `today` are overdue."""

    today: date
