"""The case workflow (审核确认程序) as pure rules: which step may follow which, who may take it, and when each
step is due. No database, web framework or Kafka here; the `Case` (domain.py) applies these at each step.

低保 (民发〔2021〕57号): accepted → means investigation (home visit by ≥ 2 investigators) → county data check →
township first opinion → democratic appraisal (where the region requires it) → public notice 7 days (an objection
sends it back to investigation) → county decision. An approval needs the notice to have run and closed: a case the
township would reject, or the appraisal disagreed with, comes to the county unposted, and the county rejects it or
sends it to the notice. 特困 (民发〔2021〕43号) is the same without required appraisal and with 15-working-day
limits. 急难型 临时救助 is paid first and documented after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from shared.core.workdays import WorkCalendar
from shared.errors import Conflict, Forbidden

OFFICIAL = WorkCalendar()  # the library's calendar alone


class Status(StrEnum):
    ACCEPTED = "accepted"  # 受理
    INVESTIGATION = "investigation"  # 入户调查 + 经济状况核对
    TOWNSHIP_REVIEW = "township_review"  # 乡镇初审
    APPRAISAL = "appraisal"  # 民主评议
    PUBLIC_NOTICE = "public_notice"  # 公示
    COUNTY_REVIEW = "county_review"  # 县级审核确认
    APPROVED = "approved"  # 纳入 (on the roll)
    GRADUAL_EXIT = "gradual_exit"  # 渐退
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"  # 停保 / 退出


OPEN = frozenset(
    {
        Status.ACCEPTED,
        Status.INVESTIGATION,
        Status.TOWNSHIP_REVIEW,
        Status.APPRAISAL,
        Status.PUBLIC_NOTICE,
        Status.COUNTY_REVIEW,
    }
)
ON_ROLL = frozenset({Status.APPROVED, Status.GRADUAL_EXIT})

TOWNSHIP = ("clerk", "township_reviewer")
REVIEWER = ("township_reviewer",)
COUNTY = ("county_approver",)

# The programmes whose time limits have no extension: 特困 (民发〔2021〕43号) has 15 WD for the township's opinion and
# 15 for the county's, and nothing to extend them to (低保's 30 → 45 WD is 57号's, for the programmes following it).
NO_EXTENSION = frozenset({"tekun"})


@dataclass(frozen=True)
class CaseState:
    """What the workflow reads of a case to say which steps it may take now."""

    status: Status
    programme: str = ""
    emergency: bool = False  # 急难型 临时救助: may be paid before the procedure
    one_off: bool = False  # decided as a one-off payment: nothing to review on the roll
    extended: bool = False
    documents_pending: bool = False
    home_visits: int = 0
    delegated: bool = False
    notice_run: bool = False  # the public notice ran its 7 days and closed (公示期满): an approval needs it
    # The county's own home visit is compulsory before it approves (单独登记备案, or an objection to the notice) and
    # not yet recorded.
    county_visit_due: bool = False


class CaseStep(StrEnum):
    """A procedural step on a case; its value is its path under `/cases/{id}/` and what `next_steps` lists."""

    INVESTIGATION = "investigation"  # 启动家庭经济状况调查
    HOME_VISITS = "home-visits"  # 入户调查
    ECONOMIC_CHECK = "economic-check"  # 经济状况核对
    TOWNSHIP_OPINION = "township-opinion"  # 乡镇初审
    APPRAISAL = "appraisal"  # 民主评议
    NOTICE = "notice"  # 公示: the county sends an unposted case to the public notice
    NOTICE_OBJECTIONS = "notice/objections"  # 公示期异议
    NOTICE_CLOSE = "notice/close"  # 公示期满
    DECISION = "decision"  # 审核确认
    EXTENSION = "extension"  # 延长办理期限
    EMERGENCY_APPROVAL = "emergency-approval"  # 急难型先行救助
    DOCUMENTS_COMPLETE = "documents-complete"  # 补齐材料
    REVIEW = "review"  # 定期核查
    TERMINATION = "termination"  # 停保
    WITHDRAW = "withdraw"  # 撤回申请 (from intake, never over the API)


@dataclass(frozen=True)
class Step:
    """An action on a case: the states it may start from, the roles that may take it, and what else must hold
    (`guard` returns why not, or None)."""

    name: CaseStep
    sources: frozenset[Status]
    roles: tuple[str, ...]
    description: str
    guard: Callable[[CaseState], str | None] = field(default=lambda _: None, compare=False)


STEPS: dict[CaseStep, Step] = {
    s.name: s
    for s in (
        Step(CaseStep.INVESTIGATION, frozenset({Status.ACCEPTED}), TOWNSHIP, "启动家庭经济状况调查"),
        Step(
            CaseStep.HOME_VISITS,
            frozenset({Status.INVESTIGATION, Status.COUNTY_REVIEW}),
            (*TOWNSHIP, *COUNTY),
            "入户调查 (≥ 2 investigators)",
        ),
        Step(
            CaseStep.ECONOMIC_CHECK,
            frozenset({Status.INVESTIGATION}),
            (*REVIEWER, *COUNTY),
            "经济状况核对结果",
            lambda c: (
                None
                if c.home_visits
                else "record the home visit (入户调查, ≥ 2 investigators) before the economic check"
            ),
        ),
        Step(CaseStep.TOWNSHIP_OPINION, frozenset({Status.TOWNSHIP_REVIEW}), REVIEWER, "乡镇初审意见"),
        Step(CaseStep.APPRAISAL, frozenset({Status.APPRAISAL}), REVIEWER, "民主评议结果"),
        Step(
            CaseStep.NOTICE,
            frozenset({Status.COUNTY_REVIEW}),
            COUNTY,
            "公示: a case the township would reject, or the appraisal disagreed with, posted in the village for 7 days"
            " (the county does not follow that opinion): an approval needs the notice to have run",
            lambda c: "the public notice has run (公示期满): decide" if c.notice_run else None,
        ),
        Step(
            CaseStep.NOTICE_OBJECTIONS, frozenset({Status.PUBLIC_NOTICE}), REVIEWER, "公示期异议: back to investigation"
        ),
        Step(CaseStep.NOTICE_CLOSE, frozenset({Status.PUBLIC_NOTICE}), REVIEWER, "公示期满无异议: file to the county"),
        Step(CaseStep.DECISION, frozenset({Status.COUNTY_REVIEW}), COUNTY, "审核确认: approve or reject with reasons"),
        Step(
            CaseStep.EXTENSION,
            OPEN,
            COUNTY,
            "延长办理期限 to the extended limit",
            lambda c: (
                "特困's time limits (15 + 15 working days) have no extension"
                if c.programme in NO_EXTENSION
                else "the case was already extended"
                if c.extended
                else None
            ),
        ),
        Step(
            CaseStep.EMERGENCY_APPROVAL,
            frozenset({Status.ACCEPTED, Status.INVESTIGATION}),
            (*REVIEWER, *COUNTY),
            "急难型临时救助: pay first, document after",
            lambda c: None if c.emergency else "only 急难型 temporary assistance is paid before the procedure",
        ),
        Step(
            CaseStep.DOCUMENTS_COMPLETE,
            frozenset({Status.APPROVED}),
            TOWNSHIP,
            "急难型: paperwork completed",
            lambda c: None if c.documents_pending else "no documents are outstanding for this case",
        ),
        Step(
            CaseStep.REVIEW,
            ON_ROLL,
            (*REVIEWER, *COUNTY),
            "定期核查: reassess on the latest household facts",
            lambda c: "one-off assistance is not reviewed" if c.one_off else None,
        ),
        Step(
            CaseStep.TERMINATION,
            ON_ROLL,
            COUNTY,
            "停保: death, fraud, moved away or other",
            # Paid once (its award is paid whatever follows: payments acknowledges an end without effect): nothing
            # runs on to be stopped.
            lambda c: "one-off assistance, paid once, has nothing to stop" if c.one_off else None,
        ),
        Step(CaseStep.WITHDRAW, OPEN, ("system",), "the applicant withdrew"),
    )
}


# The county's steps that a county delegating its decision (委托) leaves to the township reviewer too.
DELEGATED = frozenset({CaseStep.DECISION, CaseStep.NOTICE})


def _takeable(step: Step, case: CaseState) -> bool:
    return case.status in step.sources and step.guard(case) is None


def allowed_steps(case: CaseState) -> list[CaseStep]:
    """The steps an official may take on the case now: what `next_steps` offers is exactly what is accepted."""
    return [name for name, step in STEPS.items() if step.roles != ("system",) and _takeable(step, case)]


def check_step(name: CaseStep, case: CaseState, roles: frozenset[str]) -> Step:
    """The step, if someone with `roles` may take it on the case now; otherwise Forbidden (who may act is
    checked first, whatever the case's state) or Conflict naming the steps allowed now. Admin holds no step of
    its own: separation of duties (an admin who decides cases needs the official's role too)."""
    step = STEPS[name]
    permitted = set(step.roles)
    if name in DELEGATED and case.delegated:
        permitted |= set(REVIEWER)  # 委托乡镇审核确认
    if not permitted & roles and step.roles != ("system",):
        raise Forbidden(f"{name} needs one of the roles: {', '.join(sorted(permitted))}")
    if case.status not in step.sources:
        raise Conflict(f"a case in {case.status} cannot take the step {name}", allowed_next=allowed_steps(case))
    if (why := step.guard(case)) is not None:
        raise Conflict(why, allowed_next=allowed_steps(case))
    return step


# The steps a worklist (GET /tasks) offers: the procedure's duties on open cases, and the paperwork owed after 急难型
# help paid first. 延长 (extension) is a choice the county may make on any open case, not a duty, and so is sending an
# unposted case to the notice (the duty there is the decision: reject, or post first); reviews have their own list
# (/cases/reviews-due); 停保 follows an event or a finding; withdraw is the system's.
WORKLIST_STEPS = (
    "investigation",
    "home-visits",
    "economic-check",
    "township-opinion",
    "appraisal",
    "notice/objections",
    "notice/close",
    "decision",
    "emergency-approval",
    "documents-complete",
)

# A step a state allows that is a duty there only for some roles and when the case needs it: in the county's review
# a home visit is the county's own (入户抽查), compulsory only where its approval needs it (separate register,
# complained: `Case.decide` refuses without it); any other visit then is a choice, allowed but not listed.
CONDITIONAL_DUTIES: dict[tuple[str, Status], tuple[tuple[str, ...], Callable[[CaseState], bool]]] = {
    (CaseStep.HOME_VISITS, Status.COUNTY_REVIEW): (COUNTY, lambda c: c.county_visit_due),
}


def may_take(name: str, case: CaseState, roles: frozenset[str]) -> bool:
    """Whether someone with `roles` holds the role for the step on this case (委托: a delegated decision is the
    township reviewer's too); whether the case may take it now is `allowed_steps`."""
    permitted = set(STEPS[name].roles) | (set(REVIEWER) if name in DELEGATED and case.delegated else set())
    return bool(permitted & roles)


def _duty(name: str, case: CaseState, roles: frozenset[str]) -> bool:
    if (condition := CONDITIONAL_DUTIES.get((name, case.status))) is None:
        return True
    duty_roles, needed = condition
    return bool(set(duty_roles) & roles) and needed(case)


def worklist_steps(case: CaseState, roles: frozenset[str]) -> list[str]:
    """The steps of the worklist someone with `roles` may take on the case now."""
    return [
        s for s in allowed_steps(case) if s in WORKLIST_STEPS and may_take(s, case, roles) and _duty(s, case, roles)
    ]


@dataclass(frozen=True)
class Worklist:
    """Which open cases may hold a step of the worklist for someone with these roles, as conditions a query can
    read: the states where a step needs only the role, the delegated decisions (county review, 委托), the
    states where 急难型 temporary assistance may be paid first, and the paperwork pending after it (approved,
    documents pending). `worklist_steps` then says which steps exactly."""

    statuses: frozenset[Status]
    delegated_decisions: bool
    emergency_statuses: frozenset[Status]
    documents_pending: bool = False

    @classmethod
    def of(cls, roles: frozenset[str]) -> Worklist:
        statuses = {
            status
            for name in WORKLIST_STEPS
            if set(STEPS[name].roles) & roles
            for status in STEPS[name].sources
            if status in OPEN
            and STEPS[name].guard(CaseState(status=status)) is None
            and set(CONDITIONAL_DUTIES.get((name, status), (STEPS[name].roles, None))[0]) & roles
        }
        emergency, documents = STEPS[CaseStep.EMERGENCY_APPROVAL], STEPS[CaseStep.DOCUMENTS_COMPLETE]
        return cls(
            statuses=frozenset(statuses),
            delegated_decisions=bool(set(REVIEWER) & roles),
            emergency_statuses=emergency.sources if set(emergency.roles) & roles else frozenset(),
            documents_pending=bool(set(documents.roles) & roles),
        )


@dataclass(frozen=True)
class Limits:
    """The deadline parameters in force for a case (from the region's dated parameters)."""

    investigation_start_wd: int
    county_decision_wd: int
    overall_wd: int
    overall_extended_wd: int
    delegated_overall_wd: int
    tekun_township_wd: int
    tekun_county_wd: int
    rejection_notice_wd: int
    notice_days: int


@dataclass(frozen=True)
class Timeline:
    """The dates a case's deadlines are counted from."""

    programme: str
    status: Status
    accepted_on: date
    status_since: date
    notice_ends_on: date | None = None
    extended: bool = False
    delegated: bool = False
    documents_pending: bool = False  # 急难型 paid first: the paperwork is owed


def overall_due(t: Timeline, limits: Limits, cal: WorkCalendar = OFFICIAL) -> date:
    if t.programme == "tekun":
        return cal.add_workdays(t.accepted_on, limits.tekun_township_wd + limits.tekun_county_wd)
    if t.extended:
        days = limits.overall_extended_wd
    elif t.delegated:
        days = limits.delegated_overall_wd
    else:
        days = limits.overall_wd
    return cal.add_workdays(t.accepted_on, days)


def step_due(t: Timeline, limits: Limits, cal: WorkCalendar = OFFICIAL) -> date | None:
    """When the current step must be done, on the Chinese working-day calendar."""
    match t.status:
        case Status.ACCEPTED:
            return cal.add_workdays(t.accepted_on, limits.investigation_start_wd)
        case Status.INVESTIGATION | Status.TOWNSHIP_REVIEW | Status.APPRAISAL if t.programme == "tekun":
            return cal.add_workdays(t.accepted_on, limits.tekun_township_wd)
        case Status.PUBLIC_NOTICE:
            return t.notice_ends_on
        case Status.COUNTY_REVIEW:
            wd = limits.tekun_county_wd if t.programme == "tekun" else limits.county_decision_wd
            return cal.add_workdays(t.status_since, wd)
    return None


def due_date(t: Timeline, limits: Limits, cal: WorkCalendar = OFFICIAL) -> date | None:
    """The nearest deadline of an open case: its current step's or the whole case's, whichever comes first. 急难型
    help paid first owes its paperwork by when the case would have been decided under the normal procedure (the
    whole-case limit from acceptance)."""
    if t.status not in OPEN:
        return overall_due(t, limits, cal) if t.documents_pending else None
    overall = overall_due(t, limits, cal)
    step = step_due(t, limits, cal)
    return min(overall, step) if step else overall


def notice_end(posted_on: date, limits: Limits) -> date:
    """The last day of a 7-day notice that starts on `posted_on` (the posting day counts as day one)."""
    return posted_on + timedelta(days=limits.notice_days - 1)


def review_due(approved_on: date, irregular_income: bool, regular_months: int, irregular_months: int) -> date:
    months = irregular_months if irregular_income else regular_months
    index = approved_on.year * 12 + approved_on.month - 1 + months
    year, month = divmod(index, 12)
    day = min(approved_on.day, 28)
    return date(year, month + 1, day)
