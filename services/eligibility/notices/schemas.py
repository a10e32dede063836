"""The long-term public notice (长期公示) as it is served: per village, each recipient household's masked name,
persons, programme, monthly amount and start month, nothing else (domain.md: no ID, no income, no illness)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from shared.core.period import Period


class RecipientRow(BaseModel):
    village_code: str
    village_name: str
    name: str = Field(description="masked as the county decides (张*明)")
    persons: int = Field(description="保障人数")
    programme: str = Field(description="救助项目, in Chinese")
    monthly_amount_fen: int = Field(description="月保障金额, fen")
    since: Period = Field(description="享受起始年月 (YYYY-MM)")


class Totals(BaseModel):
    """合计: distinct households and persons (a household with 低保 and a disability subsidy is one household, its
    disabled member one person), and the money of every row."""

    households: int
    persons: int
    monthly_total_fen: int


class VillageTotals(Totals):
    village_code: str
    village_name: str


class LongTermNotice(Totals):
    region_code: str
    region_name: str
    issuer: str = Field(description="the county's 民政局")
    as_of: date
    rows: list[RecipientRow]
    villages: list[VillageTotals] = Field(description="each village's 合计, as its printed page shows it")
