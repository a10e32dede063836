from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import AlertOutcome, AlertType, NotEligibleReason, Programme
from shared.schemas import Page


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


class AlertQuery(BaseModel):
    """Which alerts a list shows (the caller's region or a sub-region of it; by status, type and household), a page
    at a time."""

    region: str | None = Field(default=None, pattern=r"^\d{2,12}$", description="narrow to a sub-region of yours")
    status: Literal["dispatched", "verified", "closed"] | None = None
    alert_type: AlertType | None = None
    household_id: uuid.UUID | None = None
    limit: int = Field(default=200, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class AlertPage(Page[AlertOut]):
    pass


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
