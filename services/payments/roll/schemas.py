from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared.core.period import Period
from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery


class BeneficiaryOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    monthly_amount_fen: int
    persons: int
    start_month: Period
    end_month: Period | None
    status: str
    end_reason: str | None = None
    tekun_arrangement: str | None = Field(default=None, description="特困: institution = 集中供养, home = 分散供养")


class BeneficiaryQuery(RegionListQuery):
    """Which beneficiaries a list shows (the caller's region, or a township or village of it), a page at a time."""

    household_id: uuid.UUID | None = None
    programme: Programme | None = None
    status: Literal["active", "exiting", "stopped"] | None = None


class BeneficiaryPage(Page[BeneficiaryOut]):
    """The roll in the order beneficiaries joined it (then by id)."""


class EntitlementOut(BaseModel):
    """One dated row of a beneficiary's entitlement history (应发记录)."""

    from_month: Period
    to_month: Period | None
    monthly_amount_fen: int
    event_id: uuid.UUID
    event_type: str
    in_force: bool
    superseded_by: uuid.UUID | None
