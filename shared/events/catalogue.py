"""The event catalogue: every event type the platform emits, its topic, version and data schema.

Types are `cn.gov.mca.assistance.<aggregate>.<what happened>.v<N>`. A breaking change to a data schema gets a new
version (a new entry) and both are published until every consumer has moved. The README lists this table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model, model_validator

from shared.core.household import HouseholdSnapshot
from shared.core.period import Period

PREFIX = "cn.gov.mca.assistance"

Programme = Literal[
    "dibao",
    "tekun",
    "temporary",
    "medical",
    "marginal",
    "rigid_expense",
    "orphan",
    "de_facto_orphan",
    "disability_living",
    "disability_care",
]
PROGRAMMES: tuple[str, ...] = Programme.__args__  # type: ignore[attr-defined]
#: Programmes paid per person (待遇到人: 特困, 孤儿, 事实无人抚养儿童, 残疾人两项补贴): one covered member per case, the
#: owed months name the member, and a member's death or exit ends that person's months only.
PERSON_LEVEL: tuple[Programme, ...] = ("tekun", "orphan", "de_facto_orphan", "disability_living", "disability_care")
#: Programmes paid month by month (or a standing status, 边缘): one live entitlement per household and programme
#: (and per person where paid per person) — a second open or approved case is refused; a review changes the first.
RECURRING: tuple[Programme, ...] = ("dibao", "marginal", *PERSON_LEVEL)
#: Programmes paid once (临时救助, 医疗救助): an approved amount is a one-off award, never a monthly schedule.
ONE_OFF: tuple[Programme, ...] = ("temporary", "medical")
#: A standing status that pays no cash by right (低保边缘, 刚性支出): what it owes a month is 0 by definition.
NO_CASH: tuple[Programme, ...] = ("marginal", "rigid_expense")

#: 医疗救助 groups (国办发〔2021〕42号): 低保对象, 特困人员, 低保边缘家庭成员, 返贫致贫人口, 因病致贫重病患者.
MedicalGroup = Literal["dibao", "tekun", "marginal", "returned_poverty", "illness_poverty"]


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
    # The published schema's description keeps the module's name as it was first published; the function is
    # shared.core.identity.id_fingerprint.
    id_fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description="shared.identity.id_fingerprint")


class HouseholdRegistered(EventData):
    """户籍登记: a household and its members are on file at the township."""

    household_id: uuid.UUID
    region_code: str
    snapshot: HouseholdSnapshot
    identities: list[MemberIdentity] = Field(default_factory=list, description="the active members' fingerprints")
    household_version: int | None = Field(
        default=None,
        ge=1,
        description="the household's version at intake (its ETag) these facts are of; an older one never replaces a "
        "newer one (absent: published before versions were carried)",
    )


class MemberDeparture(EventData):
    """A member the front desk took out of the household: died (on the date of death) or left (分户, moved)."""

    member_id: uuid.UUID
    reason: Literal["died", "left"]
    on: date = Field(description="the date of death, or the day the member left")


class HouseholdUpdated(HouseholdRegistered):
    """A household's facts changed (members, income, property)."""

    departures: list[MemberDeparture] = Field(
        default_factory=list, description="the members this change took out of the household, and why"
    )


class TemporaryRequest(EventData):
    """临时救助: 急难型 (emergency: sudden fire, accident, acute illness) or 支出型 (expenditure spike)."""

    type: Literal["emergency", "expenditure"] = Field(description="emergency = 急难型, expenditure = 支出型")
    requested_amount_fen: int = Field(ge=0, description="amount asked for, in 分")
    cause: str = ""


class MedicalBill(EventData):
    """医疗救助: one bill after 基本医保 and 大病保险, plus what this year already used (all in 分)."""

    group: MedicalGroup | None = Field(default=None, description="救助对象类别, if known at the desk")
    bill_total_fen: int = Field(ge=0, description="total of the bill")
    compliant_cost_fen: int | None = Field(default=None, ge=0, description="政策范围内费用; null = the bill total")
    basic_insurance_paid_fen: int = Field(default=0, ge=0, description="基本医保 paid")
    critical_illness_paid_fen: int = Field(default=0, ge=0, description="大病保险 paid")
    paid_this_year_fen: int = Field(
        default=0,
        ge=0,
        description="医疗救助 already paid this year as the desk knows it; the cap counts the larger of it and what "
        "the platform approved the household this year",
    )
    deductible_used_fen: int = Field(default=0, ge=0, description="起付线 already met this year")

    @property
    def compliant_fen(self) -> int:
        return self.bill_total_fen if self.compliant_cost_fen is None else self.compliant_cost_fen


