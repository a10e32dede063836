"""Cases: opened from intake's applications, moved step by step by township and county officials, assessed by
the region's dated rules, and kept right while on the roll (reviews, 渐退, 停保).

Each function loads the `Case` (services/eligibility/cases/domain.py), calls the one method of the step, saves it
and audits the steps it recorded; the events it raised go to the outbox with the same commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any

from services.eligibility.cases import workflow
from services.eligibility.cases.deadlines import work_calendar
from services.eligibility.cases.domain import SYSTEM, Actor, Case, StepContext
from services.eligibility.cases.facts import ensure_arrived, replaces
from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import (
    CaseDetailOut,
    CaseOut,
    CasePage,
    CaseQuery,
    DeadlinePage,
    DeadlineQuery,
    ReviewIn,
    ReviewQuery,
    StepIn,
    StepOut,
)
from services.eligibility.cases.workflow import OPEN, CaseStep
from services.eligibility.policy_admin.in_force import effective_parameters
from shared import audit
from shared.auth import Principal
from shared.consumer import Delivery
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period, china_day, china_today
from shared.events.catalogue import (
    RECURRING,
    AlertVerified,
    ApplicationAmended,
    ApplicationImported,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ChildRecognition,
    DeathReported,
    HouseholdUpdated,
)
from shared.events.envelope import CloudEvent
from shared.pagination import Rows, narrowed
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def _actor(principal: Principal | None) -> Actor:
    return Actor(principal.sub, principal.roles) if principal else SYSTEM


async def _save(
    uow: UnitOfWork, case: Case, principal: Principal | None = None, cause: CloudEvent | None = None
) -> None:
    """Save the case with the steps it recorded and audit each step once; the unit of work tracks the case and
    collects its events for the outbox (`cause`: the event being handled, whose correlation id they carry)."""
    steps = case.collect_steps()
    await CaseRepository(uow.session).save(case, steps)
    uow.track(case, cause=cause)
    await audit.record(
        uow,
        principal or SYSTEM.sub,
        "case.step",
        "case",
        [
            {
                "action": f"case.{s.step}",
                "resource_id": case.id,
                "household_id": case.household_id,
                "region_code": case.region_code,
                "reason": s.opinion,
                "details": {"to": s.to_status.value, **s.data},
            }
            for s in steps
        ],
    )


# --- opening and following intake ------------------------------------------------------------------------------


async def record_households(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """The latest facts of each household (a review reassesses on them), a run of events in one statement. A death
    recorded at the front desk (a departure `died`, with its date) is the death rule for the cases that cover the
    member, from the month after the death (`Case.member_died`); a household programme's case on the roll that
    still counts a member the household no longer has (分户, moved out) is priced for those who remain from the
    month after (`Case.members_left`). A case still in the procedure takes the household's new facts as an amendment
    (`Case.household_changed`): reassessed, and from the township's review on sent back to investigation, its notice
    taken down. Facts of an older version than those held (a late or replayed event) change neither the facts
    nor the cases still in the procedure or on the roll; a death they record is still a death."""
    repo = CaseRepository(uow.session)
    newest = newest_facts(deliveries)
    written = await repo.save_facts(
        {h: (d.data.region_code, d.data.snapshot, d.data.household_version) for h, d in newest.items()}
    )
    updates = [d for d in deliveries if isinstance(d.data, HouseholdUpdated)]
    if not updates:
        return
    deaths = [(d, gone) for d in updates for gone in d.data.departures if gone.reason == "died"]
    params = await effective_parameters(uow)
    if deaths:
        for case in await repo.on_roll_of_households({d.data.household_id for d, _ in deaths}):
            theirs = [(d, gone) for d, gone in deaths if d.data.household_id == case.household_id]
            for d, gone in theirs:
                opinion = f"死亡 (前台登记): 成员于 {gone.on} 死亡"
                case.member_died(gone.member_id, gone.on, china_day(d.event.time), params, opinion)
            await _save(uow, case, cause=theirs[-1][0].event)
    latest = {h: d for h, d in newest.items() if h in written and isinstance(d.data, HouseholdUpdated)}
    if not latest:
        return
    for case in await repo.of_households(set(latest), OPEN):
        delivery = latest[case.household_id]
        await _with_medical_approved(repo, case)
        if case.household_changed(delivery.data.snapshot, params, china_day(delivery.event.time)):
            await _save(uow, case, cause=delivery.event)
    present = {h: {m.member_id for m in d.data.snapshot.members} for h, d in latest.items()}
    for case in await repo.many_for_update(await repo.missing_members(present)):
        delivery = latest[case.household_id]
        case.members_left(present[case.household_id], china_day(delivery.event.time), params)
        await _save(uow, case, cause=delivery.event)


def newest_facts(deliveries: Sequence[Delivery]) -> dict[uuid.UUID, Delivery]:
    """Each household's delivery of a run whose facts stand: the last one, unless an earlier one's are of a newer
    version at intake (`facts.replaces`: a late event in the run changes nothing)."""
    newest: dict[uuid.UUID, Delivery] = {}
    for d in deliveries:
        held = newest.get(d.data.household_id)
        if held is None or replaces(held.data.household_version, d.data.household_version):
            newest[d.data.household_id] = d
    return newest


async def _one_case_per_application(
    repo: CaseRepository,
    deliveries: Sequence[Delivery],
    make: Callable[[ApplicationSubmitted | ApplicationImported, uuid.UUID | None], Case],
) -> list[tuple[Delivery, Case, uuid.UUID | None]]:
    """The cases a run of applications makes, in order: one query finds the applications that already have a case
    (a redelivered or replayed event changes nothing, nor a second delivery in the run), one the live cases of
    their households. One live case per household and recurring programme: `make(data, held)` gets the live case
    an application meets (a replay of another's, a race past intake's check, a second import) or None, and a case
    made live in the run holds its slot for the rest. Each case comes back with its delivery and that live case."""
    known = await repo.applications_with_cases([d.data.application_id for d in deliveries])
    live = await repo.live_cases(
        (d.data.household_id, d.data.programme) for d in deliveries if d.data.programme in RECURRING
    )
    made = []
    for d in deliveries:
        data = d.data
        if data.application_id in known:
            continue
        known.add(data.application_id)
        held = live.get((data.household_id, data.programme))
        case = make(data, held)
        if data.programme in RECURRING and not held:
            live[(data.household_id, data.programme)] = case.id
        made.append((d, case, held))
    return made


def _with_recognised(data: ApplicationSubmitted, supported: list[Any]) -> ApplicationSubmitted:
    """A 特困 application with the children the household's live 孤儿 / 事实无人抚养儿童 cases support recognised on
    it (a child counted as an orphan is not 特困, domain.md): the rule then finds them not eligible, saying why, and
    the case keeps the recognition with its facts for every later assessment."""
    known = {r.member_id for r in data.details.recognitions}
    more = [
        ChildRecognition(member_id=member, kind=programme, basis=f"已按{_SUPPORTED[programme]}保障 (案件 {case_id})")
        for member, programme, case_id in supported
        if member not in known
    ]
    if not more:
        return data
    details = data.details.model_copy(update={"recognitions": [*data.details.recognitions, *more]})
    return data.model_copy(update={"details": details})


_SUPPORTED = {"orphan": "孤儿", "de_facto_orphan": "事实无人抚养儿童"}


async def open_cases(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[Case]:
    """A case per application for a run of submissions, set-based: the applications that have no case yet
    (`_one_case_per_application`) are assessed by the pure rules in memory (a second live one is opened refused,
    naming the live case), and cases, household facts and audit rows are each written in one statement. Returns
    the cases opened."""
    repo = CaseRepository(uow.session)
    params = await effective_parameters(uow)
    tekun = [d.data.household_id for d in deliveries if d.data.programme == "tekun"]
    supported = await repo.recognised_children(tekun) if tekun else {}
    medical = [d.data.household_id for d in deliveries if d.data.programme == "medical"]
    paid = await repo.medical_approved(medical) if medical else {}
    made = await _one_case_per_application(
        repo,
        deliveries,
        lambda data, held: (
            Case.open_refused(data, params, held)
            if held
            else Case.open(
                _with_recognised(data, supported.get(data.household_id, [])),
                params,
                medical_approved_by_year=paid.get(data.household_id, ({}, {}))[0],
                medical_deductible_used_by_year=paid.get(data.household_id, ({}, {}))[1],
            )
        ),
    )
    opened: list[Case] = []
    audits: list[dict] = []
    for d, case, held in made:
        opened.append(case)
        uow.track(case, cause=d.event)
        audits.append(
            {
                "resource_id": case.id,
                "household_id": case.household_id,
                "region_code": case.region_code,
                "correlation_id": d.event.correlationid,
            }
            | ({"action": "case.refused_duplicate", "reason": case.reasons[0]} if held and case.reasons else {})
        )
    if not opened:
        return opened
    await repo.insert(opened)
    await audit.record(uow, SYSTEM.sub, "case.open", "case", audits)
    log.info("%d cases opened", len(opened))
    return opened


async def import_cases(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """存量对象导入, a run of `application.imported` at once, set-based like `open_cases`: of the applications that
    have no case yet (`_one_case_per_application`; a second live entitlement is opened refused, as a second
    application is), the `Case` makes each imported case in memory; cases with their facts, their `imported`
    steps, the outbox and the audit rows are each one statement. The events go out grouped by type (every
    case.opened, then every case.approved, then every case.schedule_changed; `UnitOfWork.track(in_runs=True)`):
    one household's stay in order, and a consumer downstream takes each as one run."""
    repo = CaseRepository(uow.session)
    params, today = await effective_parameters(uow), china_today()
    # A second live case is refused as of the import day: the application's submitted_on is the old approval date,
    # which may predate every parameter value we hold.
    cases = await _one_case_per_application(
        repo,
        deliveries,
        lambda data, held: (
            Case.open_refused(data.model_copy(update={"submitted_on": today}), params, held)
            if held
            else Case.imported(data, params, today, _importer(data))
        ),
    )
    made: list[Case] = []
    steps: list[tuple[Case, list]] = []
    audits: list[dict] = []
    for d, case, held in cases:
        data: ApplicationImported = d.data
        made.append(case)
        steps.append((case, case.collect_steps()))
        uow.track(case, cause=d.event, in_runs=True)
        audits.append(
            {
                "resource_id": case.id,
                "household_id": case.household_id,
                "region_code": case.region_code,
                "correlation_id": d.event.correlationid,
                "reason": case.reasons[0] if held and case.reasons else None,
                "details": {"import_id": str(data.import_id), "status": case.status.value},
                "action": "case.import_refused_duplicate" if held else "case.import",
            }
        )
    if not made:
        return
    await repo.insert(made, steps)
    await audit.record(uow, SYSTEM.sub, "case.import", "case", audits)
    log.info("%d imported cases made (%d refused as a second live case)", len(made), sum(bool(c.reasons) for c in made))


