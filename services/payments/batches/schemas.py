from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.payments.batches.domain import BatchStatus
from shared.core.period import PATTERN as PERIOD_PATTERN
from shared.core.period import Period
from shared.core.regions import CODE_PATTERN as REGION_PATTERN
from shared.pagination import ListQuery, Page, RegionListQuery


class CancelIn(BaseModel):
    """Why a batch is cancelled before export (recorded in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class BatchIn(BaseModel):
    """A batch to create. Every kind but `urgent` pays balances: for each person of the region and month, what is
    owed − paid − in flight − pending. `regular`: the months up to `period` (`period` itself as `regular` lines)
    plus unpaid one-off awards; `urgent` (先行救助): the one-off awards in `case_ids`; `reissue` (重发) and
    `supplement` (提标补发): the months before `period` (and, for reissue, one-off awards not yet paid). Whatever the
    batch, a month already paid (or in flight) at the old amount and owed more by a 提标 is a `supplement` line;
    any other earlier month `arrears` (补发), or `reissue` in a reissue batch."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["regular", "urgent", "reissue", "supplement"] = "regular"
    region_code: str = Field(pattern=REGION_PATTERN, description="GB/T 2260 code (county, township, …) in your region")
    period: Period = Field(description="YYYY-MM: the month paid (regular) or the month of issue (other kinds)")
    case_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="urgent batches only: the approved one-off cases to pay",
    )


class Progress(BaseModel):
    done: int
    total: int | None


class SettlementFigures(BaseModel):
    """Where a batch's lines stand: lines = paid + failed + pending, in count and in fen."""

    line_count: int
    total_fen: int
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int
    pending_count: int
    pending_fen: int


class Reconciliation(SettlementFigures):
    """lines = paid + failed + pending, in count and in fen."""

    balanced: bool


class BatchOut(BaseModel):
    id: uuid.UUID
    kind: str
    region_code: str
    period: Period
    status: str
    created_by: str
    created_at: datetime
    approved_by: str | None
    cancelled_by: str | None
    exported_at: datetime | None
    reconciled_at: datetime | None
    progress: Progress
    line_count: int | None = Field(description="envelope: fixed when the build finished")
    total_fen: int | None
    recovery_percent: int = Field(
        default=0, description="regular batches: at most this share of each line is withheld to recover overpayments"
    )
    reconciliation: Reconciliation | None = None


class LineOut(BaseModel):
    id: int
    payment_id: uuid.UUID
    kind: str = Field(
        description="regular, arrears (补发), one_off, reissue (重发), supplement (提标补发: a 提标 on a month paid at "
        "the old amount, whatever the batch)"
    )
    case_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = Field(default=None, description="the person paid (nil uuid: the household)")
    programme: str
    region_code: str
    period: Period
    amount_fen: int = Field(description="what the bank pays")
    deducted_fen: int = Field(
        default=0, description="withheld to recover overpayments (扣回): the month's money is amount + deducted"
    )
    persons: int
    status: str
    reason: str | None
    account_last4: str | None = Field(default=None, description="the last four digits of the account it is sent to")
    account_changed: bool | None = Field(
        default=None,
        description="the household's account changed since its last payment (null: never paid before)",
    )


class ReturnsOut(BaseModel):
    batch_id: uuid.UUID
    sha256: str
    already_applied: bool = Field(description="the same file was posted before: nothing changed")
    rows: int
    paid: int
    failed: int
    reconciliation: Reconciliation


class BatchQuery(RegionListQuery):
    """Which batches a list shows (the caller's region, or a township of it), newest first."""

    period: str | None = Field(default=None, pattern=PERIOD_PATTERN, description="YYYY-MM: the month paid or issued")
    kind: Literal["regular", "urgent", "reissue", "supplement"] | None = None
    status: BatchStatus | None = None


class BatchPage(Page[BatchOut]):
    """Newest first (by creation, then id)."""


class LineQuery(ListQuery):
    status: Literal["pending", "paid", "failed", "cancelled", "reversed"] | None = None


class LinePage(Page[LineOut]):
    """A batch's lines by id."""