class ChildRecognition(EventData):
    """孤儿认定 (国办发〔2010〕54号) or 事实无人抚养儿童认定 (民发〔2019〕62号) of a child in the household, and why."""

    member_id: uuid.UUID
    kind: Literal["orphan", "de_facto_orphan"]
    basis: str = Field(min_length=1, max_length=500, description="why: 父母双亡, 父母一方死亡另一方服刑 …")


class _Details(EventData):
    recognitions: list[ChildRecognition] = Field(
        default_factory=list, description="children of the household recognised as 孤儿 / 事实无人抚养儿童"
    )


def _programme_only(programme: str) -> type[_Details]:
    """The details of a programme whose application states no facts of its own beyond `recognitions`."""
    name = "".join(word.capitalize() for word in programme.split("_")) + "Details"
    return create_model(name, __base__=_Details, __module__=__name__, programme=(Literal[programme], programme))


DibaoDetails = _programme_only("dibao")

#: 特困供养方式: 集中供养 (in an institution, e.g. the township 敬老院) or 分散供养 (at home).
TekunArrangement = Literal["institution", "home"]


class TekunDetails(_Details):
    programme: Literal["tekun"] = "tekun"
    arrangement: TekunArrangement | None = Field(
        default=None, description="institution = 集中供养, home = 分散供养; None when not yet chosen"
    )


MarginalDetails = _programme_only("marginal")
RigidExpenseDetails = _programme_only("rigid_expense")


class TemporaryDetails(_Details):
    programme: Literal["temporary"] = "temporary"
    temporary: TemporaryRequest


class MedicalDetails(_Details):
    programme: Literal["medical"] = "medical"
    medical: MedicalBill


OrphanDetails = _programme_only("orphan")
DeFactoOrphanDetails = _programme_only("de_facto_orphan")
DisabilityLivingDetails = _programme_only("disability_living")
DisabilityCareDetails = _programme_only("disability_care")


#: 申请事项: the programme-specific facts of an application, one model per programme (tagged by `programme`).
ApplicationDetails = Annotated[
    DibaoDetails
    | TekunDetails
    | MarginalDetails
    | RigidExpenseDetails
    | TemporaryDetails
    | MedicalDetails
    | OrphanDetails
    | DeFactoOrphanDetails
    | DisabilityLivingDetails
    | DisabilityCareDetails,
    Field(discriminator="programme"),
]
_DETAILS = TypeAdapter(ApplicationDetails)


def _upcast_details(programme: str, raw: Any) -> Any:
    """Details as first published (no `programme` tag; temporary as `kind`/`requested_fen`, the medical bill total
    beside the bill) read as today's model, so events already on the topic and rows already stored still parse."""
    if not isinstance(raw, dict) or "programme" in raw:
        return raw
    bill_total = raw.get("medical_bill_total_fen")
    raw = {k: v for k, v in raw.items() if k != "medical_bill_total_fen"}
    if isinstance(t := raw.get("temporary"), dict) and "kind" in t:
        raw["temporary"] = {
            "type": t["kind"],
            "requested_amount_fen": t.get("requested_fen", 0),
            "cause": t.get("cause", ""),
        }
    if isinstance(m := raw.get("medical"), dict) and "bill_total_fen" not in m:
        raw["medical"] = {**m, "bill_total_fen": bill_total if bill_total is not None else m.get("compliant_cost_fen")}
    return {"programme": programme, **raw}


def application_details(programme: str, raw: Any) -> ApplicationDetails:
    """The typed details of an application for `programme` (stored or legacy JSON, or a model)."""
    if isinstance(raw, BaseModel):
        raw = raw.model_dump()
    details = _DETAILS.validate_python(_upcast_details(programme, raw or {}))
    if details.programme != programme:
        raise ValueError(f"details are for {details.programme}, the application for {programme}")
    return details


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
    details: ApplicationDetails = Field(description="programme-specific facts, tagged by programme")
    snapshot: HouseholdSnapshot

    @model_validator(mode="before")
    @classmethod
    def _tag_details(cls, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("details"), BaseModel):
            data = {**data, "details": _upcast_details(str(data.get("programme")), data.get("details") or {})}
        return data

    @model_validator(mode="after")
    def _details_match(self) -> ApplicationSubmitted:
        if self.details.programme != self.programme:
            raise ValueError(f"details are for {self.details.programme}, the application for {self.programme}")
        return self


class ApplicationAmended(ApplicationSubmitted):
    """The applicant corrected facts before a decision."""


