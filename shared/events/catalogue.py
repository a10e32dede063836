"""The event catalogue: every event type the platform emits, its topic, version and data schema.

Types are `cn.gov.mca.assistance.<aggregate>.<what happened>.v<N>`. A breaking change to a data schema gets a new
version (a new entry) and both are published until every consumer has moved. The README lists this table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.household import HouseholdSnapshot
from shared.period import Period

PREFIX = "cn.gov.mca.assistance"

Programme = Literal[
    "dibao", "tekun", "temporary", "medical", "marginal", "rigid_expense",
    "orphan", "de_facto_orphan", "disability_living", "disability_care",
]
PROGRAMMES: tuple[str, ...] = Programme.__args__  # type: ignore[attr-defined]


class Topic(StrEnum):
    """Few topics, named by the producing service; each has a `<topic>.dlq` for poison messages."""

    INTAKE_APPLICATIONS = "intake.applications"
    ELIGIBILITY_DECISIONS = "eligibility.decisions"
    PAYMENTS_DISBURSEMENTS = "payments.disbursements"
    MONITORING_ALERTS = "monitoring.alerts"


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- intake.applications ------------------------------------------------------------------------------------------


class MemberIdentity(EventData):
    """Who a member is, for matching partner data: the keyed fingerprint of the ID number, never the number."""

    member_id: uuid.UUID
    id_fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description="shared.identity.id_fingerprint")


class HouseholdRegistered(EventData):
    """户籍登记: a household and its members are on file at the township."""

    household_id: uuid.UUID
    region_code: str
    snapshot: HouseholdSnapshot
    identities: list[MemberIdentity] = Field(default_factory=list, description="the active members' fingerprints")


class HouseholdUpdated(HouseholdRegistered):
    """A household's facts changed (members, income, property)."""


class ApplicationSubmitted(EventData):
    """申请受理: an application was accepted at the front desk, with the snapshot eligibility assesses."""

    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    submitted_on: date
    applicant_member_id: uuid.UUID | None = None
    consent_signed: bool
    separate_register: bool = Field(description="单独登记备案: relative of staff or a village cadre")
    details: dict[str, Any] = Field(default_factory=dict, description="programme-specific facts (temporary, medical)")
    snapshot: HouseholdSnapshot


class ApplicationAmended(ApplicationSubmitted):
    """The applicant corrected facts before a decision."""


class ApplicationWithdrawn(EventData):
    """The applicant withdrew before a decision."""

    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    reason: str | None = None


# --- eligibility.decisions ----------------------------------------------------------------------------------------


class CaseOpened(EventData):
    """A case was opened for an application; `due_date` is its nearest deadline."""

    case_id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    status: str
    due_date: date | None = None


class CaseStatusChanged(EventData):
    """A case moved to another step of the procedure."""

    case_id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    status: str
    previous_status: str
    due_date: date | None = None


class CaseApproved(EventData):
    """审核确认: the county (or delegated township) approved; payment starts in `effective_month`."""

    case_id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    member_ids: list[uuid.UUID]
    monthly_amount_fen: int | None = Field(default=None, ge=0)
    one_off_amount_fen: int | None = Field(default=None, ge=0)
    effective_month: Period
    decided_at: datetime


class CaseRejected(EventData):
    """不予批准: rejected, with the written reasons sent to the applicant."""

    case_id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    reasons: list[str] = Field(min_length=1)
    decided_at: datetime


class CaseAmountChanged(EventData):
    """调整保障金: a review changed the monthly amount from `effective_month`."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    previous_monthly_amount_fen: int = Field(ge=0)
    monthly_amount_fen: int = Field(ge=0)
    effective_month: Period


class GradualExitStarted(EventData):
    """渐退: income from work rose above the standard; payment continues until `last_month`, then stops."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    last_month: Period


class CaseTerminated(EventData):
    """停保: off the roll after `last_month` (death, fraud, moved, no longer eligible)."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    reason: Literal["death", "fraud", "moved", "ineligible", "other"]
    last_month: Period


class StandardChanged(EventData):
    """提标: a dated policy value changed for a region; payments back-pays months already paid at the old one."""

    region: str
    key: str
    start: date
    value: Any
    previous_value: Any = None
    reference: str


# --- payments.disbursements ---------------------------------------------------------------------------------------


class BeneficiaryEnrolled(EventData):
    """纳入保障名册: a household is on the roll from `start_month`."""

    beneficiary_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    monthly_amount_fen: int = Field(ge=0)
    start_month: Period


# --- monitoring.alerts --------------------------------------------------------------------------------------------

AlertType = Literal[
    "below_monitoring_line", "low_income_uncovered", "high_medical_cost", "disability_uncovered",
    "recipient_death", "possible_overpayment", "sudden_hardship",
]
AlertOutcome = Literal["brought_into_assistance", "not_eligible", "recipient_change", "death_reported"]
NotEligibleReason = Literal["basic_situation", "income", "property", "rigid_spending", "per_capita_income"]


class AlertRaised(EventData):
    """预警: partner data matched a risk rule; the alert is dispatched to the household's township."""

    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alert_type: AlertType
    due_date: date | None
    trace: dict[str, Any] = Field(description="the rule and the parameter values that fired")


