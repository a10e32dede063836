from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import AlertOutcome, AlertType, NotEligibleReason, Programme
from shared.pagination import Page, RegionListQuery


class EvidenceOut(BaseModel):
    """A partner row behind the alert (never the ID number)."""

    record_id: int
    feed_id: uuid.UUID
    kind: str
    line: int
    event_date: date
    amount_fen: int | None
    category: str | None
    grade: int | None
    details: str | None


class AlertOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    place: str = Field(
        description="where the household lives, by name: the village as its county loaded it (铁边城镇张湾村), "
        "else the township and the village's number (铁边城镇201村)"
    )
    alert_type: AlertType
    status: Literal["dispatched", "verified", "closed"]
    due_date: date | None
    overdue: bool
    trace: dict[str, Any] = Field(description="the rule, the parameter values that fired and what was observed")
    raised_on: date
    outcome: AlertOutcome | None
    programme: str | None
    reasons: list[str]
    note: str | None
    verified_on: date | None
    closed_on: date | None
    allowed_next: list[str]


class AlertDetail(AlertOut):
    evidence: list[EvidenceOut]


class AlertDueQuery(RegionListQuery):
    """The overdue or due-soon alerts of the caller's region (or a township or village of it), earliest due first."""

    alert_type: AlertType | None = None


class AlertQuery(AlertDueQuery):
    """Which alerts a list shows (the caller's region or a township or village of it; by status, type, household,
    due date; by a member's ID number in the `X-Id-Number` header): newest first, or earliest due first with
    `due_before`."""

    status: Literal["dispatched", "verified", "closed"] | None = None
    household_id: uuid.UUID | None = None
    due_before: date | None = Field(default=None, description="open alerts due before this day, earliest first")


class AlertPage(Page[AlertOut]):
    """Newest first (by when raised, then id); the due lists and `due_before` earliest due first."""


class VerificationIn(BaseModel):
    """核实结果: brought into assistance (with the programme), not eligible (with the domain's reasons), or a
    recipient's change that needs a review."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["brought_into_assistance", "not_eligible", "recipient_change"]
    programme: Programme | None = None
    reasons: list[NotEligibleReason] = Field(default_factory=list, max_length=5)
    note: str | None = Field(default=None, max_length=2000)
    on: date | None = Field(default=None, description="the day of the verification (default today)")


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date | None = Field(default=None, description="default today")
