"""Request and response bodies for households (户) and members (家庭成员)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.household import HukouType, LabourCapacity, PropertyKind, RigidExpenseKind, SelfCare
from shared.household import IncomeKind as IncomeKindT
from shared.identity import ResidentIdStr

_IN = ConfigDict(extra="forbid")


class MemberIn(BaseModel):
    model_config = _IN

    name: str = Field(min_length=1, max_length=50)
    id_number: ResidentIdStr = Field(description="居民身份证号 (GB 11643); birth date and sex are derived from it")
    relation: Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]
    counted: bool = Field(default=True, description="共同生活家庭成员")
    not_counted_reason: str | None = Field(default=None, max_length=200)
    disability_category: Literal["visual", "hearing", "speech", "physical", "intellectual", "mental",
                                 "multiple"] | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    labour_capacity: LabourCapacity = "full"
    self_care: SelfCare = Field(default_factory=SelfCare)
    serious_illness: bool = False
    student: bool = False
    education_level: str | None = Field(default=None, max_length=30)
    employed: bool = False
    has_capable_supporter: bool = True
    in_institution: bool = False


class IncomeIn(BaseModel):
    model_config = _IN

    earner: int | None = Field(default=None, ge=0, description="index into `members` of who earns it")
    kind: IncomeKindT
    subkind: str = Field(min_length=1, max_length=40)
    monthly_amount_fen: int = Field(ge=0, le=10**10, description="分 per month, net of costs")


class PropertyIn(BaseModel):
    model_config = _IN

    kind: PropertyKind
    value_fen: int = Field(ge=0, le=10**12)
    description: str = Field(default="", max_length=200)


class RigidExpenseIn(BaseModel):
    model_config = _IN

    kind: RigidExpenseKind
    amount_fen_12m: int = Field(ge=0, le=10**11)
    description: str = Field(default="", max_length=200)


class HouseholdIn(BaseModel):
    model_config = _IN

    region_code: str = Field(pattern=r"^\d{12}$", description="12-digit village code (GB/T 2260 + 村)")
    hukou_type: HukouType
    address: str = Field(min_length=1, max_length=200)
    members: list[MemberIn] = Field(min_length=1, max_length=30)
    incomes: list[IncomeIn] = Field(default_factory=list, max_length=100)
    properties: list[PropertyIn] = Field(default_factory=list, max_length=100)
    rigid_expenses: list[RigidExpenseIn] = Field(default_factory=list, max_length=100)


class MemberOut(BaseModel):
    id: uuid.UUID
    name: str
    id_number_masked: str
    birth_date: date
    sex: str
    relation: str
    facts: dict


class HouseholdOut(BaseModel):
    id: uuid.UUID
    region_code: str
    hukou_type: str
    address: str
    members: list[MemberOut]
    incomes: list[dict]
    properties: list[dict]
    rigid_expenses: list[dict]