def _importer(data: ApplicationImported) -> Actor:
    """Who imported the roll: the county admin the event names (events published before it was named: the import)."""
    return Actor(data.imported_by or f"roll-import:{data.import_id}", frozenset({"system"}))


async def _with_medical_approved(repo: CaseRepository, case: Case) -> Case:
    """A medical claim with what the platform approved its household in other cases, and the deductible those met,
    by year (the annual cap and the deductible count them at every assessment until the decision: another claim may
    have been approved meanwhile)."""
    if case.programme == "medical":
        approved = await repo.medical_approved([case.household_id], exclude=[case.id])
        case.medical_approved_by_year, case.medical_deductible_used_by_year = approved.get(case.household_id, ({}, {}))
    return case


async def amend_case(uow: UnitOfWork, event: CloudEvent, data: ApplicationAmended) -> None:
    """Corrected facts before a decision: reassess; a case already past investigation goes back to it (an
    amendment whose submission never opened a case opens it)."""
    repo = CaseRepository(uow.session)
    case = await repo.by_application(data.application_id, for_update=True)
    if case is None:
        await open_cases(uow, [Delivery(event, data)])
        return
    await _with_medical_approved(repo, case)
    case.amend(data, await effective_parameters(uow), china_today())
    await _save(uow, case)


