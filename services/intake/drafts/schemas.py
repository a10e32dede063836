from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery


class DraftOut(BaseModel):
    id: uuid.UUID
    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: str
    note: str | None
    verified_on: date
    status: Literal["to_complete", "completed"] = Field(
        description="completed once an application for the household and programme was received on or after the "
        "verification"
    )


class DraftQuery(RegionListQuery):
    """Which drafts a list shows (the caller's region, or a township or village of it), oldest first."""

    household_id: uuid.UUID | None = None
    programme: Programme | None = None
    status: Literal["to_complete", "completed"] | None = None


class DraftPage(Page[DraftOut]):
    """In the order monitoring's verifications created them (then by id)."""
