from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared.core.period import PATTERN as PERIOD_PATTERN
from shared.core.period import Period
from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery


class ProgrammeFigures(BaseModel):
    programme: str
    name: str
    households: int = Field(description="户: households paid for the programme in the range")
    persons: int = Field(description="人: persons those households cover")
    money_fen: int = Field(description="paid or with the bank, every kind of line (one-off, supplement included)")
    money_yuan: str
    money_wan_yuan: str = Field(description="万元, as the reports write it")
    paid_fen: int = Field(description="of which confirmed paid by bank returns")
    supplement_fen: int = Field(description="of which 提标补发")
    arrears_fen: int = Field(default=0, description="of which 补发 of months paid late (arrears, 重发)")
    one_off_household_times: int = Field(description="临时救助 / 医疗救助 户次")
    one_off_person_times: int = Field(description="人次")
    one_off_fen: int
    new: int = Field(description="entitlements starting in the range (新增)")
    stopped: int = Field(description="entitlements ending in the range (停保 / 渐退)")
    changed: int = Field(description="amount changes taking effect in the range (调整)")


class TekunArrangementFigures(BaseModel):
    """特困 by care arrangement: they add up to the 特困 row."""

    arrangement: str = Field(description="institution = 集中供养, home = 分散供养, unknown = not given at approval")
    name: str
    households: int
    persons: int
    money_fen: int
    money_yuan: str
    money_wan_yuan: str


class Statistics(BaseModel):
    region: str
    region_name: str = Field(description="吴起县, 铁边城镇 or a village as its county loaded it (铁边城镇张湾村)")
    period_from: Period
    period_to: Period
    programmes: list[ProgrammeFigures]
    money_fen: int
    money_yuan: str
    money_wan_yuan: str
    tekun_arrangements: list[TekunArrangementFigures] = Field(
        default_factory=list, description="特困 集中供养 vs 分散供养"
    )


class ChangeQuery(RegionListQuery):
    """Which beneficiaries a month's changes list shows: those that joined, stopped or changed amount in the month
    (the caller's region, or a township or village of it)."""

    period: str = Field(pattern=PERIOD_PATTERN, description="YYYY-MM: the month reported")
    programme: Programme | None = None


class ChangeOut(BaseModel):
    """One beneficiary of a month's changes (增减变动): what changed, with the amounts before and after."""

    beneficiary_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID | None = Field(
        description="the person, for a person-level programme (特困, orphans, disability subsidies): each person is a "
        "row of its own; null for a household programme (低保), whose row is the household"
    )
    programme: str
    programme_name: str
    region_code: str
    village: str = Field(description="the village as its county loaded it (张湾村), or its number (201村)")
    holder: str | None = Field(
        description="户名: the payee's account holder; null when no account is on file, or the one on file does not "
        "open (tampered, or another record's: logged)"
    )
    persons: int = Field(description="the persons owed for this month (1 for a person-level programme's row)")
    changes: list[Literal["new", "stopped", "changed"]] = Field(
        description="新增 (owed this month, not the month before), 停保 (owed this month, not the month after), 调整 "
        "(owed another amount this month than the month before), as `payments.owed` has it now (a 提标 decided "
        "later included); they add up with the counts of GET /statistics for the month"
    )
    amount_before_fen: int | None = Field(description="owed the month before; null for a newcomer")
    amount_after_fen: int | None = Field(description="owed this month")
    end_reason: str | None = Field(description="停保: the case's reason, when the case ended this month")


class ChangePage(Page[ChangeOut]):
    """By household, programme and person (the order the month's owed rows are indexed in)."""
