"""案件 as a domain model: one application's way through the procedure (审核确认程序) and its life on the roll.

A plain class, no database, web framework or Kafka: each step of the procedure is one method that checks it may be
taken (`workflow`), applies the programme's rule (`policy`) and the region's dated parameters, and records what it
did (a `StepRecord` per step, with the opinion) and the domain events it raises. The repository maps a `Case` to
and from its row; the service loads it, calls one method, saves it and audits the steps it recorded.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from services.eligibility.cases import schedule as sched
from services.eligibility.cases import workflow
from services.eligibility.cases.deadlines import deadline, limits
from services.eligibility.cases.schedule import Segment, Unpriceable
from services.eligibility.cases.workflow import CaseStep, Status, Timeline
from services.eligibility.policy import ApplicationFacts, Assessment, ParameterSet, assess
from services.eligibility.policy.assessment import Programme
from shared.aggregate import Aggregate, Routing
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period, china_today
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events.catalogue import (
    ONE_OFF,
    PERSON_LEVEL,
    ApplicationDetails,
    ApplicationImported,
    ApplicationSubmitted,
    CaseAmountChanged,
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseScheduleChanged,
    CaseStatusChanged,
    CaseTerminated,
    CaseWithdrawalRefused,
    EventData,
    GradualExitStarted,
    ScheduleReason,
)
from shared.schemas import attributes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who takes a step: an official (their subject and roles) or eligibility itself (`SYSTEM`)."""

    sub: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


SYSTEM = Actor("eligibility", frozenset({"system"}))
#: How a member who died is marked in the case's facts (not counted, "死亡 <date>"): a later review keeps them out.
DEATH = "死亡"
#: How a member the front desk took out of the household is marked (not counted, "离户 <date>").
LEFT = "离户"


class Departure(NamedTuple):
    """How a counted member's going is recorded: their mark in the facts, the schedule's reason from the month
    after, the stop's reason when nobody remains, and the step."""

    marker: str
    schedule_reason: ScheduleReason
    stop_reason: str
    step: str


DIED = Departure(DEATH, "death", "death", "death_reported")
LEFT_HOUSEHOLD = Departure(LEFT, "review", "moved", "member_left")


@dataclass(frozen=True)
class StepContext:
    """What every step needs besides its own facts: who takes it, under which dated parameters, and on which date
    (`on`, by default `today`: today in China unless a test fixes it)."""

    actor: Actor
    params: ParameterSet
    on: date | None = None
    today: date = field(default_factory=china_today)