class ApplicationImported(ApplicationSubmitted):
    """存量对象导入: a household already receiving the programme under the old system came in with the county's roll
    (no procedure steps). `monthly_amount_fen` and `persons` are what is paid today and stay so until a decision
    changes them (never silently re-priced); `amount_differs` says our rules priced it otherwise at import, so the
    case is flagged for review. Months from the month after `approved_on` through `paid_through` were paid by the
    old system at `monthly_amount_fen`."""

    import_id: uuid.UUID
    imported_by: str | None = Field(default=None, description="the county admin (token subject) who ran the import")
    approved_on: date = Field(description="审批日期 in the old system")
    monthly_amount_fen: int = Field(ge=0)
    persons: int = Field(ge=1)
    covered_member_ids: list[uuid.UUID] = Field(
        min_length=1, description="the members the programme pays for (one, for a person-level programme)"
    )
    next_review_on: date | None = None
    paid_through: Period = Field(description="the last month the old system paid")
    amount_differs: bool = Field(default=False, description="our rules priced it otherwise: flagged for review")
    computed_amount_fen: int | None = Field(default=None, ge=0, description="what our rules priced it at, if known")


class PayeeChanged(EventData):
    """收款账户: a household's bank account was registered, changed or removed; the account is sealed (AES-GCM).

    `sealed` opens (shared.sealing, key `key_id`, associated data = the household id) to JSON
    `{"bank_name", "account_holder", "account_number"}`; null when the account was removed. Only the last four digits
    travel in clear."""

    household_id: uuid.UUID
    region_code: str
    key_id: str | None = None
    sealed: str | None = None
    account_last4: str | None = None
    changed_at: datetime


class VillageName(EventData):
    code: str = Field(pattern=r"^[0-9]{12}$")
    name: str = Field(min_length=1, max_length=100)


class VillagesLoaded(EventData):
    """村(社区)名录: a county loaded its villages (统计用区划代码), which replace its previous list.

    The services that print a village's name (the 审核确认表, the public notices) name it from here; the division
    tables stop at townships."""

    county_code: str = Field(pattern=r"^[0-9]{6}$")
    villages: list[VillageName]
    loaded_at: datetime


class ApplicationWithdrawn(EventData):
    """The applicant asked to withdraw; eligibility, which owns the case, closes it or refuses (already decided)."""

    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    reason: str | None = None


# --- eligibility.decisions ----------------------------------------------------------------------------------------
# Field order is the wire order and the schema's: shared leading fields live in a base class, each event's own after.


class _ApplicationCase(EventData):
    case_id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID


class _ApplicationCaseInRegion(_ApplicationCase):
    region_code: str


class _ProgrammeApplicationCase(_ApplicationCase):
    programme: Programme
    region_code: str


class _ProgrammeCase(EventData):
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str


class CaseOpened(_ProgrammeApplicationCase):
    """A case was opened for an application; `due_date` is its nearest deadline."""

    status: str
    due_date: date | None = None
    due_date_provisional: bool = Field(default=False, description="counted without an official holiday calendar")
    received_on: date | None = Field(
        default=None,
        description="受理日期: the day the front desk received the application, from which deadlines count "
        "(absent from events published before it was added)",
    )


class CaseStatusChanged(_ApplicationCaseInRegion):
    """A case moved to another step of the procedure."""

    status: str
    previous_status: str
    due_date: date | None = None
    due_date_provisional: bool = Field(default=False, description="counted without an official holiday calendar")


class CaseDeadlineChanged(_ApplicationCaseInRegion):
    """A case's deadline was counted again, e.g. on the official holiday calendar once it was loaded."""

    due_date: date | None = None
    due_date_provisional: bool = False


class CaseApproved(_ProgrammeApplicationCase):
    """审核确认: the county (or delegated township) approved; payment starts in `effective_month`."""

    member_ids: list[uuid.UUID]
    monthly_amount_fen: int | None = Field(default=None, ge=0)
    one_off_amount_fen: int | None = Field(default=None, ge=0)
    effective_month: Period
    decided_at: datetime
    decided_on: date | None = Field(
        default=None, description="the decision's date (its step's `on`); `decided_at` is when it was entered"
    )
    tekun_arrangement: TekunArrangement | None = Field(
        default=None, description="特困 only: institution = 集中供养, home = 分散供养 (from the application's details)"
    )
    paid_elsewhere_through: Period | None = Field(
        default=None,
        description="imported cases (存量对象导入): months from `effective_month` through this one were paid by the "
        "old system at `monthly_amount_fen`, so they are not owed again",
    )


