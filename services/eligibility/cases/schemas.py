from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DecisionIn(BaseModel):
    """县级审核确认: approve with a monthly amount, or reject with written reasons."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    monthly_amount_fen: int | None = Field(default=None, ge=0, le=10**9)
    reasons: list[str] = Field(default_factory=list, max_length=20)
    opinion: str = Field(min_length=1, max_length=2000, description="the approver's opinion text (审核意见)")

    @model_validator(mode="after")
    def _complete(self) -> DecisionIn:
        if self.decision == "approve" and self.monthly_amount_fen is None:
            raise ValueError("monthly_amount_fen is required to approve")
        if self.decision == "reject" and not [r for r in self.reasons if r.strip()]:
            raise ValueError("reasons are required to reject")
        return self


class CaseOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    status: str
    opened_on: date
    due_date: date | None
    monthly_amount_fen: int | None
    effective_month: str | None
    reasons: list[str] | None
    decided_at: datetime | None
