"""Inputs beyond the household snapshot (申请事项) and the result of a rule (认定结果 with its 计算依据)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PROGRAMMES",
    "ApplicationFacts",
    "Approver",
    "Assessment",
    "MedicalFacts",
    "MedicalGroup",
    "MemberAward",
    "MissingApplicationFacts",
    "Programme",
    "TemporaryFacts",
    "TraceEntry",
]

Programme = Literal[
    "dibao",
    "tekun",
    "marginal",
    "rigid_expense",
    "temporary",
    "medical",
    "orphan",
    "de_facto_orphan",
    "disability_living",
    "disability_care",
]
PROGRAMMES: tuple[str, ...] = Programme.__args__  # type: ignore[attr-defined]

#: 医疗救助 groups: 低保对象, 特困人员, 低保边缘家庭成员, 返贫致贫人口, 因病致贫重病患者.
MedicalGroup = Literal["dibao", "tekun", "marginal", "returned_poverty", "illness_poverty"]
#: Who approves a 临时救助: the township meeting (with county filing) or the county joint meeting (联席会议).
Approver = Literal["township", "county_joint_meeting"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class MissingApplicationFacts(ValueError):
    """The programme needs facts from the application that were not given."""


class TemporaryFacts(BaseModel):
    """临时救助 application: 急难型 (emergency) or 支出型 (expenditure) and the amount asked for."""

    model_config = _FROZEN

    kind: Literal["emergency", "expenditure"]
    requested_fen: int = Field(ge=0)
    cause: str = ""


class MedicalFacts(BaseModel):
    """医疗救助 claim: one bill after 基本医保 and 大病保险, plus what this year already used."""

    model_config = _FROZEN

    group: MedicalGroup
    compliant_cost_fen: int = Field(ge=0, description="政策范围内费用 of the bill")
    basic_insurance_paid_fen: int = Field(default=0, ge=0)
    critical_illness_paid_fen: int = Field(default=0, ge=0)
    paid_this_year_fen: int = Field(
        default=0, ge=0, description="医疗救助 already paid this year (for the cap)"
    )
    deductible_used_fen: int = Field(default=0, ge=0, description="起付线 already met this year")


class ApplicationFacts(BaseModel):
    """Facts a rule needs that are not part of the household snapshot."""

    model_config = _FROZEN

    member_id: UUID | None = Field(
        default=None, description="applicant for person-level programmes; None = all"
    )
    household_programmes: frozenset[Programme] = Field(
        default_factory=frozenset, description="programmes the household already receives (已享受)"
    )
    orphan_member_ids: frozenset[UUID] = Field(default_factory=frozenset, description="经认定的孤儿")
    de_facto_orphan_member_ids: frozenset[UUID] = Field(
        default_factory=frozenset, description="经认定的事实无人抚养儿童"
    )
    temporary: TemporaryFacts | None = None
    medical: MedicalFacts | None = None


class TraceEntry(BaseModel):
    """One parameter a decision used (计算依据): stored with the decision."""

    model_config = _FROZEN

    key: str
    value: Any
    start: date
    reference: str
    region: str


class MemberAward(BaseModel):
    """The outcome for one person in a person-level programme (特困, 孤儿, 残疾人补贴…)."""

    model_config = _FROZEN

    member_id: UUID
    eligible: bool
    monthly_amount_fen: int = 0
    category: str | None = None
    reasons: list[str] = Field(default_factory=list)


class Assessment(BaseModel):
    """What a rule decided, how much, why, and from which parameter values."""

    model_config = _FROZEN

    programme: Programme
    eligible: bool
    monthly_amount_fen: int | None = None
    one_off_amount_fen: int | None = None
    mode: str | None = Field(default=None, description="dibao: gap, tier or single_person")
    covered_member_ids: list[UUID] = Field(default_factory=list)
    beneficiaries: list[MemberAward] = Field(default_factory=list)
    required_approver: Approver | None = None
    valid_until: date | None = None
    reasons: list[str] = Field(default_factory=list)
    trace: list[TraceEntry] = Field(default_factory=list)