class CaseRejected(_ProgrammeApplicationCase):
    """不予批准: rejected, with the written reasons sent to the applicant."""

    reasons: list[str] = Field(min_length=1)
    decided_at: datetime
    decided_on: date | None = Field(
        default=None, description="the decision's date (its step's `on`); `decided_at` is when it was entered"
    )


class CaseAmountChanged(_ProgrammeCase):
    """调整保障金: a review or a standard change (提标) set the monthly amount from `effective_month` (may be past)."""

    previous_monthly_amount_fen: int = Field(ge=0)
    monthly_amount_fen: int = Field(ge=0)
    effective_month: Period


class GradualExitStarted(_ProgrammeCase):
    """渐退: income from work rose above the standard; payment continues until `last_month`, then stops."""

    last_month: Period


class CaseTerminated(_ProgrammeCase):
    """停保: off the roll after `last_month` (death, fraud, moved, no longer eligible)."""

    reason: Literal["death", "fraud", "moved", "ineligible", "other"]
    last_month: Period


ScheduleReason = Literal[
    "approval", "review", "standard_rise", "death", "gradual_exit", "termination", "imported", "correction"
]


class ScheduleSegment(EventData):
    """One dated piece of what a case owes (待遇): `amount_fen` a month from `from_month` to `to_month` (inclusive;
    None = until further decision), for `persons` counted members, priced with the facts and parameter values in
    `basis`. For a person-level programme (特困, orphans, disability subsidies) `member_id` names whose it is."""

    from_month: Period
    to_month: Period | None = None
    amount_fen: int = Field(ge=0)
    persons: int = Field(ge=0)
    member_id: uuid.UUID | None = None
    reason: ScheduleReason
    basis: dict[str, Any] = Field(default_factory=dict, description="parameter values and facts it was priced with")


class CaseScheduleChanged(_ProgrammeCase):
    """待遇变更: what the case owes from `changed_from` on is now `segments` (months not covered are owed nothing).
    Raised with every decision that changes money (approval, review, 提标, death, 渐退, 停保, import); payments
    keeps what is owed from these alone, so it never reconstructs a schedule.

    A person-level programme (特困, orphans, disability subsidies) carries one run of segments per person
    (`member_id` set), each run in month order and not overlapping; runs of different persons may cover the same
    months. A person of the case with no segment here is owed nothing from `changed_from` on (died, exited, or
    the case stopped: then `segments` is empty). A segment starting before `changed_from` is never sent: the
    months before it are as an earlier event said."""

    changed_from: Period
    segments: list[ScheduleSegment]
    reason: ScheduleReason
    decided_at: datetime

    @model_validator(mode="after")
    def _ordered(self) -> CaseScheduleChanged:
        previous: dict[uuid.UUID | None, Period | None] = {}  # per person: the last month of its run so far
        for segment in self.segments:
            if segment.from_month < self.changed_from:
                raise ValueError("a segment starts before changed_from")
            if segment.to_month is not None and segment.to_month < segment.from_month:
                raise ValueError("a segment ends before it starts")
            if segment.member_id in previous:
                last = previous[segment.member_id]
                if last is None or segment.from_month <= last:
                    raise ValueError("segments overlap or are out of order")
            previous[segment.member_id] = segment.to_month
        return self


class CaseWithdrawalRefused(_ApplicationCaseInRegion):
    """撤回未获准: a withdrawal reached eligibility after the case was decided; the decision (`status`) stands."""

    status: str
    reason: str


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


BatchKind = Literal["regular", "urgent", "reissue", "supplement"]


class _Batch(EventData):
    batch_id: uuid.UUID
    kind: BatchKind
    region_code: str
    period: Period


class _BatchEnvelope(_Batch):
    line_count: int = Field(ge=0)
    total_fen: int = Field(ge=0)


class BatchCreated(_Batch):
    """发放批次创建: a disbursement batch was requested; its lines are being built."""

    created_by: str


class BatchApproved(_BatchEnvelope):
    """批次审核: a second officer approved the batch's envelope (count and total)."""

    approved_by: str


class BatchExported(_BatchEnvelope):
    """银行代发文件: the bank file of an approved batch was produced; its lines are with the bank."""


class BatchReconciled(_BatchEnvelope):
    """对账完成: every line of the batch is settled by bank returns (lines = paid + failed)."""

    paid_count: int = Field(ge=0)
    paid_fen: int = Field(ge=0)
    failed_count: int = Field(ge=0)
    failed_fen: int = Field(ge=0)


