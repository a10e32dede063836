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
    """One dated row of a beneficiary's entitlement history (应发记录): what its case set as owed (`payments.owed`, what
    every batch pays from), superseded rows included. A case with nothing owed on record (decided before payments kept
    what is owed, every row superseded by then) shows its decisions' rows."""

    from_month: Period
    to_month: Period | None
    monthly_amount_fen: int
    event_id: uuid.UUID = Field(description="the event that set the row: the case's schedule change, or its decision")
    event_type: str = Field(
        deprecated=True,
        description="deprecated, the same as `reason` (it named the decision's kind when the history was read from "
        "the amount decisions alone)",
    )
    in_force: bool
    superseded_by: uuid.UUID | None
    member_id: uuid.UUID | None = Field(
        description="the person, for a person-level programme (特困, orphans, disability subsidies): each person has "
        "rows of their own; null for a household programme (低保), and for a person-level case owed as a whole "
        "before eligibility sent its schedule"
    )
    persons: int = Field(description="the persons the amount is for")
    reason: str = Field(
        description="why the amount: the schedule's reason (approval, review, standard_rise, death, gradual_exit, "
        "termination, imported, correction); a row a later decision cut short keeps its own. Rows set before "
        "schedules carry the decision's (approval, review, gradual_exit, a stop's reason) or, older, its kind "
        "(approved, amount_changed, gradual_exit, terminated, migrated)"
    )
