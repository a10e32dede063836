from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.payments.batches.schemas import SettlementFigures
from services.payments.statistics.schemas import ProgrammeFigures
from shared.core.period import Period

PeriodKind = Literal["month", "quarter", "half", "year"]


class CountyPeriod(BaseModel):
    kind: PeriodKind
    label: str = Field(description="as the reports write it: 2026年7月, 2026年第三季度, 2026年上半年, 2026年")
    first: Period
    last: Period
    start: date
    end: date


class CaseFigures(BaseModel):
    """办件: cases received (受理), approved, rejected, withdrawn, and overdue (deadline in the period and passed,
    not decided by it)."""

    programme: str
    name: str
    received: int
    approved: int
    rejected: int
    withdrawn: int
    overdue: int


class AlertFigures(BaseModel):
    """监测预警: raised and verified in the period, brought into assistance; open and overdue now."""

    raised: int
    verified: int
    brought_into_assistance: int
    open_now: int
    overdue_now: int


class Coverage(BaseModel):
    """三类人群 (monitoring-list and sudden-hardship households up to the end of the period) paid by a programme."""

    monitored_households: int
    covered_households: int
    by_programme: dict[str, int]


class MonthFigures(BaseModel):
    month: Period
    programme: str
    households: int
    money_fen: int


class _BatchOfPeriod(BaseModel):
    id: uuid.UUID
    kind: str
    region_code: str
    period: Period
    status: str
    reconciled_at: datetime | None


# Bases in this order so the batch's own fields come first, as the schema has always listed them.
class BatchFigures(SettlementFigures, _BatchOfPeriod):
    """A batch of the period and its reconciliation: lines = paid + failed + pending, in count and fen."""


class Totals(BaseModel):
    households: int
    persons: int
    money_fen: int
    money_wan_yuan: str


class CountyStatistics(BaseModel):
    region: str
    region_name: str
    period: CountyPeriod
    programmes: list[ProgrammeFigures]
    totals: Totals
    cases: list[CaseFigures]
    cases_total: CaseFigures
    alerts: AlertFigures
    coverage: Coverage
    months: list[MonthFigures]
    batches: list[BatchFigures]


class OverdueCase(BaseModel):
    case_id: uuid.UUID
    programme: str
    name: str
    region_code: str
    region_name: str
    received_on: date | None
    due_date: date
    status: str


class TownshipAlerts(BaseModel):
    township: str
    name: str
    open: int
    overdue: int
