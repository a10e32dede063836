"""The what-if (试算) of a proposed dated value: what it would cost, per township."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.period import Period


class WhatIfIn(BaseModel):
    """A proposed value, as `POST /parameters` would add it, and the last month already paid at the old one."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(
        pattern=r"^(national|\d{2}|\d{4}|\d{6})$", description="'national', or a GB/T 2260 province/city/county code"
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
    back_pay_fen: int = Field(description="提标补发: the difference for the months from the start to paid_through")


class WhatIfOut(BaseModel):
    region: str
    key: str
    start: date
    paid_through: Period
    cases_examined: int = Field(description="approved cases whose rule reads the key")
    cases_changed: int
    cases_unchanged: int
    cases_needing_review: int = Field(description="no longer eligible or not assessable: left to a review")
    total: TownshipImpactOut
    townships: list[TownshipImpactOut]
