"""Cases: opened from intake's applications, moved step by step by township and county officials, assessed by
the region's dated rules, and kept right while on the roll (reviews, 渐退, 停保)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from services.eligibility.cases import workflow
from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import (
    AppraisalIn,
    CaseDetailOut,
    CaseOut,
    DecisionIn,
    EconomicCheckIn,
    EmergencyApproveIn,
    ExtendIn,
    HomeVisitIn,
    ObjectionIn,
    StepIn,
    StepOut,
    TerminateIn,
    TownshipOpinionIn,
)
from services.eligibility.cases.workflow import Limits, Status, Timeline
from services.eligibility.models import Case, CaseStep
from services.eligibility.policy import ApplicationFacts, Assessment, ParameterSet, assess
from services.eligibility.policy.parameters import NATIONAL, region_chain
from services.eligibility.regional_policy.service import effective_parameters
from shared import audit
from shared.auth import Principal
from shared.consumer import Delivery
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import (
    AlertVerified,
    ApplicationAmended,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CaseAmountChanged,
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    CaseTerminated,
    CaseWithdrawalRefused,
    DeathReported,
    GradualExitStarted,
    application_details,
)
from shared.events.envelope import CloudEvent
from shared.household import HouseholdSnapshot
from shared.period import Period
from shared.uow import UnitOfWork
from shared.workdays import WorkCalendar, has_official_calendar

log = logging.getLogger(__name__)
SYSTEM = "eligibility"
_APPLICANT = "applicant_member_id"
CALENDAR_KEY = "calendar.holidays"  # the State Council's 放假调休安排 for a year the library lacks


# --- assessment and deadlines ---------------------------------------------------------------------------------


def _stored_details(data: ApplicationSubmitted) -> dict[str, Any]:
    """The application's typed details as the case keeps them, with the applicant the rules assess."""
    applicant = str(data.applicant_member_id) if data.applicant_member_id else None
    return {**data.details.model_dump(mode="json"), _APPLICANT: applicant}


def _facts(case: Case) -> ApplicationFacts:
    raw = dict(case.details or {})
    applicant = raw.pop(_APPLICANT, None) or raw.pop("member_id", None)  # member_id: cases opened before v2
    details = application_details(case.programme, raw)
    return ApplicationFacts.of_application(details, uuid.UUID(str(applicant)) if applicant else None)


def run_assessment(case: Case, params: ParameterSet, on: date, snapshot: dict | HouseholdSnapshot | None = None
                   ) -> dict[str, Any]:
    """The programme's rule on the case's facts; a rule that cannot run is recorded as not eligible, with why.
    A snapshot already typed (a consumed event's) is used as it is rather than dumped and validated again."""
    raw = snapshot or case.snapshot
    household = raw if isinstance(raw, HouseholdSnapshot) else HouseholdSnapshot.model_validate(raw)
    try:
        result: Assessment = assess(case.programme, household, on, case.region_code, params, _facts(case))
    except (ValueError, KeyError) as exc:  # missing application facts, no parameter for the region or date
        return {"eligible": False, "reasons": [f"cannot assess: {exc}"], "trace": [], "assessed_on": str(on)}
    return {**result.model_dump(mode="json"), "assessed_on": str(on)}


def _limits(params: ParameterSet, on: date, region: str) -> Limits:
    def value(name: str) -> int:
        return int(params.at(f"procedure.{name}", on, region).value)

    return Limits(**{name: value(name) for name in Limits.__dataclass_fields__})


def work_calendar(params: ParameterSet, region: str, years: Iterable[int]) -> WorkCalendar:
    """The working-day calendar for a region: the library's years, and for the years it lacks the State
    Council's schedule as an admin loaded it (calendar.holidays, the nearest region's, latest loaded)."""
    schedules = {}
    for year in years:
        if has_official_calendar(year):
            continue
        for candidate in region_chain(region) if region else [NATIONAL]:
            loaded = [v.value for v in params.history(CALENDAR_KEY, candidate) if v.value.year == year]
            if loaded:
                schedules[year] = loaded[-1]
                break
    return WorkCalendar(schedules)