class BatchAmended(_BatchEnvelope):
    """批次变更: lines of a batch not yet exported were cancelled (a 停保 or death arrived after it was built,
    for months after the last month owed); the envelope is recomputed. An approved batch goes back to `built` and
    must be approved again (`needs_approval`), so the approver sees what changed before the bank does."""

    cancelled_count: int = Field(ge=0)
    cancelled_fen: int = Field(ge=0)
    reason: str
    needs_approval: bool


class _Payment(EventData):
    payment_id: uuid.UUID
    batch_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    period: Period
    amount_fen: int = Field(ge=0)


class PaymentPaid(_Payment):
    """到账: the bank confirmed a line paid (written set-based by bank-return processing; intake shows it)."""


class PaymentFailed(_Payment):
    """发放失败: the bank returned a line unpaid (closed account, wrong name…); it is re-issued in a later batch."""

    reason: str


# --- monitoring.alerts --------------------------------------------------------------------------------------------

AlertType = Literal[
    "below_monitoring_line",
    "low_income_uncovered",
    "high_medical_cost",
    "disability_uncovered",
    "recipient_death",
    "possible_overpayment",
    "sudden_hardship",
]
AlertOutcome = Literal["brought_into_assistance", "not_eligible", "recipient_change", "death_reported"]
NotEligibleReason = Literal["basic_situation", "income", "property", "rigid_spending", "per_capita_income"]


class _Alert(EventData):
    alert_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alert_type: AlertType


class AlertRaised(_Alert):
    """预警: partner data matched a risk rule; the alert is dispatched to the household's township."""

    due_date: date | None
    trace: dict[str, Any] = Field(description="the rule and the parameter values that fired")


class AlertVerified(_Alert):
    """核实: the township verified an alert; `recipient_change` asks eligibility for a review, and
    `brought_into_assistance` asks intake for a draft application of `programme`."""

    outcome: AlertOutcome
    programme: Programme | None = None
    reasons: list[NotEligibleReason] = Field(default_factory=list)
    note: str | None = None
    verified_on: date


class AlertClosed(_Alert):
    """办结: an alert is closed with its recorded outcome."""

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
        _spec("application.imported.v1", Topic.INTAKE_APPLICATIONS, ApplicationImported),
        _spec("payee.changed.v1", Topic.INTAKE_APPLICATIONS, PayeeChanged),
        _spec("villages.loaded.v1", Topic.INTAKE_APPLICATIONS, VillagesLoaded),
        _spec("case.opened.v1", Topic.ELIGIBILITY_DECISIONS, CaseOpened),
        _spec("case.status_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseStatusChanged),
        _spec("case.approved.v1", Topic.ELIGIBILITY_DECISIONS, CaseApproved),
        _spec("case.rejected.v1", Topic.ELIGIBILITY_DECISIONS, CaseRejected),
        _spec("case.amount_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseAmountChanged),
        _spec("case.gradual_exit_started.v1", Topic.ELIGIBILITY_DECISIONS, GradualExitStarted),
        _spec("case.terminated.v1", Topic.ELIGIBILITY_DECISIONS, CaseTerminated),
        _spec("case.schedule_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseScheduleChanged),
        _spec("case.withdrawal_refused.v1", Topic.ELIGIBILITY_DECISIONS, CaseWithdrawalRefused),
        _spec("case.deadline_changed.v1", Topic.ELIGIBILITY_DECISIONS, CaseDeadlineChanged),
        _spec("policy.standard_changed.v1", Topic.ELIGIBILITY_DECISIONS, StandardChanged),
        _spec("beneficiary.enrolled.v1", Topic.PAYMENTS_DISBURSEMENTS, BeneficiaryEnrolled),
        _spec("batch.created.v1", Topic.PAYMENTS_DISBURSEMENTS, BatchCreated),
        _spec("batch.approved.v1", Topic.PAYMENTS_DISBURSEMENTS, BatchApproved),
        _spec("batch.exported.v1", Topic.PAYMENTS_DISBURSEMENTS, BatchExported),
        _spec("batch.reconciled.v1", Topic.PAYMENTS_DISBURSEMENTS, BatchReconciled),
        _spec("batch.amended.v1", Topic.PAYMENTS_DISBURSEMENTS, BatchAmended),
        _spec("payment.paid.v1", Topic.PAYMENTS_DISBURSEMENTS, PaymentPaid),
        _spec("payment.failed.v1", Topic.PAYMENTS_DISBURSEMENTS, PaymentFailed),
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
