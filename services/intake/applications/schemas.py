"""Request and response bodies for applications (申请)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import Programme


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID
    programme: Programme
    applicant_member_id: uuid.UUID | None = None
    consent_signed: bool = Field(description="家庭经济状况核对授权书 signed (required for means-tested programmes)")
    separate_register: bool = Field(default=False, description="单独登记备案: relative of staff or a village cadre")
    separate_register_name: str | None = Field(default=None, max_length=50)


class ApplicationOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: str
    status: str
    submitted_on: date
    consent_signed: bool
    separate_register: bool
    case_id: uuid.UUID | None
    case_status: str | None
    next_deadline: date | None
    decision: dict[str, Any] | None