def _refresh_due(case: Case, params: ParameterSet) -> None:
    timeline = Timeline(programme=case.programme, status=Status(case.status), accepted_on=case.opened_on,
                        status_since=case.status_since, notice_ends_on=case.notice_ends_on,
                        extended=case.extended, delegated=case.delegated)
    # Every deadline falls within a year of the later of the two dates it is counted from.
    cal = work_calendar(params, case.region_code, range(case.opened_on.year, case.status_since.year + 2))
    case.due_date = workflow.due_date(timeline, _limits(params, case.opened_on, case.region_code), cal)
    case.due_date_provisional = case.due_date is not None and cal.provisional(case.opened_on, case.due_date)


async def recount_provisional_deadlines(uow: UnitOfWork, principal: Principal, region: str) -> int:
    """Once a holiday schedule is loaded, count again the deadlines that were counted without one, and tell
    intake (case.deadline_changed). Only open cases due in a year the library lacks: a few per county."""
    params = await effective_parameters(uow)
    cases = await CaseRepository(uow.session).open_with_provisional_due_date("" if region == "national" else region)
    for case in cases:
        _refresh_due(case, params)
        uow.emit(CaseDeadlineChanged(case_id=case.id, application_id=case.application_id,
                                     household_id=case.household_id, region_code=case.region_code,
                                     due_date=case.due_date, due_date_provisional=case.due_date_provisional),
                 key=case.household_id, region=case.region_code)
    await audit.record(uow, principal, "case.recount_deadlines", "case", None,
                       region_code=None if region == "national" else region, details={"count": len(cases)})
    return len(cases)


# --- opening and following intake ------------------------------------------------------------------------------


