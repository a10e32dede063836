"""Request and response bodies for applications (申请) and their evidence (证明材料)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.core.money import Fen
from shared.core.names import PersonName
from shared.events.catalogue import (
    ApplicationDetails,
    ChildRecognition,
    MedicalBill,
    Programme,
    TekunArrangement,
    TemporaryRequest,
)
from shared.pagination import Page, RegionListQuery
from shared.validation import AT_LEAST_ONE_FIELD, reject_null, require_a_field

_IN = ConfigDict(extra="forbid")

#: Every status an application can have (申请状态), the one list its answers show and its list filters on:
#: submitted at the front desk, in review once eligibility opened its case, withdrawal_requested until eligibility
#: answers the withdrawal, approved / rejected / withdrawn as eligibility decided; imported with the county's roll
#: (存量对象导入) until eligibility approves the imported case.
ApplicationStatus = Literal[
    "submitted", "in_review", "withdrawal_requested", "approved", "rejected", "withdrawn", "imported"
]
_PATCH = ConfigDict(extra="forbid", json_schema_extra=AT_LEAST_ONE_FIELD)
_FEN = {"le": 10**10}


class TemporaryIn(TemporaryRequest):
    """临时救助: 急难型 (emergency: sudden fire, accident, acute illness) or 支出型 (expenditure spike)."""

    model_config = _IN

    requested_amount_fen: Fen = Field(ge=1, le=10**9, description="amount asked for, in 分")
    cause: str = Field(default="", max_length=500)


class MedicalIn(MedicalBill):
    """医疗救助: one bill and what insurance already paid, all in 分."""

    model_config = _IN

    bill_total_fen: Fen = Field(**_FEN, description="total of the bill")
    compliant_cost_fen: Fen | None = Field(
        default=None, **_FEN, description="政策范围内费用; defaults to the bill total"
    )
    basic_insurance_paid_fen: Fen = Field(default=0, **_FEN, description="基本医保 paid")
    critical_illness_paid_fen: Fen = Field(default=0, **_FEN, description="大病保险 paid")
    paid_this_year_fen: Fen = Field(
        default=0,
        **_FEN,
        description="医疗救助 already paid this year as the desk knows it; the cap counts the larger of it and what "
        "the platform approved the household this year",
    )
    deductible_used_fen: Fen = Field(default=0, **_FEN, description="起付线 already met this year")


_RECOGNITIONS = (
    "孤儿认定 / 事实无人抚养儿童认定: which children of the household are recognised, and why (required for "
    "programme=orphan / de_facto_orphan, naming the applicant when one is given)"
)


class ApplicationIn(BaseModel):
    model_config = _IN

    household_id: uuid.UUID
    programme: Programme
    applicant_member_id: uuid.UUID | None = None
    consent_signed: bool = Field(description="家庭经济状况核对授权书 signed (required for means-tested programmes)")
    separate_register: bool = Field(default=False, description="单独登记备案: relative of staff or a village cadre")
    separate_register_name: PersonName | None = Field(
        default=None, description="the staff member or cadre; required with the flag"
    )
    temporary: TemporaryIn | None = Field(default=None, description="required for programme=temporary")
    medical: MedicalIn | None = Field(default=None, description="required for programme=medical")
    tekun_arrangement: TekunArrangement | None = Field(
        default=None, description="programme=tekun only: institution = 集中供养, home = 分散供养"
    )
    recognitions: list[ChildRecognition] = Field(default_factory=list, max_length=20, description=_RECOGNITIONS)
    received_on: date | None = Field(
        default=None,
        description="受理 date when the paper application was received earlier; defaults to today. Deadlines count "
        "from it.",
    )


class ApplicationAmend(BaseModel):
    """Corrections before a decision; only the fields sent change, at least one."""

    model_config = _PATCH

    applicant_member_id: uuid.UUID | None = None
    consent_signed: bool | None = None
    separate_register: bool | None = None
    separate_register_name: PersonName | None = None
    temporary: TemporaryIn | None = None
    medical: MedicalIn | None = None
    tekun_arrangement: TekunArrangement | None = None
    recognitions: list[ChildRecognition] | None = Field(default=None, max_length=20, description=_RECOGNITIONS)

    _required = field_validator("consent_signed", "separate_register")(reject_null)
    _some = model_validator(mode="after")(require_a_field)


class Withdrawal(BaseModel):
    model_config = _IN

    reason: str = Field(min_length=1, max_length=500)


class DocumentOut(BaseModel):
    kind: str
    name: str
    note: str


class ApplicationQuery(RegionListQuery):
    """Which applications a list shows (the caller's region or a township or village of it, narrowed by household,
    programme and status; by a member's ID number in the `X-Id-Number` header), newest first."""

    household_id: uuid.UUID | None = None
    programme: Programme | None = None
    status: ApplicationStatus | None = None


class ApplicationOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: str
    status: ApplicationStatus = Field(
        description="submitted, in_review, withdrawal_requested (until eligibility answers), approved, rejected, "
        "withdrawn; imported for the county's roll (存量对象导入) until eligibility approves its case"
    )
    submitted_on: date
    applicant_member_id: uuid.UUID | None
    consent_signed: bool
    separate_register: bool
    separate_register_name: str | None
    details: ApplicationDetails = Field(description="the programme's facts, tagged by programme")
    required_documents: list[DocumentOut]
    missing_documents: list[DocumentOut] = Field(description="一次性告知: everything still missing, at once")
    case_id: uuid.UUID | None
    case_status: str | None
    next_deadline: date | None
    next_deadline_provisional: bool = Field(
        description="counted Monday–Friday: no official holiday calendar yet for a year it spans"
    )
    decision: dict[str, Any] | None
    withdrawn_reason: str | None
    withdrawal: str | None = Field(description="requested, accepted or refused: eligibility's answer, never a guess")
    withdrawal_refused_because: str | None
    updated_at: datetime
    version: int = Field(description="bumped by every write; the ETag header carries it")


class EvidenceOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    kind: str
    description: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ApplicationPage(Page[ApplicationOut]):
    """Newest first (by when it was received, then by id)."""
