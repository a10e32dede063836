from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ParameterValueIn(BaseModel):
    """A new dated value, e.g. a 低保 standard rise effective last month (提标)."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(
        pattern=r"^(national|[0-9]{2}|[0-9]{4}|[0-9]{6})$",
        description="'national', or a GB/T 2260 province/city/county code",
    )
    key: str = Field(min_length=1, max_length=100, examples=["dibao.standard.rural"])
    start: date
    value: Any = Field(description="as in the YAML files, e.g. {'per': 'month', 'fen': 52000}")
    reference: str = Field(min_length=1, max_length=500, description="the legal text or notice it comes from")


class ParameterValueOut(BaseModel):
    key: str
    region: str
    on: date
    value: Any
    start: date
    reference: str
    source_region: str


class ParameterAddedOut(ParameterValueOut):
    """The value added, and where to follow the recompute (提标重算) it asks for."""

    recompute: str = Field(description="`GET` it: the recompute's progress and what it changed per township")