async def record_households(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """The latest facts of each household (a review reassesses on them), a run of events in one statement."""
    await CaseRepository(uow.session).save_facts({
        d.data.household_id: (d.data.region_code, d.data.snapshot.model_dump(mode="json")) for d in deliveries})


def _new_case(data: ApplicationSubmitted, params: ParameterSet) -> Case:
    """A case for an application, assessed by the programme's rule and with its first deadline (pure: no I/O)."""
    case = Case(
        id=uuid.uuid4(), application_id=data.application_id, household_id=data.household_id,
        programme=data.programme, region_code=data.region_code, status=Status.ACCEPTED.value,
        opened_on=data.submitted_on, status_since=data.submitted_on, separate_register=data.separate_register,
        details=_stored_details(data), snapshot=data.snapshot.model_dump(mode="json"), home_visits=0,
        county_home_visit=False, extended=False, documents_pending=False,
        delegated=bool(params.at("procedure.delegated_to_township", data.submitted_on, data.region_code).value),
    )
    case.assessment = run_assessment(case, params, data.submitted_on, data.snapshot)
    _refresh_due(case, params)
    return case


def _announce_opened(uow: UnitOfWork, case: Case, cause: CloudEvent | None = None) -> None:
    uow.emit(CaseOpened(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                        programme=case.programme, region_code=case.region_code,  # type: ignore[arg-type]
                        status=case.status, due_date=case.due_date, due_date_provisional=case.due_date_provisional),
             key=case.household_id, region=case.region_code, cause=cause)


async def open_cases(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A case per application for a run of submissions, set-based: one query finds the applications that already
    have a case (a redelivered or replayed event changes nothing), the pure rules assess the rest in memory, and
    cases, household facts and audit rows are each written in one statement."""
    repo = CaseRepository(uow.session)
    known = await repo.applications_with_cases([d.data.application_id for d in deliveries])
    params = await effective_parameters(uow)
    opened: list[Case] = []
    audits: list[dict[str, Any]] = []
    for d in deliveries:
        data: ApplicationSubmitted = d.data
        if data.application_id in known:
            continue
        known.add(data.application_id)
        case = _new_case(data, params)
        opened.append(case)
        _announce_opened(uow, case, d.event)
        audits.append({"resource_id": case.id, "household_id": case.household_id, "region_code": case.region_code,
                       "correlation_id": d.event.correlationid})
    if not opened:
        return
    await repo.insert(opened)
    await repo.save_facts({c.household_id: (c.region_code, c.snapshot) for c in opened})
    await audit.record_many(uow, SYSTEM, "case.open", "case", audits)
    log.info("%d cases opened", len(opened))


async def open_case(uow: UnitOfWork, data: ApplicationSubmitted) -> Case:
    """A case per application; a second event for the same application changes nothing."""
    repo = CaseRepository(uow.session)
    if existing := await repo.by_application(data.application_id):
        return existing
    case = _new_case(data, await effective_parameters(uow))
    repo.add(case)
    # Flushed now so a later event in the same consumer batch (an amendment) finds this case.
    await uow.session.flush()
    await repo.save_facts({case.household_id: (case.region_code, case.snapshot)})
    _announce_opened(uow, case)
    await audit.record(uow, SYSTEM, "case.open", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code)
    return case


async def amend_case(uow: UnitOfWork, data: ApplicationAmended) -> None:
    """Corrected facts before a decision: reassess; a case already past investigation goes back to it."""
    case = await CaseRepository(uow.session).by_application(data.application_id, for_update=True)
    if case is None:
        await open_case(uow, data)
        return
    if Status(case.status) not in workflow.OPEN:
        return  # decided cases are not reopened by a late amendment
    params = await effective_parameters(uow)
    case.snapshot, case.details = data.snapshot.model_dump(mode="json"), _stored_details(data)
    case.assessment = run_assessment(case, params, case.status_since)
    if Status(case.status) not in (Status.ACCEPTED, Status.INVESTIGATION):
        await _move(uow, case, SYSTEM, "amended", Status.INVESTIGATION, date.today(), "申请人更正了家庭信息", {},
                    params)
    else:
        _refresh_due(case, params)


async def withdraw_case(uow: UnitOfWork, data: ApplicationWithdrawn) -> None:
    """The case decides a withdrawal request: an open case closes (case.status_changed to withdrawn); a decided
    one stands and intake is told so (case.withdrawal_refused), so the two services never disagree."""
    case = await CaseRepository(uow.session).by_application(data.application_id, for_update=True)
    if case is None:
        # Submission and withdrawal share a partition, so the case exists unless its opening was dead-lettered.
        raise LookupError(f"withdrawal for application {data.application_id}, which has no case")
    status = Status(case.status)
    if status in workflow.OPEN:
        await _move(uow, case, SYSTEM, "withdraw", Status.WITHDRAWN, date.today(), data.reason, {},
                    await effective_parameters(uow))
        return
    if status is Status.WITHDRAWN:
        return  # answered already
    reason = f"the case was already decided: {status.value}" + (f" on {case.decided_on}" if case.decided_on else "")
    uow.emit(CaseWithdrawalRefused(case_id=case.id, application_id=case.application_id,
                                   household_id=case.household_id, region_code=case.region_code,
                                   status=status.value, reason=reason),
             key=case.household_id, region=case.region_code)
    await audit.record(uow, SYSTEM, "case.withdrawal_refused", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code, reason=data.reason, details={"status": status.value})


# --- steps taken by officials ----------------------------------------------------------------------------------


def case_state(case: Case) -> workflow.CaseState:
    status = Status(case.status)
    temporary = _facts(case).temporary if case.programme == "temporary" else None
    return workflow.CaseState(
        status=status,
        emergency=temporary is not None and temporary.type == "emergency",
        one_off=status in workflow.ON_ROLL and case.monthly_amount_fen is None,
        extended=case.extended, documents_pending=case.documents_pending, home_visits=case.home_visits,
        delegated=case.delegated)


async def get_visible(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False
                      ) -> Case:
    case = await CaseRepository(uow.session).get(case_id, for_update=for_update)
    if case is None or not principal.covers(case.region_code):
        raise NotFound(f"case {case_id} not found")
    return case


async def _begin(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, step: str, body: StepIn
                 ) -> tuple[Case, date, ParameterSet]:
    case = await get_visible(uow, principal, case_id, for_update=True)
    try:
        workflow.check_step(step, case_state(case), principal.roles)
    except workflow.IllegalStep as exc:
        raise Conflict(str(exc), allowed_next=exc.allowed) from exc
    except workflow.WrongRole as exc:
        raise Forbidden(str(exc)) from exc
    on = body.on or date.today()
    if on > date.today():
        raise InvalidInput("on", "cannot be in the future")
    if on < case.status_since:
        raise InvalidInput("on", f"cannot be before the current step began ({case.status_since})")
    return case, on, await effective_parameters(uow)


async def _move(uow: UnitOfWork, case: Case, actor: Principal | str, step: str, to: Status, on: date,
                opinion: str | None, data: dict[str, Any], params: ParameterSet, *, announce: bool = True) -> None:
    """Record a step, move the case, recompute its deadline, tell the others, and audit it with the opinion."""
    previous = case.status
    if to.value != previous:
        case.status, case.status_since = to.value, on
    _refresh_due(case, params)
    sub, roles = (actor.sub, sorted(actor.roles)) if isinstance(actor, Principal) else (actor, ["system"])
    CaseRepository(uow.session).add_step(CaseStep(case_id=case.id, step=step, from_status=previous,
                                                  to_status=case.status, actor=sub, roles=roles, on=on,
                                                  opinion=opinion, data=data))
    if announce and case.status != previous:
        uow.emit(CaseStatusChanged(case_id=case.id, application_id=case.application_id,
                                   household_id=case.household_id, region_code=case.region_code,
                                   status=case.status, previous_status=previous, due_date=case.due_date,
                                   due_date_provisional=case.due_date_provisional),
                 key=case.household_id, region=case.region_code)
    await audit.record(uow, actor, f"case.{step}", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code, reason=opinion, details={"to": case.status, **data})


async def start_investigation(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: StepIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "investigation", body)
    await _move(uow, case, p, "investigation", Status.INVESTIGATION, on, body.opinion, {}, params)
    return case


async def record_home_visit(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: HomeVisitIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "home-visits", body)
    if body.by_county and not p.has_any("county_approver"):
        raise Forbidden("a county home visit is recorded by the county")
    case.home_visits += 1
    case.county_home_visit = case.county_home_visit or body.by_county
    await _move(uow, case, p, "home-visits", Status(case.status), on, body.opinion,
                {"investigators": body.investigators, "findings": body.findings, "by_county": body.by_county},
                params)
    return case


async def record_economic_check(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: EconomicCheckIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "economic-check", body)
    case.assessment = run_assessment(case, params, on)
    await _move(uow, case, p, "economic-check", Status.TOWNSHIP_REVIEW, on, body.opinion,
                {"result": body.result, "notes": body.notes}, params)
    return case


async def township_opinion(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: TownshipOpinionIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "township-opinion", body)
    if body.recommendation == "reject":
        to = Status.COUNTY_REVIEW  # nothing to post: the county decides on the township's reasons
    elif case.programme in params.at("procedure.democratic_appraisal_programmes", on, case.region_code).value \
            and params.at("procedure.democratic_appraisal_required", on, case.region_code).value:
        to = Status.APPRAISAL
    else:
        to = _post_notice(case, on, params)
    await _move(uow, case, p, "township-opinion", to, on, body.opinion,
                {"recommendation": body.recommendation}, params)
    return case


def _post_notice(case: Case, on: date, params: ParameterSet) -> Status:
    case.notice_posted_on = on
    case.notice_ends_on = workflow.notice_end(on, _limits(params, case.opened_on, case.region_code))
    return Status.PUBLIC_NOTICE


async def record_appraisal(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: AppraisalIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "appraisal", body)
    to = _post_notice(case, on, params) if body.result == "agreed" else Status.COUNTY_REVIEW
    await _move(uow, case, p, "appraisal", to, on, body.opinion,
                {"result": body.result, "participants": body.participants}, params)
    return case


async def record_objection(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: ObjectionIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "notice/objections", body)
    case.notice_posted_on = case.notice_ends_on = None
    await _move(uow, case, p, "notice/objections", Status.INVESTIGATION, on, body.opinion,
                {"objection": body.objection}, params)
    return case


async def close_notice(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: StepIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "notice/close", body)
    assert case.notice_ends_on is not None
    if on <= case.notice_ends_on:
        raise Conflict(f"the public notice runs until {case.notice_ends_on}; close it after that",
                       allowed_next=["notice/objections"])
    await _move(uow, case, p, "notice/close", Status.COUNTY_REVIEW, on, body.opinion, {}, params)
    return case


async def extend(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: ExtendIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "extension", body)
    case.extended = True
    await _move(uow, case, p, "extension", Status(case.status), on, body.opinion, {}, params)
    return case


def _approve(uow: UnitOfWork, case: Case, on: date, result: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    effective = Period.of(on).next()  # payment starts the month after approval
    case.decided_at, case.decided_on, case.effective_month = now, on, effective.first_day
    case.monthly_amount_fen = result.get("monthly_amount_fen")
    case.one_off_amount_fen = result.get("one_off_amount_fen")
    covered = result.get("covered_member_ids") or [m["member_id"] for m in case.snapshot["members"]
                                                   if m.get("counted", True)]
    uow.emit(CaseApproved(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                          programme=case.programme, region_code=case.region_code,  # type: ignore[arg-type]
                          member_ids=[uuid.UUID(str(m)) for m in covered],
                          monthly_amount_fen=case.monthly_amount_fen, one_off_amount_fen=case.one_off_amount_fen,
                          effective_month=effective, decided_at=now,
                          # 集中 / 分散供养, as the application chose it: payments' statistics split 特困 by it.
                          tekun_arrangement=(case.details or {}).get("arrangement") if case.programme == "tekun"
                          else None),
             key=case.household_id, region=case.region_code)


def _schedule_review(case: Case, on: date, params: ParameterSet) -> None:
    if case.monthly_amount_fen is None:
        return  # one-off help has no roll life
    members = case.snapshot["members"]
    irregular = any(m.get("counted", True) and (m.get("employed") or m.get("labour_capacity") == "full")
                    for m in members)
    months = {k: int(params.at(f"review.{k}", on, case.region_code).value)
              for k in ("regular_months", "irregular_months")}
    case.next_review_on = workflow.review_due(on, irregular, months["regular_months"], months["irregular_months"])


async def decide(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: DecisionIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "decision", body)
    if body.decision == "reject":
        case.reasons, case.decided_at, case.decided_on = body.reasons, datetime.now(UTC), on
        await _move(uow, case, p, "decision", Status.REJECTED, on, body.opinion, {"reasons": body.reasons}, params,
                    announce=False)
        uow.emit(CaseRejected(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                              programme=case.programme, region_code=case.region_code,  # type: ignore[arg-type]
                              reasons=body.reasons, decided_at=case.decided_at),
                 key=case.household_id, region=case.region_code)
        return case
    if case.separate_register and not case.county_home_visit:
        raise Conflict("a case in the separate register (单独登记备案) needs the county's own home visit first",
                       allowed_next=["home-visits"])
    result = run_assessment(case, params, on)
    if not result.get("eligible"):
        raise Conflict("the rules find the household not eligible on " + str(on) + ": "
                       + "; ".join(result.get("reasons", [])) + " — reject with reasons, or correct the facts",
                       allowed_next=["decision"])
    case.assessment = result
    _approve(uow, case, on, result)
    _schedule_review(case, on, params)
    await _move(uow, case, p, "decision", Status.APPROVED, on, body.opinion,
                {"monthly_amount_fen": case.monthly_amount_fen, "one_off_amount_fen": case.one_off_amount_fen},
                params, announce=False)
    return case


async def emergency_approve(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: EmergencyApproveIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "emergency-approval", body)
    result = run_assessment(case, params, on)
    if not result.get("eligible"):
        raise Conflict("not eligible: " + "; ".join(result.get("reasons", [])), allowed_next=[])
    # A limit of the procedure, not of the platform: it binds an admin as much as a township reviewer.
    if result.get("required_approver") == "county_joint_meeting" and not p.has_any("county_approver"):
        raise Forbidden("above the township's limit: the county joint meeting (联席会议) approves this amount")
    case.assessment, case.documents_pending = result, True
    _approve(uow, case, on, result)
    await _move(uow, case, p, "emergency-approval", Status.APPROVED, on, body.opinion,
                {"one_off_amount_fen": case.one_off_amount_fen}, params, announce=False)
    return case


async def complete_documents(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: StepIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "documents-complete", body)
    case.documents_pending = False
    await _move(uow, case, p, "documents-complete", Status(case.status), on, body.opinion, {}, params)
    return case


# --- keeping the roll right ------------------------------------------------------------------------------------


async def review(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: StepIn) -> Case:
    """定期核查 on the latest facts: same amount, a new amount, 渐退 (work income above the standard), or stop."""
    case, on, params = await _begin(uow, p, case_id, "review", body)
    facts = await CaseRepository(uow.session).latest_facts(case.household_id)
    snapshot = facts.snapshot if facts else case.snapshot
    result = run_assessment(case, params, on, snapshot)
    case.snapshot, case.assessment = snapshot, result
    status, month = Status(case.status), Period.of(on)
    common = {"case_id": case.id, "household_id": case.household_id, "programme": case.programme,
              "region_code": case.region_code}
    if result.get("eligible"):
        new_amount = int(result["monthly_amount_fen"])
        if new_amount != case.monthly_amount_fen or status is Status.GRADUAL_EXIT:
            uow.emit(CaseAmountChanged(**common, previous_monthly_amount_fen=case.monthly_amount_fen,
                                       monthly_amount_fen=new_amount, effective_month=month.next()),
                     key=case.household_id, region=case.region_code)
            case.monthly_amount_fen, case.exit_last_month = new_amount, None
        to = Status.APPROVED
    elif (status is Status.APPROVED and _work_lifted_income(snapshot)
          and case.programme in params.at("exit.gradual_programmes", on, case.region_code).value):
        months = int(params.at("exit.gradual_max_months", on, case.region_code).value)
        last = month.plus(months)
        case.exit_last_month = last.first_day
        uow.emit(GradualExitStarted(**common, last_month=last), key=case.household_id, region=case.region_code)
        to = Status.GRADUAL_EXIT
    elif status is Status.GRADUAL_EXIT and case.exit_last_month and month < Period.of(case.exit_last_month):
        to = Status.GRADUAL_EXIT  # still within the exit period
    else:
        uow.emit(CaseTerminated(**common, reason="ineligible", last_month=month),
                 key=case.household_id, region=case.region_code)
        to = Status.TERMINATED
    if to is not Status.TERMINATED:
        _schedule_review(case, on, params)
    else:
        case.next_review_on = None
    await _move(uow, case, p, "review", to, on, body.opinion,
                {"eligible": result.get("eligible"), "monthly_amount_fen": result.get("monthly_amount_fen")},
                params)
    return case


def _work_lifted_income(snapshot: dict) -> bool:
    return any(m.get("counted", True) and m.get("employed") for m in snapshot["members"])


async def terminate(uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: TerminateIn) -> Case:
    case, on, params = await _begin(uow, p, case_id, "termination", body)
    # Never pay a dead person, nor for months obtained by fraud: the last month paid is the one before.
    last = Period.of(on).plus(-1) if body.reason in ("death", "fraud") else Period.of(on)
    case.next_review_on = None
    uow.emit(CaseTerminated(case_id=case.id, household_id=case.household_id, programme=case.programme,  # type: ignore[arg-type]
                            region_code=case.region_code, reason=body.reason, last_month=last),
             key=case.household_id, region=case.region_code)
    await _move(uow, case, p, "termination", Status.TERMINATED, on, body.opinion,
                {"reason": body.reason, "last_month": str(last)}, params)
    return case


# --- from monitoring's partner data ------------------------------------------------------------------------------


async def on_death_reported(uow: UnitOfWork, data: DeathReported) -> None:
    """死亡: a partner's death record matched a recipient. A case the deceased was the only counted member of stops
    after the month of death (the township is told by monitoring's alert); a case of a larger household is
    due for review at once, its amount to be recomputed without them."""
    params = await effective_parameters(uow)
    today, last = date.today(), Period.of(data.death_date)
    for case in await CaseRepository(uow.session).on_roll_of(data.household_id):
        counted = [m["member_id"] for m in case.snapshot["members"] if m.get("counted", True)]
        if str(data.member_id) not in counted:
            continue
        opinion = f"死亡比对 ({data.source}): 成员于 {data.death_date} 死亡"
        if len(counted) > 1:
            case.next_review_on = today
            await _move(uow, case, SYSTEM, "death_reported", Status(case.status), today, opinion,
                        {"member_id": str(data.member_id), "alert_id": str(data.alert_id)}, params)
            continue
        case.next_review_on = None
        uow.emit(CaseTerminated(case_id=case.id, household_id=case.household_id, programme=case.programme,  # type: ignore[arg-type]
                                region_code=case.region_code, reason="death", last_month=last),
                 key=case.household_id, region=case.region_code)
        await _move(uow, case, SYSTEM, "terminate", Status.TERMINATED, today, opinion,
                    {"reason": "death", "last_month": str(last), "alert_id": str(data.alert_id)}, params)


async def on_alert_verified(uow: UnitOfWork, data: AlertVerified) -> None:
    """A township found a recipient's situation changed (在保对象情况变化): the household's cases are due for
    review (定期核查) now."""
    if data.outcome != "recipient_change":
        return
    params = await effective_parameters(uow)
    for case in await CaseRepository(uow.session).on_roll_of(data.household_id):
        case.next_review_on = data.verified_on
        await _move(uow, case, SYSTEM, "review_requested", Status(case.status), data.verified_on,
                    data.note or "动态监测核实: 在保对象情况变化，需复核", {"alert_id": str(data.alert_id)}, params)


# --- views -----------------------------------------------------------------------------------------------------


def to_out(case: Case) -> CaseOut:
    a = case.assessment or {}
    return CaseOut(
        id=case.id, application_id=case.application_id, household_id=case.household_id, programme=case.programme,
        region_code=case.region_code, status=case.status, opened_on=case.opened_on, due_date=case.due_date,
        due_date_provisional=case.due_date_provisional,
        next_steps=workflow.allowed_steps(case_state(case)), separate_register=case.separate_register,
        delegated=case.delegated, extended=case.extended, home_visits=case.home_visits,
        notice_posted_on=case.notice_posted_on, notice_ends_on=case.notice_ends_on,
        eligible=a.get("eligible"), assessed_monthly_amount_fen=a.get("monthly_amount_fen"),
        assessed_one_off_amount_fen=a.get("one_off_amount_fen"), assessment_reasons=a.get("reasons", []),
        monthly_amount_fen=case.monthly_amount_fen, one_off_amount_fen=case.one_off_amount_fen,
        effective_month=str(Period.of(case.effective_month)) if case.effective_month else None,
        reasons=case.reasons, decided_at=case.decided_at, next_review_on=case.next_review_on,
        documents_pending=case.documents_pending,
        exit_last_month=str(Period.of(case.exit_last_month)) if case.exit_last_month else None,
    )


async def detail(uow: UnitOfWork, case: Case) -> CaseDetailOut:
    await uow.session.flush()  # the step just taken is part of the answer
    steps = await CaseRepository(uow.session).steps(case.id)
    return CaseDetailOut(
        **to_out(case).model_dump(), trace=(case.assessment or {}).get("trace", []),
        steps=[StepOut(step=s.step, from_status=s.from_status, to_status=s.to_status, actor=s.actor, on=s.on,
                       opinion=s.opinion, data=s.data) for s in steps],
    )