async def withdraw_case(uow: UnitOfWork, data: ApplicationWithdrawn) -> None:
    """The case decides a withdrawal request: an open case closes (case.status_changed to withdrawn); a decided
    one stands and intake is told so (case.withdrawal_refused), so the two services never disagree."""
    case = await CaseRepository(uow.session).by_application(data.application_id, for_update=True)
    if case is None:
        # Submission and withdrawal share a partition, so the case exists unless its opening was dead-lettered.
        raise LookupError(f"withdrawal for application {data.application_id}, which has no case")
    accepted = case.withdraw(data.reason, await effective_parameters(uow), china_today())
    await _save(uow, case)
    if not accepted:
        await audit.record(
            uow,
            SYSTEM.sub,
            "case.withdrawal_refused",
            "case",
            case,
            reason=data.reason,
            details={"status": case.status.value},
        )


# --- steps taken by officials ----------------------------------------------------------------------------------


async def get_visible(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False) -> Case:
    return principal.sees(await CaseRepository(uow.session).get(case_id, for_update=for_update), f"case {case_id}")


#: The household's version at intake a review must find its facts at (None: not known), asked once the case is
#: found and the step allowed.
SeenVersion = Callable[[uuid.UUID], Awaitable[int | None]]


async def take_step(
    uow: UnitOfWork,
    p: Principal,
    case_id: uuid.UUID,
    take: Callable[..., None],
    body: StepIn,
    *,
    on_latest_facts: bool = False,
    seen: SeenVersion | None = None,
) -> CaseDetailOut:
    """Load the case (locked), call the `Case` method `take` with the body's fields as its keywords on the body's
    date (a review also on the household's latest facts, or the case's own if none came since, once they are of
    the version `seen` gives; a medical claim with what the platform approved its household), save and audit."""
    repo = CaseRepository(uow.session)
    case = await _with_medical_approved(repo, await get_visible(uow, p, case_id, for_update=True))
    ctx = StepContext(_actor(p), await effective_parameters(uow), on=body.on)
    facts = {"latest": await _review_facts(repo, case, ctx, seen)} if on_latest_facts else {}
    take(case, ctx, **body.model_dump(exclude={"on", "household_version"}), **facts)
    await _save(uow, case, p)
    return await detail(uow, case)


