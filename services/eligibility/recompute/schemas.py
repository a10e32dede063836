"""The what-if (试算) of a proposed dated value: what it would cost, per township; and the recompute (提标重算) a
value added asks for, with its progress."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core.period import Period
from shared.pagination import ListQuery, Page


class WhatIfIn(BaseModel):
    """A proposed value, as `POST /parameters` would add it, and the last month already paid at the old one."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(
        pattern=r"^(national|[0-9]{2}|[0-9]{4}|[0-9]{6})$",
        description="'national', or a GB/T 2260 province/city/county code",
    )
    key: str = Field(min_length=1, max_length=100, examples=["dibao.standard.urban"])
    start: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
    value: Any = Field(description="as in the YAML files, e.g. {'per': 'month', 'fen': 72000}")
    reference: str = Field(default="试算 (what-if)", min_length=1, max_length=500)
    paid_through: Period | None = Field(
        default=None,
        description="YYYY-MM: the last month already paid at the old value (back-pay runs up to it); "
        "default: last month",
    )


class TownshipImpactOut(BaseModel):
    """Cases whose amount would change in one township (乡镇), or in total."""

    township: str = Field(description="9-digit township code, or 'total'")
    name: str | None
    households: int = Field(description="户: households with a changed amount")
    persons: int = Field(description="人: persons those amounts cover")
    monthly_before_fen: int
    monthly_after_fen: int = Field(description="the new monthly cost of those cases")
    monthly_increase_fen: int
    back_pay_fen: int = Field(
        description="提标补发: what the months from the start to paid_through are owed more (less, if negative)"
    )


class OwedChangeOut(BaseModel):
    """The months `from_month`…`to_month` (open: on) owe `after_fen` a month instead of `before_fen`, for one
    person of a person-level programme (`member_id`) or the household."""

    member_id: uuid.UUID | None
    from_month: Period
    to_month: Period | None
    before_fen: int
    after_fen: int


class MonthBalanceOut(BaseModel):
    """One person's month the value changes, as the next batch would settle it: owed under the value, what holds
    money for it at payments (paid, with the bank, or in a batch not yet exported; less 退回 and 扣回), and the
    difference — paid by the next batch (`balance_fen`, 补发) or recorded to recover (`overpaid_fen`)."""

    member_id: uuid.UUID | None
    period: Period
    owed_fen: int
    held_fen: int
    balance_fen: int = Field(description="the next batch pays it: max(owed − held, 0)")
    overpaid_fen: int = Field(description="recorded to recover: max(held − owed, 0)")


class CaseImpactOut(BaseModel):
    """One case whose schedule the value would change: the months and fen, as the recompute would announce them."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    township: str
    owed_change_fen: int = Field(description="owed more (or less) for the months from the start to paid_through")
    months: list[OwedChangeOut]
    balances: list[MonthBalanceOut] | None = Field(
        default=None, description="per person and month from the start to paid_through (null: payments not asked)"
    )


class WhatIfOut(BaseModel):
    region: str
    key: str
    start: date
    paid_through: Period
    cases_examined: int = Field(description="cases whose schedule was priced with the key (on the roll or not)")
    cases_changed: int
    cases_unchanged: int
    cases_needing_review: int = Field(description="no longer eligible or not assessable: left to a review")
    total: TownshipImpactOut
    townships: list[TownshipImpactOut]
    cases: list[CaseImpactOut] = Field(description="per case, the months whose owed fen the value would change")
    balances_from_payments: bool = Field(
        default=False, description="the balances below come from what payments holds for the months (else null)"
    )
    next_batch_fen: int | None = Field(
        default=None,
        description="提标补发 as the next batch would pay it: the sum of the cases' balances (owed − held, when "
        "positive) for the months from the start to paid_through",
    )
    overpaid_fen: int | None = Field(
        default=None, description="what those months would hold beyond what is owed: recorded to recover"
    )


class RecomputeProgress(BaseModel):
    done: int = Field(description="cases examined so far")
    total: int | None = Field(description="cases priced with the key, counted when the recompute started")


class RecomputeOut(BaseModel):
    """提标重算: the recompute a dated value asked for, as the worker runs it chunk by chunk."""

    id: uuid.UUID
    region: str = Field(description="the value's region: 'national' or a GB/T 2260 code")
    key: str
    start: date
    reference: str
    status: Literal["queued", "running", "done"]
    progress: RecomputeProgress
    cases_examined: int
    cases_changed: int = Field(description="cases whose owed months moved (each sent case.schedule_changed)")
    cases_unchanged: int
    cases_needing_review: int = Field(description="no longer eligible or not assessable: left to a review")
    paid_through: Period = Field(description="back-pay counts the months from the start up to this one")
    total: TownshipImpactOut = Field(description="the townships below added up")
    townships: list[TownshipImpactOut] = Field(description="what it changed in each township of your region")
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RecomputePage(Page[RecomputeOut]):
    pass


class RecomputeQuery(ListQuery):
    key: str | None = Field(default=None, min_length=1, max_length=100, description="only this parameter key")
    start: date | None = Field(default=None, description="only values starting on this day")
