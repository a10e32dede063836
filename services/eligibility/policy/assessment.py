"""Inputs beyond the household snapshot (申请事项) and the result of a rule (认定结果 with its 计算依据)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue import (
    NO_CASH,
    PROGRAMMES,
    ApplicationDetails,
    MedicalBill,
    MedicalGroup,
    Programme,
    TemporaryRequest,
)

__all__ = [
    "PROGRAMMES",
    "ApplicationFacts",
    "Approver",
    "Assessment",
    "MedicalBill",
    "MedicalGroup",
    "MemberAward",
    "MissingApplicationFacts",
    "Programme",
    "TemporaryRequest",
    "TraceEntry",
]

#: Who approves a 临时救助: the township meeting (with county filing) or the county joint meeting (联席会议).
Approver = Literal["township", "county_joint_meeting"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class MissingApplicationFacts(ValueError):
    """The programme needs facts from the application that were not given."""


class ApplicationFacts(BaseModel):
    """Facts a rule needs that are not part of the household snapshot."""

    model_config = _FROZEN

    member_id: UUID | None = Field(default=None, description="applicant for person-level programmes; None = all")
    household_programmes: frozenset[Programme] = Field(
        default_factory=frozenset, description="programmes the household already receives (已享受)"
    )
    orphan_member_ids: frozenset[UUID] = Field(default_factory=frozenset, description="经认定的孤儿")
    de_facto_orphan_member_ids: frozenset[UUID] = Field(
        default_factory=frozenset, description="经认定的事实无人抚养儿童"
    )
    recognition_basis: dict[UUID, str] = Field(
        default_factory=dict, description="why each child was recognised (认定依据), for the reasons"
    )
    temporary: TemporaryRequest | None = None
    medical: MedicalBill | None = None
    medical_approved_by_year: dict[int, int] = Field(
        default_factory=dict,
        description="医疗救助 the platform approved the household in its other cases, fen by calendar year of the "
        "decision (the case service supplies it): the annual cap counts the larger of it and the bill's "
        "`paid_this_year_fen`",
    )
    medical_deductible_used_by_year: dict[int, int] = Field(
        default_factory=dict,
        description="起付线 the household's 医疗救助 claims the platform approved met, fen by calendar year of the "
        "decision (their compliant cost left after insurance; the case service supplies it): the deductible counts "
        "the larger of it and the bill's `deductible_used_fen`",
    )
    already_supported: bool = Field(
        default=False,
        description="the case was approved (a review, a re-pricing of its months), not a first 认定: 特困 keeps a "
        "minor it supports until `tekun.labour.supported_minor_age`, and past it while in school",
    )

    @classmethod
    def of_application(cls, details: ApplicationDetails, applicant_member_id: UUID | None) -> ApplicationFacts:
        """The facts an application (as the front desk recorded it) gives the rules."""
        recognised = details.recognitions
        # Fields of the temporary / medical details only: read from the model's values, as a missing attribute of a
        # pydantic model is an exception caught.
        temporary, medical = details.__dict__.get("temporary"), details.__dict__.get("medical")
        if not recognised and temporary is None and medical is None:
            return cls(member_id=applicant_member_id)  # most applications carry only the defaults: nothing to validate
        return cls(
            member_id=applicant_member_id,
            orphan_member_ids=frozenset(r.member_id for r in recognised if r.kind == "orphan"),
            de_facto_orphan_member_ids=frozenset(r.member_id for r in recognised if r.kind == "de_facto_orphan"),
            recognition_basis={r.member_id: r.basis for r in recognised},
            temporary=temporary,
            medical=medical,
        )


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
    valid_until: date | None = Field(
        default=None,
        description="the last day the finding holds by a person's age (an age limit): looked at again then",
    )
    priced_until: date | None = Field(
        default=None,
        description="the last day the amount holds by a person's age alone (分类施保 that starts at the elderly age or "
        "ends at 18): the schedule prices the months after it again, no review is due for it",
    )
    reasons: list[str] = Field(default_factory=list)
    trace: list[TraceEntry] = Field(default_factory=list)

    @property
    def monthly_owed_fen(self) -> int | None:
        """What the finding owes a month: None when not eligible; 0 for a status that pays no cash (the rule
        states no amount, yet an imported 0.00 is exactly what it finds)."""
        if not self.eligible:
            return None
        return 0 if self.programme in NO_CASH else self.monthly_amount_fen