class RecomputedFor(BaseModel):
    """The dated value (提标) whose recompute last set a case's assessment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str
    key: str
    start: date


class CaseAssessment(Assessment):
    """认定结果 as the case keeps it: the rule's assessment and the date it was made on. A rule that could not run
    (missing facts, no parameter for the region or date) is kept as not eligible, with why, and no programme."""

    programme: Programme | None = None  # type: ignore[assignment]
    assessed_on: date | None = None
    recomputed_for: RecomputedFor | None = None

    @classmethod
    def of(cls, result: Assessment, on: date, recomputed_for: RecomputedFor | None = None) -> CaseAssessment:
        # The rule's result is validated already (a 提标 makes one per case): its fields are taken as they are.
        return cls.model_construct(**{**result.__dict__, "assessed_on": on, "recomputed_for": recomputed_for})

    @classmethod
    def cannot_assess(cls, why: Exception, on: date) -> CaseAssessment:
        return cls(eligible=False, reasons=[f"cannot assess: {why}"], assessed_on=on)


@dataclass(frozen=True)
class StepRecord:
    """One step taken (审批意见): what, from and to which state, by whom, on which date, with which opinion."""

    step: str
    from_status: Status
    to_status: Status
    actor: Actor
    on: date
    opinion: str | None
    data: dict[str, Any]


@dataclass(eq=False)
class Case(Aggregate):
    """案件: an application (申请事项, typed per programme) on a household's snapshot, assessed by the programme's
    rule, moved step by step to the county decision (审核确认), then kept right on the roll (复核, 渐退, 停保)."""

    id: uuid.UUID
    application_id: uuid.UUID
    household_id: uuid.UUID
    programme: Programme
    region_code: str
    status: Status
    opened_on: date
    status_since: date
    snapshot: HouseholdSnapshot
    details: ApplicationDetails
    applicant_member_id: uuid.UUID | None = None
    assessment: CaseAssessment | None = None
    separate_register: bool = False
    delegated: bool = False
    due_date: date | None = None
    due_date_provisional: bool = False
    home_visits: int = 0
    county_home_visit: bool = False
    complained: bool = False  # 公示期异议: like the separate register, the county visits before approving
    notice_posted_on: date | None = None
    notice_ends_on: date | None = None
    extended: bool = False
    documents_pending: bool = False
    monthly_amount_fen: int | None = None
    one_off_amount_fen: int | None = None
    effective_month: date | None = None  # first day of the month payment starts
    reasons: list[str] | None = None
    decided_at: datetime | None = None
    decided_on: date | None = None
    next_review_on: date | None = None
    exit_last_month: date | None = None  # 渐退: first day of the last month paid
    schedule: list[Segment] = field(default_factory=list)  # 待遇: what the case owes, month by month
    # 医疗救助 the platform approved the household in its other cases, fen by year of the decision: the service
    # supplies it before each step that assesses a medical claim (the annual cap counts it); not stored.
    medical_approved_by_year: dict[int, int] = field(default_factory=dict, repr=False)
    # ... and the deductible (起付线) those approved claims met, fen by year (the deductible counts it); not stored.
    medical_deductible_used_by_year: dict[int, int] = field(default_factory=dict, repr=False)
    events: list[EventData] = field(default_factory=list, repr=False)
    steps: list[StepRecord] = field(default_factory=list, repr=False)

    # --- what the rules and the workflow read -----------------------------------------------------------------

    @property
    def facts(self) -> ApplicationFacts:
        facts = ApplicationFacts.of_application(self.details, self.applicant_member_id)
        if self.programme == "medical" and (self.medical_approved_by_year or self.medical_deductible_used_by_year):
            facts = facts.model_copy(
                update={
                    "medical_approved_by_year": self.medical_approved_by_year,
                    "medical_deductible_used_by_year": self.medical_deductible_used_by_year,
                }
            )
        # Approved once (on the roll, or owed months): its person is 已纳入, not up for a first 认定.
        if self.schedule or self.status in workflow.ON_ROLL:
            return facts.model_copy(update={"already_supported": True})
        return facts

    @property
    def state(self) -> workflow.CaseState:
        temporary = self.facts.temporary if self.programme == "temporary" else None
        return workflow.CaseState(
            status=self.status,
            programme=self.programme,
            emergency=temporary is not None and temporary.type == "emergency",
            one_off=self.status in workflow.ON_ROLL and self.programme in ONE_OFF,
            extended=self.extended,
            documents_pending=self.documents_pending,
            home_visits=self.home_visits,
            delegated=self.delegated or self._township_decides,
            # Posted and no longer on notice: closed (an objection or corrected facts take it down).
            notice_run=self.notice_ends_on is not None and self.status is not Status.PUBLIC_NOTICE,
            county_visit_due=(self.separate_register or self.complained) and not self.county_home_visit,
        )

    @property
    def _township_decides(self) -> bool:
        """临时救助 within the township's limit: the township approves it and reports it to the county (the rule's
        `required_approver`), as a county that delegates its decisions lets it do."""
        a = self.assessment
        return self.programme == "temporary" and a is not None and a.required_approver == "township"

    @property
    def next_steps(self) -> list[str]:
        return workflow.allowed_steps(self.state)

    def assess(self, params: ParameterSet, on: date, snapshot: HouseholdSnapshot | None = None) -> CaseAssessment:
        """The programme's rule on the case's facts (or on `snapshot`); a rule that cannot run is not eligible."""
        try:
            result = assess(self.programme, snapshot or self.snapshot, on, self.region_code, params, self.facts)
        except (ValueError, KeyError) as exc:  # missing application facts, no parameter for the region or date
            return CaseAssessment.cannot_assess(exc, on)
        return CaseAssessment.of(result, on)

    @property
    def routing(self) -> Routing:
        """A household's events stay in order: keyed by the household."""
        return Routing(key=self.household_id, region=self.region_code)

    def collect_steps(self) -> list[StepRecord]:
        """The steps recorded since the last call, handed over once (to save and audit); the events go to the unit
        of work that tracks the case (`collect_new_events`)."""
        steps, self.steps = self.steps, []
        return steps

    # --- opening and following intake -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data: ApplicationSubmitted,
        params: ParameterSet,
        *,
        medical_approved_by_year: dict[int, int] | None = None,
        medical_deductible_used_by_year: dict[int, int] | None = None,
    ) -> Case:
        """受理: a case for an application, assessed by the programme's rule, with its first deadline
        (`medical_approved_by_year`: what the platform approved the household's other medical claims, by year)."""
        on, region = data.submitted_on, data.region_code
        # The application's facts the case keeps (household, programme, region, snapshot, details...) by name.
        case = cls(
            id=uuid.uuid4(),
            **attributes(data, cls),
            status=Status.ACCEPTED,
            opened_on=on,
            status_since=on,
            delegated=bool(params.at("procedure.delegated_to_township", on, region).value),
            medical_approved_by_year=dict(medical_approved_by_year or {}),
            medical_deductible_used_by_year=dict(medical_deductible_used_by_year or {}),
        )
        case.assessment = case.assess(params, on)
        case._refresh_due(params)
        case._raise(CaseOpened, received_on=on)
        return case

    @classmethod
    def open_refused(cls, data: ApplicationSubmitted, params: ParameterSet, live: uuid.UUID) -> Case:
        """A second application for a programme the household already has a live case of (a replay or a race
        past intake's check): the case is opened and refused at once, naming the live one, so intake shows why
        and the household is never on the roll twice (一户一案: a review changes the first)."""
        case = cls.open(data, params)
        reason = f"该家庭已有{data.programme}案件 {live} (在办或在保): 如需变更, 请通过复核"
        case.reasons, case.decided_at, case.decided_on = [reason], datetime.now(UTC), data.submitted_on
        case.status = Status.REJECTED  # decided as it opens: no deadline to count, no step of the procedure
        case._refresh_due(params)
        case._raise(CaseRejected, reasons=case.reasons, decided_at=case.decided_at)
        return case

    @classmethod
    def imported(cls, data: ApplicationImported, params: ParameterSet, today: date, actor: Actor = SYSTEM) -> Case:
        """存量对象导入: a household the old system already pays comes in approved, at the amount paid today (never
        re-priced here), with no procedure steps: its history is one step `imported` (by the importer, dated the
        old approval). Owed from the month after `approved_on` at the file's amount for its persons; the months the
        old system paid through `paid_through` are said so to payments (`paid_elsewhere_through`). Our rules price
        it too, on the import day: kept as the case's assessment and in the schedule's basis; when they price it
        otherwise (`amount_differs`) the case is due for review at once and its schedule reads no parameter value,
        so a 提标 leaves it to that review rather than re-pricing the file's amount. Every parameter is read as in
        force on `today`, the import day: an approval of long ago may predate every value we hold."""
        on = data.approved_on
        first = Period.of(on).next()
        case = cls(
            id=uuid.uuid4(),
            # The application's facts the case keeps, by name (a pydantic model's attributes looked up one by one
            # cost more than the rest of the import of a case).
            application_id=data.application_id,
            household_id=data.household_id,
            programme=data.programme,
            region_code=data.region_code,
            snapshot=data.snapshot,
            details=data.details,
            applicant_member_id=data.applicant_member_id,
            separate_register=data.separate_register,
            status=Status.APPROVED,
            opened_on=on,
            status_since=on,
            delegated=bool(params.at("procedure.delegated_to_township", today, data.region_code).value),
        )
        person_level = case.programme in PERSON_LEVEL
        covered = data.covered_member_ids
        if person_level and len(covered) == 1 and case.applicant_member_id not in covered:
            # The person the rule prices (imports of before intake named them sent the 户主, covered or not).
            case.applicant_member_id = covered[0]
        case.assessment = case.assess(params, today)
        ours = case.assessment.monthly_owed_fen
        computed = data.computed_amount_fen if data.computed_amount_fen is not None else ours
        differs = data.amount_differs or computed != data.monthly_amount_fen
        values = () if differs else tuple(case.assessment.trace)
        # Our values price the file's amount only from the month the latest of them started: the months before
        # are the old system's, at what the file says is paid today, and no value dated before that month re-prices
        # them (a rise back-dated to January must not cut to January's standard an amount priced at August's).
        priced_from = max([first, *(Period.of(v.start) for v in values)])

        def owed(member: uuid.UUID | None, fen: int, persons: int) -> list[Segment]:
            if priced_from == first:
                return [Segment(first, None, fen, persons, member, "imported", case.snapshot, values)]
            return [
                Segment(first, priced_from.plus(-1), fen, persons, member, "imported", case.snapshot, ()),
                Segment(priced_from, None, fen, persons, member, "imported", case.snapshot, values),
            ]

        if person_level:
            share, odd = divmod(data.monthly_amount_fen, len(data.covered_member_ids))
            case.schedule = [
                s for i, m in enumerate(data.covered_member_ids) for s in owed(m, share + (odd if i == 0 else 0), 1)
            ]
        else:
            case.schedule = owed(None, data.monthly_amount_fen, data.persons)
        case.schedule = sched.ordered(case.schedule)
        # A finding that holds until a day by age (an orphan's 18th birthday, a disabled child's rate): the file's
        # amount is owed through that month, then what the rule finds, as an approval's schedule is priced.
        limit = case.assessment.valid_until if case.assessment.eligible else None
        if limit is not None:
            case._after_age(params, Period.of(limit), frozenset(covered) if person_level else None)
        case.monthly_amount_fen, case.effective_month = data.monthly_amount_fen, first.first_day
        case.decided_on, case.decided_at = on, datetime.combine(on, time(), UTC)
        if differs:
            case.next_review_on = today  # flagged: due for review now
        elif data.next_review_on is not None:
            due = data.next_review_on
            case.next_review_on = min(due, limit + timedelta(days=1)) if limit and limit >= today else due
        else:
            case._schedule_review(on, params, after=today)
        case._refresh_due(params)
        paid_through = data.paid_through if data.paid_through >= first else None
        flag = {
            "import_id": str(data.import_id),
            "paid_through": str(data.paid_through),
            "monthly_amount_fen": data.monthly_amount_fen,
            "persons": data.persons,
            "computed_amount_fen": computed,
            "amount_differs": differs,
        }
        opinion = "存量对象导入: 原系统审批, 按现发放金额纳入"
        if differs:
            opinion += "; 金额与现行规则测算不一致, 待复核"
        case.steps.append(StepRecord("imported", Status.APPROVED, Status.APPROVED, actor, on, opinion, flag))
        arrangement = getattr(case.details, "arrangement", None) if case.programme == "tekun" else None
        case._raise(CaseOpened, received_on=on)
        case._raise(
            CaseApproved,
            member_ids=list(data.covered_member_ids),
            monthly_amount_fen=data.monthly_amount_fen,
            one_off_amount_fen=None,
            effective_month=first,
            decided_at=case.decided_at,
            tekun_arrangement=arrangement,
            paid_elsewhere_through=paid_through,
        )
        # The basis says it was imported, at which amount, and what our rules computed.
        segments = [s.to_event(first) for s in case.schedule]
        case._raise(
            CaseScheduleChanged,
            changed_from=first,
            segments=[e.model_copy(update={"basis": {**e.basis, "imported": flag}}) for e in segments],
            reason="imported",
            decided_at=datetime.now(UTC),
        )
        return case

    def _after_age(self, params: ParameterSet, last: Period, members: frozenset[uuid.UUID] | None) -> None:
        """An imported schedule owed as it is through `last`, the month its finding stops holding by age; from the
        month after, what the rule then finds (nothing when it finds the person no longer eligible)."""
        first = last.next()
        try:
            later = sched.price(
                self._rule(params),
                params,
                self.region_code,
                self.snapshot,
                first,
                None,
                "imported",
                person_level=self.programme in PERSON_LEVEL,
                members=members,
            )
        except Unpriceable:
            later = []
        self.schedule = sched.replace_from(self.schedule, first, later, members)

    def amend(self, data: ApplicationSubmitted, params: ParameterSet, today: date) -> None:
        """Corrected facts before a decision: reassess; a case already past investigation goes back to it. A
        decided case is not reopened by a late amendment."""
        if self.status not in workflow.OPEN:
            return
        self.details, self.applicant_member_id = data.details, data.applicant_member_id
        self._corrected(data.snapshot, params, today, "申请人更正了家庭信息")

    def household_changed(self, snapshot: HouseholdSnapshot, params: ParameterSet, today: date) -> bool:
        """The front desk changed the household (income, property, a member added or taken out) while the case is
        in the procedure: the amendment's route on the new facts. The snapshot is everything the rule reads, so a
        snapshot equal to the case's (a redelivery, a change of contact details) changes nothing; a decided case
        follows its household by its own routes (review, 离户, death). True when the case changed."""
        if self.status not in workflow.OPEN or snapshot == self.snapshot:
            return False
        self._corrected(snapshot, params, today, "前台更新了家庭信息")
        return True

    def _corrected(self, snapshot: HouseholdSnapshot, params: ParameterSet, today: date, opinion: str) -> None:
        """New facts before a decision, from the applicant or the front desk: reassessed; from the township's review
        on, back to investigation (what was checked, appraised or posted was the old facts)."""
        self.snapshot = snapshot
        self.assessment = self.assess(params, self.status_since)
        self.notice_posted_on = self.notice_ends_on = None  # a notice of the old facts: posted again on the new
        if self.status not in (Status.ACCEPTED, Status.INVESTIGATION):
            self._move(StepContext(SYSTEM, params), "amended", Status.INVESTIGATION, today, opinion, {})
        else:
            self._refresh_due(params)

    def withdraw(self, reason: str, params: ParameterSet, today: date) -> bool:
        """The applicant's withdrawal request: an open case closes (withdrawn); a decided one stands and says so
        (case.withdrawal_refused), so intake and eligibility never disagree. False when refused."""
        if self.status in workflow.OPEN:
            self._move(StepContext(SYSTEM, params), CaseStep.WITHDRAW, Status.WITHDRAWN, today, reason, {})
            return True
        if self.status is Status.WITHDRAWN:
            return True  # answered already
        why = f"the case was already decided: {self.status.value}" + (
            f" on {self.decided_on}" if self.decided_on else ""
        )
        self._raise(CaseWithdrawalRefused, reason=why)
        return False

    # --- steps taken by officials -----------------------------------------------------------------------------

    def _begin(self, step: CaseStep, ctx: StepContext) -> date:
        """The step may be taken now by this actor (403 before 409), on a date neither in the future nor before
        the current step began: that date."""
        workflow.check_step(step, self.state, ctx.actor.roles)
        on = ctx.on or ctx.today
        if on > ctx.today:
            raise InvalidInput("on", "cannot be in the future")
        if on < self.status_since:
            raise InvalidInput("on", f"cannot be before the current step began ({self.status_since})")
        return on

    def start_investigation(self, ctx: StepContext, *, opinion: str | None = None) -> None:
        on = self._begin(CaseStep.INVESTIGATION, ctx)
        self._move(ctx, CaseStep.INVESTIGATION, Status.INVESTIGATION, on, opinion, {})

    def record_home_visit(
        self,
        ctx: StepContext,
        *,
        investigators: list[str],
        findings: str,
        by_county: bool = False,
        opinion: str | None = None,
    ) -> None:
        """入户调查; the county's own visit (separate register, 单独登记备案) is recorded by the county."""
        on = self._begin(CaseStep.HOME_VISITS, ctx)
        if by_county and not ctx.actor.has_any("county_approver"):
            raise Forbidden("a county home visit is recorded by the county")
        self.home_visits += 1
        self.county_home_visit = self.county_home_visit or by_county
        self._move(
            ctx,
            CaseStep.HOME_VISITS,
            self.status,
            on,
            opinion,
            {"investigators": investigators, "findings": findings, "by_county": by_county},
        )

    def record_economic_check(
        self, ctx: StepContext, *, result: str, notes: str = "", opinion: str | None = None
    ) -> None:
        """经济状况核对: the rule runs again on the date of the check; the township gives its opinion next."""
        on = self._begin(CaseStep.ECONOMIC_CHECK, ctx)
        self.assessment = self.assess(ctx.params, on)
        self._move(
            ctx, CaseStep.ECONOMIC_CHECK, Status.TOWNSHIP_REVIEW, on, opinion, {"result": result, "notes": notes}
        )

    def township_opinion(self, ctx: StepContext, *, recommendation: Literal["approve", "reject"], opinion: str) -> None:
        """乡镇初审: a rejection goes to the county on the township's reasons (nothing to post: the county rejects,
        or sends it to the notice); an approval goes to democratic appraisal where the region requires it for the
        programme, otherwise to the public notice."""
        on = self._begin(CaseStep.TOWNSHIP_OPINION, ctx)
        if recommendation == "reject":
            to = Status.COUNTY_REVIEW
        elif (
            self.programme in ctx.params.at("procedure.democratic_appraisal_programmes", on, self.region_code).value
            and ctx.params.at("procedure.democratic_appraisal_required", on, self.region_code).value
        ):
            to = Status.APPRAISAL
        else:
            to = self._post_notice(on, ctx.params)
        self._move(ctx, CaseStep.TOWNSHIP_OPINION, to, on, opinion, {"recommendation": recommendation})

    def record_appraisal(
        self, ctx: StepContext, *, result: Literal["agreed", "disagreed"], participants: int, opinion: str
    ) -> None:
        """民主评议: agreed → public notice; disagreed → the county, unposted (it rejects, or sends it to the
        notice)."""
        on = self._begin(CaseStep.APPRAISAL, ctx)
        to = self._post_notice(on, ctx.params) if result == "agreed" else Status.COUNTY_REVIEW
        self._move(ctx, CaseStep.APPRAISAL, to, on, opinion, {"result": result, "participants": participants})

    def post_notice(self, ctx: StepContext, *, opinion: str) -> None:
        """公示 from the county's review: the county does not follow the township's rejection or the appraisal's
        disagreement, so the case is posted in the village for 7 days from `on`; closed without objection, it comes
        back to the county, which may then approve it."""
        on = self._begin(CaseStep.NOTICE, ctx)
        to = self._post_notice(on, ctx.params)
        self._move(ctx, CaseStep.NOTICE, to, on, opinion, {"notice_ends_on": str(self.notice_ends_on)})

    def record_objection(self, ctx: StepContext, *, objection: str, opinion: str | None = None) -> None:
        """公示期异议: the notice is taken down and the case goes back to investigation."""
        on = self._begin(CaseStep.NOTICE_OBJECTIONS, ctx)
        assert self.notice_ends_on is not None
        if on > self.notice_ends_on:
            # The objection window is the 7-day notice itself; a later complaint is the county's to weigh before it
            # decides (its own home visit, or a rejection with reasons), not a notice objection.
            raise InvalidInput(
                "on",
                f"after the public notice ended ({self.notice_ends_on}): objections are taken during the 7-day "
                "notice; close it, and a later complaint goes to the county's decision (its own home visit)",
            )
        self.notice_posted_on = self.notice_ends_on = None
        self.complained = True
        self._move(ctx, CaseStep.NOTICE_OBJECTIONS, Status.INVESTIGATION, on, opinion, {"objection": objection})

    def close_notice(self, ctx: StepContext, *, opinion: str | None = None) -> None:
        """公示期满无异议: only after the notice's last day."""
        on = self._begin(CaseStep.NOTICE_CLOSE, ctx)
        assert self.notice_ends_on is not None
        if on <= self.notice_ends_on:
            raise Conflict(
                f"the public notice runs until {self.notice_ends_on}; close it after that",
                allowed_next=[CaseStep.NOTICE_OBJECTIONS],
            )
        self._move(ctx, CaseStep.NOTICE_CLOSE, Status.COUNTY_REVIEW, on, opinion, {})

    def extend(self, ctx: StepContext, *, opinion: str) -> None:
        """延长办理期限: the longer time limit applies from now on."""
        on = self._begin(CaseStep.EXTENSION, ctx)
        self.extended = True
        self._move(ctx, CaseStep.EXTENSION, self.status, on, opinion, {})

    def decide(
        self,
        ctx: StepContext,
        *,
        decision: Literal["approve", "reject"],
        opinion: str,
        reasons: list[str] | None = None,
    ) -> None:
        """审核确认: reject with written reasons, or approve at the rule's amount on the decision date. An approval
        needs the public notice to have run in the village and closed (民发〔2021〕57号: posted 7 days before the
        county decides; a case the township would reject, or the appraisal disagreed with, is sent to it first); a
        case in the separate register, or one an objection to its public notice sent back, needs the county's own
        home visit first; a household the rule finds not eligible cannot be approved."""
        on = self._begin(CaseStep.DECISION, ctx)
        if decision == "reject":
            self.reasons, self.decided_at, self.decided_on = list(reasons or []), datetime.now(UTC), on
            data = {"reasons": self.reasons, **self._decided_on_facts()}
            self._move(ctx, CaseStep.DECISION, Status.REJECTED, on, opinion, data, announce=False)
            self._raise(CaseRejected, reasons=self.reasons, decided_at=self.decided_at)
            return
        if not self.state.notice_run:
            raise Conflict(
                "an approval needs the public notice (公示, 7 days in the village) to have run and closed: reject "
                "with reasons, or send the case to the notice first",
                allowed_next=[CaseStep.NOTICE],
            )
        if self.state.county_visit_due:
            why = (
                "in the separate register (单独登记备案)"
                if self.separate_register
                else "with an objection (公示有异议)"
            )
            raise Conflict(f"a case {why} needs the county's own home visit first", allowed_next=[CaseStep.HOME_VISITS])
        result = self.assess(ctx.params, on)
        if not result.eligible:
            raise Conflict(
                "the rules find the household not eligible on "
                + str(on)
                + ": "
                + "; ".join(result.reasons)
                + " — reject with reasons, or correct the facts",
                allowed_next=[CaseStep.DECISION],
            )
        self.assessment = result
        self._approve(on, result, ctx.params, ctx.today)
        self._schedule_review(on, ctx.params)
        self._move(
            ctx,
            CaseStep.DECISION,
            Status.APPROVED,
            on,
            opinion,
            {
                "monthly_amount_fen": self.monthly_amount_fen,
                "one_off_amount_fen": self.one_off_amount_fen,
                **self._decided_on_facts(),
            },
            announce=False,
        )

    def _eligible_but_for_work(self, params: ParameterSet, on: date, snapshot: HouseholdSnapshot) -> bool:
        """渐退 is for income from work lifting the household above the standard (domain.md): the rule finds it
        eligible once the wages of its members in work are left out (not when its property, or other income,
        puts it out)."""
        working = {m.member_id for m in snapshot.counted_members() if m.employed}
        without = snapshot.model_copy(
            update={
                "incomes": [
                    i
                    for i in snapshot.incomes
                    if not (i.kind == "wages" and (i.member_id is None or i.member_id in working))
                ]
            }
        )
        return bool(self.assess(params, on, without).eligible)

    def _decided_on_facts(self) -> dict[str, Any]:
        """What a decision was made on, kept with its step: the 审核确认表 records them whatever a later review
        changes (the assessment with its 计算依据, and the household's facts)."""
        assessment = self.assessment.model_dump(mode="json") if self.assessment else None
        return {"assessment": assessment, "snapshot": self.snapshot.model_dump(mode="json")}

    def emergency_approve(self, ctx: StepContext, *, opinion: str) -> None:
        """急难型临时救助: approved and paid first, the paperwork after (documents pending). Above the township's
        limit only the county joint meeting (联席会议) approves: a limit of the procedure, binding an admin too."""
        on = self._begin(CaseStep.EMERGENCY_APPROVAL, ctx)
        result = self.assess(ctx.params, on)
        if not result.eligible:
            raise Conflict("not eligible: " + "; ".join(result.reasons), allowed_next=[])
        if result.required_approver == "county_joint_meeting" and not ctx.actor.has_any("county_approver"):
            raise Forbidden("above the township's limit: the county joint meeting (联席会议) approves this amount")
        self.assessment, self.documents_pending = result, True
        self._approve(on, result, ctx.params, ctx.today)
        self._move(
            ctx,
            CaseStep.EMERGENCY_APPROVAL,
            Status.APPROVED,
            on,
            opinion,
            {"one_off_amount_fen": self.one_off_amount_fen},
            announce=False,
        )
        # The paperwork owed is the case's deadline now (the whole-case limit of the normal procedure): intake shows it.
        self._raise(CaseDeadlineChanged)

    def complete_documents(self, ctx: StepContext, *, opinion: str | None = None) -> None:
        on = self._begin(CaseStep.DOCUMENTS_COMPLETE, ctx)
        self.documents_pending = False
        self._move(ctx, CaseStep.DOCUMENTS_COMPLETE, self.status, on, opinion, {})
        self._raise(CaseDeadlineChanged)  # nothing owed any more

    # --- keeping the roll right -------------------------------------------------------------------------------

    def review(self, ctx: StepContext, *, latest: HouseholdSnapshot | None = None, opinion: str | None = None) -> None:
        """定期核查 on the household's latest facts: same amount, a new amount, 渐退 (income from work above the
        standard, for the programmes the region lets exit gradually), still within 渐退, or stop. The schedule
        from the next month is priced on the latest facts (the months before keep the facts they were owed on)."""
        on = self._begin(CaseStep.REVIEW, ctx)
        snapshot = self._known_deaths(latest) if latest is not None else self.snapshot
        result = self.assess(ctx.params, on, snapshot)
        told: dict[str, Any] = {}
        self.snapshot, self.assessment = snapshot, result
        status, month = self.status, Period.of(on)
        if result.eligible and self.monthly_amount_fen is None and result.monthly_amount_fen is None:
            to = Status.APPROVED  # a standing status with nothing to pay (边缘): confirmed
        elif result.eligible:
            first, before = month.next(), self.schedule
            new = self._priced(ctx.params, snapshot, first, "review", fallback=result)
            after = sched.replace_from(before, first, new)
            # The same facts owing the same: the schedule stands as it was (no change to announce).
            same = not sched.deltas(before, after, first) and all(
                s.snapshot == snapshot for s in sched.from_month(before, first)
            )
            self.schedule = before if same else after
            new_amount = sched.total(self.schedule, first)
            if new_amount != self.monthly_amount_fen or status is Status.GRADUAL_EXIT:
                self._raise(
                    CaseAmountChanged,
                    previous_monthly_amount_fen=self.monthly_amount_fen,
                    monthly_amount_fen=new_amount,
                    effective_month=first,
                )
                self.monthly_amount_fen, self.exit_last_month = new_amount, None
            if not same:
                self._schedule_changed(before, first, "review")
                told = _told(before, self.schedule, first)
            to = Status.APPROVED
        elif (
            status is Status.APPROVED
            and any(m.employed for m in snapshot.counted_members())
            and self.programme in ctx.params.at("exit.gradual_programmes", on, self.region_code).value
            and self._eligible_but_for_work(ctx.params, on, snapshot)
        ):
            last = month.plus(int(ctx.params.at("exit.gradual_max_months", on, self.region_code).value))
            self.exit_last_month = last.first_day
            self._raise(GradualExitStarted, last_month=last)
            before = self.schedule
            self.schedule = sched.relabel(before, month.next(), last, "gradual_exit")
            self._schedule_changed(before, month.next(), "gradual_exit")
            to = Status.GRADUAL_EXIT
        elif status is Status.GRADUAL_EXIT and self.exit_last_month and month < Period.of(self.exit_last_month):
            to = Status.GRADUAL_EXIT  # still within the exit period
        else:
            self._end("ineligible", month)
            to = Status.TERMINATED
        if to is Status.TERMINATED:
            self.next_review_on = None
        else:
            self._schedule_review(on, ctx.params)
        self._move(
            ctx,
            CaseStep.REVIEW,
            to,
            on,
            opinion,
            {"eligible": result.eligible, "monthly_amount_fen": result.monthly_amount_fen, **told},
        )

    def terminate(
        self,
        ctx: StepContext,
        *,
        reason: Literal["death", "fraud", "moved", "other"],
        opinion: str,
        death_date: date | None = None,
        member_id: uuid.UUID | None = None,
    ) -> None:
        """停保. Never pay for months obtained by fraud: then the last month paid is the one before. A death is
        the death rule's, whoever reports it (`member_died`): the date of death is asked for, and the member who
        died when the case covers more than one person."""
        on = self._begin(CaseStep.TERMINATION, ctx)
        if reason != "death":
            for name, value in (("death_date", death_date), ("member_id", member_id)):
                if value is not None:
                    raise InvalidInput(name, "only for a termination for a death")
            last = Period.of(on).plus(-1) if reason == "fraud" else Period.of(on)
            self._stop(ctx, CaseStep.TERMINATION, reason, last, on, opinion, {})
            return
        if death_date is None:
            raise InvalidInput("death_date", "the date of death is required to stop for a death")
        if death_date > on:
            raise InvalidInput("death_date", f"cannot be after the termination date ({on})")
        persons = self.persons()
        if member_id is None:
            if len(persons) != 1:
                raise InvalidInput("member_id", "the case covers several persons: name the member who died")
            member_id = persons[0]
        elif member_id not in persons:
            raise InvalidInput("member_id", "not a person this case covers")
        self._member_died(
            ctx, CaseStep.TERMINATION, member_id, death_date, on, opinion, {"death_date": str(death_date)}
        )

    # --- from monitoring's partner data -----------------------------------------------------------------------

    def report_death(
        self,
        member_id: uuid.UUID,
        death_date: date,
        source: str,
        alert_id: uuid.UUID,
        params: ParameterSet,
        today: date,
    ) -> None:
        """死亡比对: the death rule (`member_died`) for a person the case covers."""
        opinion = f"死亡比对 ({source}): 成员于 {death_date} 死亡"
        self.member_died(member_id, death_date, today, params, opinion, {"alert_id": str(alert_id)})

    def member_died(
        self,
        member_id: uuid.UUID,
        death_date: date,
        today: date,
        params: ParameterSet,
        opinion: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        """A death the case is told of (a partner's feed, or the front desk recording it with its date): the death
        rule for a person the case covers; others' deaths change nothing. A member the front desk took out after
        the month of their death (离户, the reason not given) is priced out from the month after the death instead:
        those months were owed for the others alone."""
        if self.status not in workflow.ON_ROLL:
            return
        if member_id not in self.persons() and not self._left_after(member_id, Period.of(death_date)):
            return
        if self._impossible_death(member_id, death_date):
            # A wrong date (or a wrong person): stopping on it would end the case before it was opened. An
            # official checks instead.
            log.warning(
                "case %s: a death of %s dated %s, before their birth or the case; review due",
                self.id,
                member_id,
                death_date,
            )
            self.next_review_on = today
            return
        self._member_died(
            StepContext(SYSTEM, params),
            None,
            member_id,
            death_date,
            today,
            opinion,
            {"member_id": str(member_id), **(data or {})},
        )

    def _impossible_death(self, member_id: uuid.UUID, death_date: date) -> bool:
        """A death dated before the member's birth, or before the case was opened. (One between the opening and
        the first month owed is real: the case stops before paying anything.)"""
        born = next((m.birth_date for m in self.snapshot.members if m.member_id == member_id), None)
        return (born is not None and death_date < born) or death_date < self.opened_on

    def _left_after(self, member_id: uuid.UUID, month: Period) -> bool:
        """The member is marked as having left the household (离户 <date>) in a month after `month`."""
        for m in self.snapshot.members:
            reason = m.not_counted_reason or ""
            if m.member_id == member_id and not m.counted and reason.startswith(f"{LEFT} "):
                return Period.of(date.fromisoformat(reason.removeprefix(f"{LEFT} "))) > month
        return False

    def _known_deaths(self, latest: HouseholdSnapshot) -> HouseholdSnapshot:
        """The household's latest facts with the members this case knows died kept out: a death reported by a
        partner's feed reaches eligibility, not intake's copy of the household, which a review reads."""
        dead = {
            m.member_id: m.not_counted_reason
            for m in self.snapshot.members
            if not m.counted and (m.not_counted_reason or "").startswith(DEATH)
        }
        if not any(m.member_id in dead and m.counted for m in latest.members):
            return latest
        return latest.model_copy(
            update={
                "members": [
                    m.model_copy(update={"counted": False, "not_counted_reason": dead[m.member_id]})
                    if m.member_id in dead
                    else m
                    for m in latest.members
                ]
            }
        )

    def members_left(self, present: set[uuid.UUID], on: date, params: ParameterSet) -> None:
        """离户: counted members of a household programme's case (低保, 边缘) are no longer in the household the front
        desk keeps (分户, moved out): the case is priced for those who remain from the month after, its review due
        now (the township rechecks), or stops when nobody remains. A person-level programme follows its person,
        not the household: unchanged. (A death recorded there is `member_died`, from the month after the death.)"""
        if self.status not in workflow.ON_ROLL or self.programme in PERSON_LEVEL:
            return
        for member in [m for m in self.snapshot.counted_members() if m.member_id not in present]:
            self._member_died(
                StepContext(SYSTEM, params),
                None,
                member.member_id,
                on,
                on,
                f"离户: {member.name} 已不在户中 (前台登记)",
                {"member_id": str(member.member_id)},
                gone=LEFT_HOUSEHOLD,
            )

    def persons(self) -> list[uuid.UUID]:
        """Whom the case pays for: the persons on its schedule (person-level programmes) or the counted members."""
        if self.programme in PERSON_LEVEL and self.schedule:
            return list(dict.fromkeys(s.member_id for s in self.schedule if s.member_id is not None))
        return [m.member_id for m in self.snapshot.counted_members()]

    def request_review(self, verified_on: date, note: str | None, alert_id: uuid.UUID, params: ParameterSet) -> None:
        """A township found a recipient's situation changed (在保对象情况变化): due for review (定期核查) now."""
        if self.status not in workflow.ON_ROLL:
            return
        self.next_review_on = verified_on
        self._move(
            StepContext(SYSTEM, params),
            "review_requested",
            self.status,
            verified_on,
            note or "动态监测核实: 在保对象情况变化，需复核",
            {"alert_id": str(alert_id)},
        )

    # --- 提标 --------------------------------------------------------------------------------------------------

    def reprice(
        self, params: ParameterSet, change: RecomputedFor, reference: str, today: date, *, announce: bool = True
    ) -> list[sched.Delta] | None:
        """提标重算: every segment owed from the value's month on whose pricing read its key, priced again with
        *its own* facts and the values in force in each of its months — on the roll or not (a case that died,
        stopped or exited is owed the rise for the months it was owed). Returns the months whose fen moved
        (none: nothing to announce, a replay changes nothing), or None when a month can no longer be priced
        (the rule refuses it): a review decides that, the schedule stays. `announce` False (a dry run): the same
        re-pricing, no events or step recorded."""
        if not self.schedule:
            return []
        first, before = Period.of(change.start), self.schedule
        person_level, rule = self.programme in PERSON_LEVEL, self._rule(params)

        def again(segment: Segment, start: Period) -> list[Segment]:
            members = frozenset({segment.member_id}) if segment.member_id else None
            return sched.price(
                rule,
                params,
                self.region_code,
                segment.snapshot,
                start,
                segment.to_month,
                "standard_rise",
                person_level=person_level,
                members=members,
            )

        try:
            after = sched.reprice(before, first, again, lambda s: any(v.key == change.key for v in s.values))
        except Unpriceable:
            return None
        changes = sched.deltas(before, after, first)
        if not changes:
            return []
        self.schedule = after
        on_roll = self.status in workflow.ON_ROLL
        if on_roll and after and (amount := self._current_amount(today)) is not None:
            self.monthly_amount_fen = amount
            # The run owed this month (not one a birthday starts years on), else the open-ended one; a case in 渐退
            # has only runs that end.
            latest = next((s for s in after if s.covers(Period.of(today))), None)
            latest = latest or max((s for s in after if s.to_month is None), key=lambda s: s.from_month, default=None)
            latest = latest or max(after, key=lambda s: s.from_month)
            on = max(latest.from_month.first_day, change.start)
            try:
                result = rule(self.snapshot, on)  # as priced, when the latest segment is on the case's facts
            except (ValueError, KeyError):
                result = None
            if result is not None and result.eligible:
                self.assessment = CaseAssessment.of(result, on, change)
        if not announce:
            return changes
        self._schedule_changed(before, first, "standard_rise", amounts=self.status is Status.APPROVED)
        # No move: the status and its deadline stay; only the step is recorded.
        self.steps.append(
            StepRecord(
                "standard_recompute",
                self.status,
                self.status,
                SYSTEM,
                today,
                reference,
                {
                    "key": change.key,
                    "region": change.region,
                    "start": str(change.start),
                    "changes": [d.to_json() for d in changes],
                },
            )
        )
        return changes

    # --- deadlines --------------------------------------------------------------------------------------------

    def recount_deadline(self, params: ParameterSet) -> None:
        """Count the deadline again (a holiday schedule was loaded) and tell intake (case.deadline_changed)."""
        self._refresh_due(params)
        self._raise(CaseDeadlineChanged)

    # --- internals --------------------------------------------------------------------------------------------

    def _refresh_due(self, params: ParameterSet) -> None:
        # Delegated as the state reads it: 临时救助 the township decides has the delegated whole-case limit too.
        delegated = self.delegated or self._township_decides
        timeline = Timeline(**attributes(self, Timeline) | {"delegated": delegated, "accepted_on": self.opened_on})
        self.due_date, self.due_date_provisional = deadline(params, timeline, self.region_code)

    def _post_notice(self, on: date, params: ParameterSet) -> Status:
        self.notice_posted_on = on
        self.notice_ends_on = workflow.notice_end(on, limits(params, self.opened_on, self.region_code))
        return Status.PUBLIC_NOTICE

    def _approve(self, on: date, result: CaseAssessment, params: ParameterSet, today: date) -> None:
        now = datetime.now(UTC)
        effective = Period.of(on).next()  # payment starts the month after approval
        self.decided_at, self.decided_on, self.effective_month = now, on, effective.first_day
        self.monthly_amount_fen, self.one_off_amount_fen = result.monthly_amount_fen, result.one_off_amount_fen
        if result.monthly_amount_fen is not None:
            # Priced with the values in force in each month it covers: a rise decided before the decision but
            # starting after it (or back-dated before its first month) is in the schedule from the start.
            self.schedule = self._priced(params, self.snapshot, effective, "approval", fallback=result)
            self.monthly_amount_fen = sched.total(self.schedule, effective)
        covered = result.covered_member_ids or [m.member_id for m in self.snapshot.counted_members()]
        # 集中 / 分散供养, as the application chose it: payments' statistics split 特困 by it.
        arrangement = getattr(self.details, "arrangement", None) if self.programme == "tekun" else None
        self._raise(
            CaseApproved,
            member_ids=covered,
            monthly_amount_fen=self.monthly_amount_fen,
            one_off_amount_fen=self.one_off_amount_fen,
            effective_month=effective,
            decided_at=now,
            tekun_arrangement=arrangement,
        )
        if self.schedule:
            # The roll starts at the first month's amount (case.approved); later months a value decided for them
            # moves are amount changes.
            self._schedule_changed([], effective, "approval", amounts=True, roll_from=self.monthly_amount_fen)
            self.monthly_amount_fen = self._current_amount(today)

    def _schedule_review(self, on: date, params: ParameterSet, *, after: date | None = None) -> None:
        """复核: the next review, the programme's interval from `on`; with `after` (an imported case: `on` is the old
        approval), the first such date past it, with the intervals in force then."""
        if self.programme in ONE_OFF:
            return  # one-off help has no roll life (a standing status, 边缘 or 刚性支出, is reviewed like the rest)
        # A member can work: employed, or able and of working age (43号: under 16 and from 60 count as unable).
        young, old = (
            int(params.at(f"tekun.labour.{k}", after or on, self.region_code).value)
            for k in ("minor_age", "elderly_age")
        )
        irregular = any(
            m.employed or (m.labour_capacity == "full" and young <= m.age_on(on) < old)
            for m in self.snapshot.counted_members()
        )
        months = {
            k: int(params.at(f"review.{k}", after or on, self.region_code).value)
            for k in ("regular_months", "irregular_months")
        }
        every = 1
        if after is not None:  # the whole intervals passed since `on` (one more, or two, is past `after`)
            interval = months["irregular_months" if irregular else "regular_months"]
            every = max(Period.of(on).months_until(Period.of(after)) // interval, 1)
        while True:
            due = workflow.review_due(
                on, irregular, every * months["regular_months"], every * months["irregular_months"]
            )
            if after is None or due > after:
                break
            every += 1
        # A finding that holds until a day (刚性支出's status year, an orphan's 18th birthday) is looked at again then.
        limit = self.assessment.valid_until if self.assessment else None
        self.next_review_on = min(due, limit + timedelta(days=1)) if limit and limit >= (after or on) else due

    def _stop(
        self,
        ctx: StepContext,
        step: CaseStep,
        reason: str,
        last: Period,
        on: date,
        opinion: str | None,
        data: dict[str, Any],
    ) -> None:
        self.next_review_on = None
        self._end(reason, last)
        self._move(ctx, step, Status.TERMINATED, on, opinion, {"reason": reason, "last_month": str(last), **data})

    def _end(self, reason: str, last: Period) -> None:
        """Off the roll after `last`: owed nothing after it."""
        self._raise(CaseTerminated, reason=reason, last_month=last)
        if self.schedule:
            before = self.schedule
            self.schedule = sched.until(before, last)
            self._schedule_changed(before, last.next(), "death" if reason == "death" else "termination")

    def _member_died(
        self,
        ctx: StepContext,
        step: str | None,
        member_id: uuid.UUID,
        death_date: date,
        on: date,
        opinion: str | None,
        data: dict[str, Any],
        *,
        gone: Departure | None = None,
    ) -> None:
        """A counted member died (one rule for the feed and the official): a person-level programme stops that
        person's segments after the month of death; a household programme is priced for the remaining members
        from the month after (the township rechecks them: review due now); nobody left, or nobody eligible, and
        the case stops after the month of death. `step` None: the feed's names (terminate / death_reported).
        `gone`: how a member who left otherwise is told (default: died)."""
        marker, why, stop_why, gone_step = gone or DIED
        month, first = Period.of(death_date), Period.of(death_date).next()
        remaining = self.snapshot.model_copy(
            update={
                "members": [
                    m.model_copy(update={"counted": False, "not_counted_reason": f"{marker} {death_date}"})
                    if m.member_id == member_id
                    else m
                    for m in self.snapshot.members
                ]
            }
        )
        before = self.schedule
        if self.programme in PERSON_LEVEL:
            after = sched.until(before, month, frozenset({member_id}))
            others = [p for p in self.persons() if p != member_id]
            alive = bool(others) and any(not s.ends_before(first) for s in after if s.member_id in others)
        else:
            alive = bool(remaining.counted_members())
            after = before
            if alive and before:
                try:
                    new = sched.price(
                        self._rule(ctx.params),
                        ctx.params,
                        self.region_code,
                        remaining,
                        first,
                        # 渐退 keeps its last month: the remaining members are owed until then at most.
                        Period.of(self.exit_last_month)
                        if self.status is Status.GRADUAL_EXIT and self.exit_last_month
                        else None,
                        why,
                        person_level=False,
                    )
                except Unpriceable:
                    self.snapshot = remaining
                    if self.status is Status.APPROVED:
                        self._stop(ctx, step or "terminate", "ineligible", month, on, opinion, data)
                        return
                    new = None  # 渐退 runs out as decided: the kept amount until its last month
                if new is not None:
                    after = sched.replace_from(before, first, new)
        self.snapshot = remaining
        if not alive:
            self._stop(ctx, step or "terminate", stop_why, month, on, opinion, data)
            return
        self.schedule = after
        if before or after:  # a programme without money (边缘) has no schedule to change
            self._schedule_changed(before, first, why, amounts=self.status is Status.APPROVED)
        if after:
            self.monthly_amount_fen = self._current_amount(on) or 0
        self.next_review_on = on
        self._move(ctx, step or gone_step, self.status, on, opinion, {**data, **_told(before, after, first)})

    # --- the schedule ---------------------------------------------------------------------------------------------

    def _current_amount(self, today: date) -> int | None:
        """The monthly amount the case shows: what its schedule owes this month (its first month, if later);
        None when it owes nothing then."""
        if not self.schedule:
            return None
        month = max(Period.of(today), min(s.from_month for s in self.schedule))
        owed = sched.owed(self.schedule, month)
        return sum(owed.values()) if owed else None

    def _rule(self, params: ParameterSet) -> sched.CaseRule:
        """The programme's rule on this case's application facts and region; each (facts, day) assessed once."""
        programme, region, facts = self.programme, self.region_code, self.facts
        seen: dict[tuple[int, date], tuple[HouseholdSnapshot, Assessment]] = {}

        def rule(snapshot: HouseholdSnapshot, on: date) -> Assessment:
            if (hit := seen.get((id(snapshot), on))) is not None and hit[0] is snapshot:
                return hit[1]
            result = assess(programme, snapshot, on, region, params, facts)
            seen[(id(snapshot), on)] = (snapshot, result)
            return result

        return rule

    def _priced(
        self, params: ParameterSet, snapshot: HouseholdSnapshot, first: Period, reason: str, fallback: Assessment
    ) -> list[Segment]:
        """From `first` on, priced month by month; where a later month cannot be priced (a value decided for the
        future makes the rule refuse), the decision's own assessment for every month, as before schedules."""
        try:
            return sched.price(
                self._rule(params),
                params,
                self.region_code,
                snapshot,
                first,
                None,
                reason,  # type: ignore[arg-type]
                person_level=self.programme in PERSON_LEVEL,
            )
        except Unpriceable:
            flat = sched.imported(
                snapshot, fallback, int(fallback.monthly_amount_fen or 0), first, None, self.programme in PERSON_LEVEL
            )
            return [dataclasses.replace(s, reason=reason) for s in flat]

    def _schedule_changed(
        self,
        before: list[Segment],
        first: Period,
        reason: str,
        *,
        amounts: bool = False,
        roll_from: int | None = None,
    ) -> None:
        """待遇变更: the schedule from `first` on, to payments; with `amounts`, also the monthly amounts it moves as
        `case.amount_changed` (one per run of months, latest wins from its month on: what the roll reads; the roll
        at `roll_from` from `first` when given, else at what `before` owed)."""
        self._raise(
            CaseScheduleChanged,
            changed_from=first,
            segments=[s.to_event(first) for s in sched.from_month(self.schedule, first)],
            reason=reason,
            decided_at=datetime.now(UTC),
        )
        if amounts:
            for previous, amount, month in sched.amount_steps(before, self.schedule, first, roll_from):
                self._raise(
                    CaseAmountChanged,
                    previous_monthly_amount_fen=previous,
                    monthly_amount_fen=amount,
                    effective_month=month,
                )

    def _move(
        self,
        ctx: StepContext,
        step: CaseStep,
        to: Status,
        on: date,
        opinion: str | None,
        data: dict[str, Any],
        *,
        announce: bool = True,
    ) -> None:
        """Record a step, move the case, count its deadline again and announce a change of state."""
        previous = self.status
        if to is not previous:
            self.status, self.status_since = to, on
        self._refresh_due(ctx.params)
        self.steps.append(StepRecord(step, previous, self.status, ctx.actor, on, opinion, data))
        if announce and self.status is not previous:
            self._raise(CaseStatusChanged, previous_status=previous.value)

    def _raise(self, event: type[EventData], **data: Any) -> None:
        """Record a domain event: the case's own fields that the event carries (which case, application,
        household, programme and region; its status and deadline now) from the case, the rest from `data`."""
        own = {
            "case_id": self.id,
            "application_id": self.application_id,
            "household_id": self.household_id,
            "programme": self.programme,
            "region_code": self.region_code,
            "status": self.status.value,
            "due_date": self.due_date,
            "due_date_provisional": self.due_date_provisional,
            "decided_on": self.decided_on,
        }
        fields = _field_names(event)
        self.events.append(event(**{k: v for k, v in own.items() if k in fields}, **data))


def _told(before: list[Segment], after: list[Segment], first: Period) -> dict[str, Any]:
    """What the schedule owed for `first` before a step and after it, when the step moved it: kept with the step,
    as the household is told it (调整保障金通知书), from the schedule the roll pays rather than the day's assessment."""
    if not sched.owed(before, first) or not sched.owed(after, first):
        return {}
    was, now = sched.total(before, first), sched.total(after, first)
    return {"from_month": str(first), "before_fen": was, "after_fen": now} if was != now else {}


@functools.cache
def _field_names(event: type[EventData]) -> frozenset[str]:
    # Asked for every event a bulk import raises: pydantic's `model_fields` on the class is a descriptor call.
    return frozenset(event.model_fields)
