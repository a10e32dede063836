from __future__ import annotations

from pydantic import BaseModel, Field

from shared.core.period import Period


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
