from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core.period import Period
from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery


class OverpaymentOut(BaseModel):
    """多发待追回: paid for `period` beyond what is owed for it now."""

    id: int
    beneficiary_id: uuid.UUID | None
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    member_id: uuid.UUID
    region_code: str
    period: Period
    paid_fen: int
    owed_fen: int
    amount_fen: int
    reason: str
    status: str
    recorded_at: datetime
    closed_reason: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    requested_by: str | None = None


class OverpaymentQuery(RegionListQuery):
    """Which overpayments a list shows (the caller's region, or a township or village of it), a page at a time."""

    household_id: uuid.UUID | None = None
    programme: Programme | None = None
    status: Literal["open", "waiver_requested", "closed"] | None = None


class OverpaymentPage(Page[OverpaymentOut]):
    """In the order they were recorded (by id)."""


class ReasonIn(BaseModel):
    """Why finance records a repayment or asks for a waiver (kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