async def _review_facts(
    repo: CaseRepository, case: Case, ctx: StepContext, seen: SeenVersion | None
) -> HouseholdSnapshot | None:
    """The household's latest facts for a review: a 409 naming `household_version` while those of the version the
    front desk holds (`seen`) are still on their way (`facts.ensure_arrived`), asked only of an actor who may take
    the review now (403, then the case's state, come first as for any step) and for facts of a known version."""
    latest = await repo.latest_facts(case.household_id)
    if latest is None:
        return None
    snapshot, held = latest
    if held is not None and seen is not None:
        workflow.check_step(CaseStep.REVIEW, case.state, ctx.actor.roles)
        ensure_arrived(held, await seen(case.household_id))
    return snapshot


async def review(
    uow: UnitOfWork, p: Principal, case_id: uuid.UUID, body: ReviewIn, at_intake: SeenVersion | None
) -> CaseDetailOut:
    """定期核查 on the household's latest facts, once they are the ones the front desk holds: of the version the
    official saw (`household_version`, intake's ETag) or, not given, of the household's current version at intake
    (`at_intake`, asked with the caller's token; None: no intake API configured, nothing asked)."""

    async def seen(household_id: uuid.UUID) -> int | None:
        if body.household_version is not None:
            return body.household_version
        return await at_intake(household_id) if at_intake is not None else None

    return await take_step(uow, p, case_id, Case.review, body, on_latest_facts=True, seen=seen)


# --- from monitoring's partner data ------------------------------------------------------------------------------


async def on_death_reported(uow: UnitOfWork, data: DeathReported) -> None:
    """死亡: a partner's death record matched a recipient. A case the deceased was the only counted member of stops
    after the month of death (the township is told by monitoring's alert); a case of a larger household is
    due for review at once, its amount to be recomputed without them."""
    params = await effective_parameters(uow)
    for case in await CaseRepository(uow.session).on_roll_of(data.household_id):
        case.report_death(data.member_id, data.death_date, data.source, data.alert_id, params, china_today())
        await _save(uow, case)


