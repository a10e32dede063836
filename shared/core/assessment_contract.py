"""Pricing households by eligibility's rules over REST (`POST /assessments` in eligibility): the contract intake's
roll import (存量对象导入) uses to flag rows whose amount as paid today differs from what the rules compute. Typed
once here, as the events are in the catalogue; nothing in it identifies a person beyond the snapshot's member ids."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.core.household import HouseholdSnapshot
from shared.events.catalogue import ApplicationDetails, Programme

MAX_ITEMS = 1000

_STRICT = ConfigDict(extra="forbid", frozen=True)


class AssessmentItem(BaseModel):
    """One household to price for one programme on one date."""

    model_config = _STRICT

    ref: str = Field(min_length=1, max_length=64, description="the caller's reference, echoed in the result")
    programme: Programme
    on: date
    snapshot: HouseholdSnapshot
    details: ApplicationDetails | None = Field(default=None, description="the programme's facts; its defaults if none")
    covered_member_ids: list[uuid.UUID] | None = Field(
        default=None, description="person-level programmes: the member priced (one)"
    )


class AssessmentRequest(BaseModel):
    model_config = _STRICT

    items: list[AssessmentItem] = Field(min_length=1, max_length=MAX_ITEMS)


class AssessmentResult(BaseModel):
    model_config = _STRICT

    ref: str
    eligible: bool
    monthly_amount_fen: int | None = Field(default=None, ge=0)
    persons: int = Field(ge=0)
    reasons: list[str] = Field(default_factory=list)


class AssessmentResponse(BaseModel):
    model_config = _STRICT

    items: list[AssessmentResult]