class AlertVerified(EventData):
    """核实: the township verified an alert; `recipient_change` asks eligibility for a review, and
    `brought_into_assistance` asks intake for a draft application of `programme`."""

    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alert_type: AlertType
    outcome: AlertOutcome
    programme: Programme | None = None
    reasons: list[NotEligibleReason] = Field(default_factory=list)
    note: str | None = None
    verified_on: date


class AlertClosed(EventData):
    """办结: an alert is closed with its recorded outcome."""

    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alert_type: AlertType
    outcome: AlertOutcome
    closed_on: date


class DeathReported(EventData):
    """死亡比对: a partner's death record matched a recipient; eligibility stops the case after the month of death."""

    alert_id: uuid.UUID
    household_id: uuid.UUID
    member_id: uuid.UUID
    region_code: str
    death_date: date
    source: str = Field(description="the reporting agency, e.g. public_security")


class FeedProcessed(EventData):
    """数据比对完成: a partner feed file was loaded and matched."""

    feed_id: uuid.UUID
    partner: str
    kind: str
    region_code: str
    status: Literal["loaded", "rejected"]
    rows_read: int = Field(ge=0)
    rows_loaded: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    alerts_raised: int = Field(ge=0)


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: Topic
    data: type[EventData]
    description: str


def _spec(name: str, topic: Topic, data: type[EventData]) -> EventSpec:
    doc = (data.__doc__ or name).strip().splitlines()[0]
    return EventSpec(f"{PREFIX}.{name}", topic, data, doc)


CATALOGUE: dict[str, EventSpec] = {
    s.type: s
    for s in (
        _spec("household.registered.v1", Topic.INTAKE_APPLICATIONS, HouseholdRegistered),
        _spec("household.updated.v1", Topic.INTAKE_APPLICATIONS, HouseholdUpdated),
        _spec("application.submitted.v1", Topic.INTAKE_APPLICATIONS, ApplicationSubmitted),
        _spec("application.amended.v1", Topic.INTAKE_APPLICATIONS, ApplicationAmended),
        _spec("application.withdrawn.v1", Topic.INTAKE_APPLICATIONS, ApplicationWithdrawn),
        _spec("case.opened.v1", Topic.ELIGIBILITY_DECISIONS, CaseOpened),
        _spec("case.status_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseStatusChanged),
        _spec("case.approved.v1", Topic.ELIGIBILITY_DECISIONS, CaseApproved),
        _spec("case.rejected.v1", Topic.ELIGIBILITY_DECISIONS, CaseRejected),
        _spec("case.amount_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseAmountChanged),
        _spec("case.gradual_exit_started.v1", Topic.ELIGIBILITY_DECISIONS, GradualExitStarted),
        _spec("case.terminated.v1", Topic.ELIGIBILITY_DECISIONS, CaseTerminated),
        _spec("policy.standard_changed.v1", Topic.ELIGIBILITY_DECISIONS, StandardChanged),
        _spec("beneficiary.enrolled.v1", Topic.PAYMENTS_DISBURSEMENTS, BeneficiaryEnrolled),
        _spec("alert.raised.v1", Topic.MONITORING_ALERTS, AlertRaised),
        _spec("alert.verified.v1", Topic.MONITORING_ALERTS, AlertVerified),
        _spec("alert.closed.v1", Topic.MONITORING_ALERTS, AlertClosed),
        _spec("death.reported.v1", Topic.MONITORING_ALERTS, DeathReported),
        _spec("feed.processed.v1", Topic.MONITORING_ALERTS, FeedProcessed),
    )
}


def spec_for(event_type: str) -> EventSpec:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise KeyError(f"unknown event type {event_type!r}: add it to shared/events/catalogue.py") from None


def event_type(data: type[EventData]) -> str:
    """The catalogue type for a data class, so code names the class rather than a string."""
    for spec in CATALOGUE.values():
        if spec.data is data:
            return spec.type
    raise KeyError(f"{data.__name__} is not in the catalogue")