async def on_alert_verified(uow: UnitOfWork, data: AlertVerified) -> None:
    """A township found a recipient's situation changed (在保对象情况变化): the household's cases are due for
    review (定期核查) now."""
    if data.outcome != "recipient_change":
        return
    params = await effective_parameters(uow)
    for case in await CaseRepository(uow.session).on_roll_of(data.household_id):
        case.request_review(data.verified_on, data.note, data.alert_id, params)
        await _save(uow, case)


# --- deadlines ---------------------------------------------------------------------------------------------------


async def recount_provisional_deadlines(uow: UnitOfWork, principal: Principal, region: str) -> int:
    """Once a holiday schedule is loaded, count again the deadlines that were counted without one, and tell
    intake (case.deadline_changed). Only open cases due in a year the library lacks: a few per county."""
    params = await effective_parameters(uow)
    cases = await CaseRepository(uow.session).open_with_provisional_due_date("" if region == "national" else region)
    for case in cases:
        case.recount_deadline(params)
        await _save(uow, case)
    await audit.record(
        uow,
        principal,
        "case.recount_deadlines",
        "case",
        None,
        region_code=None if region == "national" else region,
        details={"count": len(cases)},
    )
    return len(cases)


# --- views -----------------------------------------------------------------------------------------------------


def _month(day: date | None) -> str | None:
    return str(Period.of(day)) if day else None


def to_out(case: Case) -> CaseOut:
    """The case as officials read it: its own fields, its assessment's verdict, months as YYYY-MM."""
    a = case.assessment
    return CaseOut.model_validate(
        {
            **vars(case),
            "status": case.status.value,
            "next_steps": case.next_steps,
            "eligible": a.eligible if a else None,
            "assessed_monthly_amount_fen": a.monthly_amount_fen if a else None,
            "assessed_one_off_amount_fen": a.one_off_amount_fen if a else None,
            "assessment_reasons": a.reasons if a else [],
            "effective_month": _month(case.effective_month),
            "exit_last_month": _month(case.exit_last_month),
        }
    )


async def detail(uow: UnitOfWork, case: Case) -> CaseDetailOut:
    await uow.session.flush()  # the step just taken is part of the answer
    steps = await CaseRepository(uow.session).steps(case.id)
    return CaseDetailOut(
        **to_out(case).model_dump(),
        trace=[t.model_dump(mode="json") for t in case.assessment.trace] if case.assessment else [],
        steps=[StepOut.model_validate(s, from_attributes=True) for s in steps],
    )


async def list_cases(uow: UnitOfWork, principal: Principal, query: CaseQuery, action: str = "case.list") -> CasePage:
    """A page of the cases in the caller's region (or the township or village asked for within it)."""
    prefix = narrowed(principal.region, query.region)
    page = await CaseRepository(uow.session).page(prefix, query) if prefix is not None else Rows([], None, 0)
    # A list shows the households' cases: each case shown is a read of its household's data.
    await audit.record(uow, principal, action, "case", page.rows)
    return CasePage(items=[to_out(c) for c in page.rows], next=page.next, total=page.total)


async def deadlines(uow: UnitOfWork, principal: Principal, query: DeadlineQuery) -> DeadlinePage:
    """Open cases overdue, and those due within the next working days on the region's calendar, most urgent first."""
    today = china_today()
    cal = work_calendar(await effective_parameters(uow), principal.region, (today.year, today.year + 1))
    due_before = cal.add_workdays(today, query.within_workdays) + timedelta(days=1)
    page = await list_cases(uow, principal, _cases(query, due_before=due_before), "case.deadlines")
    return DeadlinePage(**dict(page), today=today)


async def reviews_due(uow: UnitOfWork, principal: Principal, query: ReviewQuery) -> CasePage:
    """Cases on the roll whose periodic review (定期核查) falls within the days asked for, earliest first."""
    review_due_before = china_today() + timedelta(days=query.within_days + 1)
    return await list_cases(uow, principal, _cases(query, review_due_before=review_due_before), "case.reviews_due")


def _cases(query: DeadlineQuery | ReviewQuery, **due: date) -> CaseQuery:
    return CaseQuery(**query.model_dump(include=set(CaseQuery.model_fields)), **due)


async def read(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID) -> CaseDetailOut:
    case = await get_visible(uow, principal, case_id)
    await audit.record(uow, principal, "case.read", "case", case)
    return await detail(uow, case)
