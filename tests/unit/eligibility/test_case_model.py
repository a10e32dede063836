"""Every step of the procedure on the `Case` domain model alone: no database, web framework or Kafka (and its
mapping to the row, built in memory).

吴起县 (610626) households on its 2023 parameters: a rural 低保 application accepted on Monday 4 September 2023."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from services.eligibility.cases.domain import SYSTEM, Actor, Case, StepContext
from services.eligibility.cases.repository import row_values, to_case
from services.eligibility.cases.workflow import Status
from services.eligibility.models import Case as CaseRow
from services.eligibility.policy import default_parameters
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period, china_today
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events.catalogue import (
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
    GradualExitStarted,
)

PARAMS = default_parameters()
VILLAGE = "610626101201"
ACCEPTED = date(2023, 9, 4)
TODAY = date(2023, 12, 29)
CLERK = Actor("clerk-1", frozenset({"clerk"}))
REVIEWER = Actor("reviewer-1", frozenset({"township_reviewer"}))
APPROVER = Actor("approver-1", frozenset({"county_approver"}))
ADMIN = Actor("admin-1", frozenset({"admin"}))


def collect(case: Case) -> tuple[list, list]:
    """What a step hands over once: the steps recorded (to save and audit) and the events raised (to the unit of
    work that tracks the case)."""
    return case.collect_steps(), case.collect_new_events()


def by(actor: Actor, on: date | None = None, today: date | None = None) -> StepContext:
    """A step taken by `actor` on `on` under the county's default parameters."""
    return StepContext(actor, PARAMS, on, today or china_today())


def _member(name: str, born: str, relation: str, **facts: Any) -> dict[str, Any]:
    return {
        "member_id": str(uuid.uuid4()),
        "name": name,
        "birth_date": born,
        "sex": "male",
        "relation": relation,
        **facts,
    }


def household(members: list[dict[str, Any]] | None = None, wages_fen: int = 30_000, **facts: Any) -> HouseholdSnapshot:
    """Three rural members, 300 yuan a month from farm work, unless told otherwise."""
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": VILLAGE,
            "hukou_type": "rural",
            "members": members
            or [
                _member("刘志明", "1962-04-15", "head", labour_capacity="partial"),
                _member("高桂芳", "1965-08-02", "spouse", labour_capacity="partial"),
                _member("刘小军", "2010-09-03", "child", student=True),
            ],
            "incomes": [{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": wages_fen}]
            if wages_fen
            else [],
            "properties": [{"kind": "housing", "value_fen": 6_000_000}],
            **facts,
        }
    )


def application(
    snapshot: HouseholdSnapshot | None = None, programme: str = "dibao", **fields: Any
) -> ApplicationSubmitted:
    snapshot = snapshot or household()
    return ApplicationSubmitted.model_validate(
        {
            "application_id": str(uuid.uuid4()),
            "household_id": str(snapshot.household_id),
            "programme": programme,
            "region_code": VILLAGE,
            "submitted_on": ACCEPTED,
            "consent_signed": True,
            "separate_register": False,
            "details": {},
            "snapshot": snapshot.model_dump(mode="json"),
            **fields,
        }
    )


def opened(data: ApplicationSubmitted | None = None) -> Case:
    case = Case.open(data or application(), PARAMS)
    collect(case)
    return case


def kinds(events: list) -> list[type]:
    return [type(e) for e in events]


def at_township_review(case: Case) -> Case:
    case.start_investigation(by(CLERK, date(2023, 9, 5)))
    case.record_home_visit(by(CLERK, date(2023, 9, 6)), investigators=["张强", "李娜"], findings="与申报一致")
    case.record_economic_check(by(REVIEWER, date(2023, 9, 7)), result="consistent")
    return case


def on_notice(case: Case) -> Case:
    at_township_review(case)
    case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
    case.record_appraisal(by(REVIEWER, date(2023, 9, 11)), result="agreed", participants=9, opinion="同意")
    return case


def approved(case: Case | None = None) -> Case:
    case = on_notice(case or opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    collect(case)
    return case


# --- opening and following intake ----------------------------------------------------------------------------


def test_an_application_opens_an_assessed_case_with_its_first_deadline():
    case = Case.open(application(), PARAMS)
    steps, events = collect(case)
    assert case.status is Status.ACCEPTED and case.opened_on == case.status_since == ACCEPTED
    assert case.assessment is not None and case.assessment.eligible and case.assessment.assessed_on == ACCEPTED
    assert case.assessment.monthly_amount_fen and case.assessment.trace
    assert case.due_date is not None and case.due_date > ACCEPTED and not case.due_date_provisional
    assert steps == [] and kinds(events) == [CaseOpened] and events[0].due_date == case.due_date
    assert collect(case) == ([], [])  # handed over once
    assert case.next_steps == ["investigation", "extension"]


def test_a_rule_that_cannot_run_is_kept_as_not_eligible_with_why():
    case = Case.open(application(region_code="110101001001"), PARAMS)  # no 低保 standard there on file
    assert case.assessment is not None and not case.assessment.eligible
    assert case.assessment.reasons[0].startswith("cannot assess")


def test_an_amendment_reassesses_and_sends_a_case_past_investigation_back():
    case = at_township_review(opened())
    collect(case)
    richer = application(household(wages_fen=900_000))
    case.amend(richer, PARAMS, TODAY)
    steps, events = collect(case)
    assert case.status is Status.INVESTIGATION and not case.assessment.eligible
    assert [s.step for s in steps] == ["amended"] and steps[0].actor == SYSTEM
    assert kinds(events) == [CaseStatusChanged] and case.snapshot == richer.snapshot


def test_an_amendment_of_a_new_case_reassesses_in_place_and_a_decided_one_is_left_alone():
    case = opened()
    case.amend(application(household(wages_fen=900_000)), PARAMS, TODAY)
    assert case.status is Status.ACCEPTED and not case.assessment.eligible and collect(case) == ([], [])
    decided = approved()
    before = decided.assessment
    decided.amend(application(household(wages_fen=900_000)), PARAMS, TODAY)
    assert decided.assessment == before and collect(decided) == ([], [])


def test_a_withdrawal_closes_an_open_case_and_is_refused_once_decided():
    case = opened()
    assert case.withdraw("不再需要", PARAMS, TODAY)
    steps, events = collect(case)
    assert case.status is Status.WITHDRAWN and [s.step for s in steps] == ["withdraw"]
    assert kinds(events) == [CaseStatusChanged] and case.due_date is None
    assert case.withdraw("again", PARAMS, TODAY) and collect(case) == ([], [])  # answered already
    decided = approved()
    assert not decided.withdraw("不再需要", PARAMS, TODAY)
    steps, events = collect(decided)
    assert steps == [] and kinds(events) == [CaseWithdrawalRefused] and decided.status is Status.APPROVED
    assert "already decided: approved on 2023-09-25" in events[0].reason


# --- steps taken by officials --------------------------------------------------------------------------------


def test_the_investigation_starts_on_a_date_neither_future_nor_before_the_step_began():
    case = opened()
    with pytest.raises(InvalidInput, match="future"):
        case.start_investigation(by(CLERK, TODAY + timedelta(days=1), today=TODAY))
    with pytest.raises(InvalidInput, match="before the current step"):
        case.start_investigation(by(CLERK, ACCEPTED - timedelta(days=1)))
    case.start_investigation(by(CLERK, date(2023, 9, 5)), opinion="启动调查")
    steps, events = collect(case)
    assert case.status is Status.INVESTIGATION and case.status_since == date(2023, 9, 5)
    assert steps[0].step == "investigation" and steps[0].actor == CLERK and steps[0].opinion == "启动调查"
    assert kinds(events) == [CaseStatusChanged] and events[0].previous_status == "accepted"


def test_the_wrong_role_is_refused_before_the_wrong_state_and_an_admin_holds_no_step():
    case = opened()
    with pytest.raises(Forbidden):
        case.decide(by(CLERK), decision="approve", opinion="x")  # wrong role and wrong state: 403 first
    with pytest.raises(Forbidden):
        case.start_investigation(by(ADMIN))
    with pytest.raises(Conflict) as exc:
        case.close_notice(by(REVIEWER))
    assert exc.value.extra["allowed_next"] == ["investigation", "extension"]
    assert case.status is Status.ACCEPTED and collect(case) == ([], [])


def test_home_visits_come_before_the_economic_check_and_the_county_records_its_own():
    case = opened()
    case.start_investigation(by(CLERK, date(2023, 9, 5)))
    with pytest.raises(Conflict, match="home visit"):
        case.record_economic_check(by(REVIEWER, date(2023, 9, 6)), result="consistent")
    with pytest.raises(Forbidden, match="county"):
        case.record_home_visit(by(CLERK, date(2023, 9, 6)), investigators=["a", "b"], findings="f", by_county=True)
    case.record_home_visit(by(APPROVER, date(2023, 9, 6)), investigators=["a", "b"], findings="f", by_county=True)
    assert case.home_visits == 1 and case.county_home_visit and case.status is Status.INVESTIGATION
    case.record_economic_check(by(REVIEWER, date(2023, 9, 7)), result="discrepancies", notes="存款")
    steps, _ = collect(case)
    assert case.status is Status.TOWNSHIP_REVIEW and case.assessment.assessed_on == date(2023, 9, 7)
    assert steps[-1].data == {"result": "discrepancies", "notes": "存款"}


def test_the_township_opinion_leads_to_appraisal_notice_or_county():
    dibao = at_township_review(opened())
    dibao.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
    assert dibao.status is Status.APPRAISAL  # 吴起县 requires 民主评议 for 低保
    rejected = at_township_review(opened())
    rejected.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="reject", opinion="收入超标")
    assert rejected.status is Status.COUNTY_REVIEW and rejected.notice_posted_on is None
    tekun = at_township_review(
        opened(
            application(
                household(members=[_member("王大爷", "1945-03-03", "head", labour_capacity="none")], wages_fen=0),
                programme="tekun",
            )
        )
    )
    tekun.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
    assert tekun.status is Status.PUBLIC_NOTICE and tekun.notice_posted_on == date(2023, 9, 8)
    assert tekun.notice_ends_on == date(2023, 9, 14) and tekun.due_date == tekun.notice_ends_on


def test_the_appraisal_posts_the_notice_or_sends_a_disagreement_to_the_county():
    case = on_notice(opened())
    assert case.status is Status.PUBLIC_NOTICE and case.notice_ends_on == date(2023, 9, 17)
    assert case.steps[-1].data == {"result": "agreed", "participants": 9}
    other = at_township_review(opened())
    other.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
    other.record_appraisal(by(REVIEWER, date(2023, 9, 11)), result="disagreed", participants=7, opinion="不同意")
    assert other.status is Status.COUNTY_REVIEW and other.notice_posted_on is None


def test_an_objection_takes_the_notice_down_and_reopens_the_investigation():
    case = on_notice(opened())
    case.record_objection(by(REVIEWER, date(2023, 9, 12)), objection="有车辆")
    assert case.status is Status.INVESTIGATION and case.notice_posted_on is None and case.notice_ends_on is None
    assert case.steps[-1].data == {"objection": "有车辆"}


def test_the_notice_closes_only_after_its_last_day():
    case = on_notice(opened())
    with pytest.raises(Conflict, match="runs until 2023-09-17") as exc:
        case.close_notice(by(REVIEWER, date(2023, 9, 17)))
    assert exc.value.extra["allowed_next"] == ["notice/objections"]
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    assert case.status is Status.COUNTY_REVIEW and case.due_date is not None


def test_an_extension_counts_the_longer_limit_once():
    case = opened()
    due = case.due_date
    case.start_investigation(by(CLERK, date(2023, 9, 5)))
    before = case.due_date
    case.extend(by(APPROVER, date(2023, 9, 6)), opinion="情况复杂")
    assert case.extended and case.status is Status.INVESTIGATION and case.due_date > before and due
    assert case.steps[-1].step == "extension" and case.steps[-1].to_status is Status.INVESTIGATION
    with pytest.raises(Conflict, match="already extended"):
        case.extend(by(APPROVER, date(2023, 9, 7)), opinion="again")


def test_the_county_approves_at_the_rules_amount_from_the_next_month():
    case = on_notice(opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    collect(case)
    case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    steps, events = collect(case)
    assert case.status is Status.APPROVED and case.due_date is None and case.decided_on == date(2023, 9, 25)
    assert case.monthly_amount_fen == case.assessment.monthly_amount_fen and case.monthly_amount_fen > 0
    assert case.effective_month == date(2023, 10, 1) and case.next_review_on is not None
    # The approval is the announcement (with the schedule it starts), not a status change as well.
    assert kinds(events) == [CaseApproved, CaseScheduleChanged]
    assert events[0].effective_month == Period(2023, 10) and len(events[0].member_ids) == 3
    assert (steps[0].data["monthly_amount_fen"], steps[0].data["one_off_amount_fen"]) == (case.monthly_amount_fen, None)
    # What the decision was made on stays with it (the 审核确认表 reads them after later reviews).
    assert steps[0].data["assessment"] == case.assessment.model_dump(mode="json")
    assert steps[0].data["snapshot"] == case.snapshot.model_dump(mode="json")
    assert case.next_steps == ["review", "termination"]


def test_a_decision_keyed_before_eight_on_the_first_in_china_is_that_months():
    """07:30 on 1 October in China is still 30 September in UTC: the decision, dated today by default, is of
    1 October, so paid from November (a month off, from October, when its day was the UTC date)."""
    case = on_notice(opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    with time_machine.travel(datetime(2023, 9, 30, 23, 30, tzinfo=UTC), tick=False):
        case.decide(StepContext(APPROVER, PARAMS), decision="approve", opinion="同意")
    assert case.decided_on == date(2023, 10, 1) and case.effective_month == date(2023, 11, 1)


def test_the_county_rejects_with_reasons_and_cannot_approve_the_ineligible():
    case = on_notice(opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    case.snapshot = household(wages_fen=900_000)  # facts found richer than declared
    with pytest.raises(Conflict, match="not eligible") as exc:
        case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    assert exc.value.extra["allowed_next"] == ["decision"] and case.status is Status.COUNTY_REVIEW
    collect(case)
    case.decide(by(APPROVER, date(2023, 9, 25)), decision="reject", reasons=["收入超标"], opinion="不予批准")
    steps, events = collect(case)
    assert case.status is Status.REJECTED and case.reasons == ["收入超标"] and case.decided_at is not None
    assert kinds(events) == [CaseRejected] and steps[0].data["reasons"] == ["收入超标"]
    assert steps[0].data["snapshot"] == case.snapshot.model_dump(mode="json")


def unposted(case: Case, how: str) -> Case:
    """At the county without a public notice: the township recommended rejection, or the appraisal disagreed."""
    at_township_review(case)
    if how == "township rejected":
        case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="reject", opinion="收入超标")
    else:
        case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
        case.record_appraisal(by(REVIEWER, date(2023, 9, 11)), result="disagreed", participants=7, opinion="不同意")
    collect(case)
    assert case.status is Status.COUNTY_REVIEW and case.notice_posted_on is None
    return case


@pytest.mark.parametrize("how", ["township rejected", "appraisal disagreed"])
def test_an_unposted_case_is_approved_only_after_the_county_sends_it_to_the_notice(how):
    """民发〔2021〕57号 (domain.md): the notice runs 7 days in the village before the county decides. A case that
    reaches the county unposted is refused an approval (409 naming the notice, nothing recorded); the county sends
    it to the notice, the township closes it, and the county approves."""
    case = unposted(opened(), how)
    assert case.next_steps == ["home-visits", "notice", "decision", "extension"]
    with pytest.raises(Conflict, match="public notice") as exc:
        case.decide(by(APPROVER, date(2023, 9, 12)), decision="approve", opinion="同意")
    assert exc.value.extra["allowed_next"] == ["notice"]
    assert collect(case) == ([], []) and case.status is Status.COUNTY_REVIEW and case.decided_on is None
    with pytest.raises(Forbidden):  # the county's step (unless it delegated its decision)
        case.post_notice(by(REVIEWER, date(2023, 9, 12)), opinion="公示")
    case.post_notice(by(APPROVER, date(2023, 9, 12)), opinion="不同意乡镇意见, 退回公示")
    steps, events = collect(case)
    assert case.status is Status.PUBLIC_NOTICE and case.notice_posted_on == date(2023, 9, 12)
    assert case.notice_ends_on == date(2023, 9, 18) and case.due_date == case.notice_ends_on
    assert [s.step for s in steps] == ["notice"] and kinds(events) == [CaseStatusChanged]
    case.close_notice(by(REVIEWER, date(2023, 9, 19)))
    assert "notice" not in case.next_steps
    with pytest.raises(Conflict, match="has run"):
        case.post_notice(by(APPROVER, date(2023, 9, 19)), opinion="again")
    case.decide(by(APPROVER, date(2023, 9, 20)), decision="approve", opinion="公示无异议, 同意")
    assert case.status is Status.APPROVED and case.monthly_amount_fen


def test_an_unposted_case_is_rejected_as_it_is():
    case = unposted(opened(), "township rejected")
    case.decide(by(APPROVER, date(2023, 9, 12)), decision="reject", reasons=["收入超标"], opinion="不予批准")
    assert case.status is Status.REJECTED and case.notice_posted_on is None


def test_a_tekun_case_the_township_would_reject_needs_the_notice_too():
    """民发〔2021〕43号: 特困 has no required appraisal but the same 7-day notice."""
    case = opened(
        application(
            household(members=[_member("王大爷", "1945-03-03", "head", labour_capacity="none")], wages_fen=0),
            programme="tekun",
        )
    )
    unposted(case, "township rejected")
    with pytest.raises(Conflict, match="public notice"):
        case.decide(by(APPROVER, date(2023, 9, 12)), decision="approve", opinion="同意")


def test_a_township_deciding_by_delegation_posts_the_notice_before_approving():
    """委托: where the county delegated its decision, the township reviewer decides, and sends to the notice too."""
    case = opened()
    case.delegated = True
    unposted(case, "appraisal disagreed")
    with pytest.raises(Conflict, match="public notice"):
        case.decide(by(REVIEWER, date(2023, 9, 12)), decision="approve", opinion="同意")
    case.post_notice(by(REVIEWER, date(2023, 9, 12)), opinion="重新研究, 予以公示")
    case.close_notice(by(REVIEWER, date(2023, 9, 19)))
    case.decide(by(REVIEWER, date(2023, 9, 20)), decision="approve", opinion="同意")
    assert case.status is Status.APPROVED


def test_corrected_facts_take_a_closed_notice_down():
    """A notice posted on facts the applicant since corrected no longer stands: the case goes back to
    investigation without it, and an approval needs a notice of the corrected facts."""
    case = on_notice(opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    case.amend(application(household(wages_fen=36_000)), PARAMS, TODAY)
    assert case.status is Status.INVESTIGATION and (case.notice_posted_on, case.notice_ends_on) == (None, None)
    case.record_economic_check(by(REVIEWER, date(2024, 1, 2)), result="consistent")
    case.township_opinion(by(REVIEWER, date(2024, 1, 3)), recommendation="reject", opinion="收入超标")
    with pytest.raises(Conflict, match="public notice"):
        case.decide(by(APPROVER, date(2024, 1, 4)), decision="approve", opinion="同意")


def test_a_separate_register_case_needs_the_countys_own_home_visit():
    case = opened(application(separate_register=True))
    on_notice(case)
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    with pytest.raises(Conflict, match="单独登记备案") as exc:
        case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    assert exc.value.extra["allowed_next"] == ["home-visits"]
    case.record_home_visit(
        by(APPROVER, date(2023, 9, 25)), investigators=["县甲", "县乙"], findings="属实", by_county=True
    )
    case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    assert case.status is Status.APPROVED


def _temporary(kind: str, requested_fen: int, cause: str) -> Case:
    """A 临时救助 case opened on a request of `kind` (emergency: 急难型, expenditure: 支出型)."""
    return opened(
        application(
            programme="temporary",
            details={
                "programme": "temporary",
                "temporary": {"type": kind, "requested_amount_fen": requested_fen, "cause": cause},
            },
        )
    )


def _emergency(requested_fen: int) -> Case:
    return _temporary("emergency", requested_fen, "窑洞坍塌")


def test_emergency_help_is_paid_first_and_documented_after():
    case = _emergency(500_000)
    assert "emergency-approval" in case.next_steps
    case.emergency_approve(by(REVIEWER, date(2023, 9, 4)), opinion="先行")
    _steps, events = collect(case)
    assert case.status is Status.APPROVED and case.documents_pending and case.one_off_amount_fen
    assert case.monthly_amount_fen is None and case.next_review_on is None
    # Approved, then the paperwork's deadline: 20 WD from acceptance (the township decides it within its limit).
    assert (
        kinds(events) == [CaseApproved, CaseDeadlineChanged] and events[0].one_off_amount_fen == case.one_off_amount_fen
    )
    assert case.due_date == events[1].due_date == date(2023, 10, 8)
    assert case.next_steps == ["documents-complete"]  # one-off help: nothing to review, nothing to stop
    case.complete_documents(by(CLERK, date(2023, 9, 6)))
    _steps, events = collect(case)
    assert kinds(events) == [CaseDeadlineChanged] and events[0].due_date is None and case.due_date is None
    assert not case.documents_pending and case.next_steps == []
    assert not opened().state.emergency  # only 急难型 临时救助 is paid before the procedure


def test_expenditure_help_within_the_townships_limit_is_decided_by_the_township():
    """支出型临时救助 goes through the whole procedure; at or below the county's limit (20,000 yuan in 吴起县) the
    township approves it and reports it to the county (its assessment says so): the township's reviewer may take the
    decision, as for a county that delegates it (a clerk still may not)."""
    case = _temporary("expenditure", 300_000, "住院")
    assert case.assessment.required_approver == "township"
    at_township_review(case)
    case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议救助")
    if case.status is Status.APPRAISAL:
        case.record_appraisal(by(REVIEWER, date(2023, 9, 8)), result="agreed", participants=9, opinion="同意")
    case.close_notice(by(REVIEWER, case.notice_ends_on + timedelta(days=1)))
    decided = case.notice_ends_on + timedelta(days=2)
    with pytest.raises(Forbidden):
        case.decide(by(CLERK, decided), decision="approve", opinion="同意救助")
    case.decide(by(REVIEWER, decided), decision="approve", opinion="同意救助")
    assert case.status is Status.APPROVED and case.one_off_amount_fen == 300_000


def _medical_claim() -> ApplicationSubmitted:
    """A 低保 household's 医疗救助 claim: compliant 20000 yuan, basic insurance 10000 → (20000 − 10000) × 70% = 7000
    yuan under 吴起县's yearly cap of 60000; the desk states nothing paid this year."""
    bill = {"group": "dibao", "bill_total_fen": 2_000_000, "basic_insurance_paid_fen": 1_000_000}
    return application(programme="medical", details={"programme": "medical", "medical": bill})


def test_a_medical_claim_counts_what_the_platform_approved_in_the_year_at_each_assessment():
    """The service supplies what the platform approved the household (by year of the decision): 60000 approved in
    2023 leaves 60000 − 60000 = 0 of the cap for a claim of 2023 (not eligible); 2022's does not count (7000). A
    claim assessed at 7000 when filed is assessed again at its decision on the figure supplied then: not approved."""
    assert Case.open(_medical_claim(), PARAMS).assessment.one_off_amount_fen == 700_000
    capped = Case.open(_medical_claim(), PARAMS, medical_approved_by_year={2023: 6_000_000})
    assert (capped.assessment.eligible, capped.assessment.one_off_amount_fen) == (False, 0)
    assert (
        "本年已救助60000.00元, 按本平台已批准 (前台填报0.00元, 本平台本年已批准60000.00元)" in capped.assessment.reasons
    )
    last_year = Case.open(_medical_claim(), PARAMS, medical_approved_by_year={2022: 6_000_000})
    assert last_year.assessment.one_off_amount_fen == 700_000

    case = at_township_review(opened(_medical_claim()))
    assert case.assessment.one_off_amount_fen == 700_000
    case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议救助")
    case.close_notice(by(REVIEWER, case.notice_ends_on + timedelta(days=1)))
    case.medical_approved_by_year = {2023: 6_000_000}  # another claim approved meanwhile
    with pytest.raises(Conflict, match="按本平台已批准"):
        case.decide(by(APPROVER, case.notice_ends_on + timedelta(days=2)), decision="approve", opinion="同意")
    assert case.status is Status.COUNTY_REVIEW


def test_the_emergency_limit_binds_everyone_but_the_county():
    case = _emergency(2_500_000)
    with pytest.raises(Forbidden, match="联席会议"):
        case.emergency_approve(by(REVIEWER, date(2023, 9, 4)), opinion="先行")
    assert case.status is Status.ACCEPTED
    case.emergency_approve(by(APPROVER, date(2023, 9, 4)), opinion="联席会议")
    assert case.status is Status.APPROVED


# --- keeping the roll right ----------------------------------------------------------------------------------


def test_a_review_on_the_same_facts_keeps_the_amount_and_schedules_the_next():
    case = approved()
    amount = case.monthly_amount_fen
    case.review(by(REVIEWER, date(2023, 12, 20)))
    steps, events = collect(case)
    assert case.status is Status.APPROVED and case.monthly_amount_fen == amount and events == []
    assert case.next_review_on > date(2023, 12, 20) and steps[0].data["eligible"] is True


def test_children_and_the_elderly_do_not_make_a_household_one_that_can_work():
    """民发〔2021〕57号: yearly review for a stable household, every 6 months where a member can work. A grandmother of
    66 and a child of 12 (the front desk's default labour capacity is "full") cannot work (43号: under 16, 60 and
    over): reviewed after 12 months, not 6; a household with a working-age member able to work: after 6."""
    stable = household(
        members=[_member("韩奶奶", "1957-01-01", "head"), _member("韩小东", "2011-05-05", "grandchild", student=True)],
        wages_fen=0,
    )
    case = approved(opened(application(stable)))
    assert case.next_review_on == date(2024, 9, 25)
    able = household(
        members=[_member("韩大山", "1980-01-01", "head"), _member("韩小东", "2011-05-05", "child", student=True)],
        wages_fen=0,
    )
    case = approved(opened(application(able)))
    assert case.next_review_on == date(2024, 3, 25)


def test_a_marginal_household_status_is_reviewed_like_any_on_the_roll():
    """低保边缘 (吴起县 rural standard 500 a month, 边缘 below 1.5 × = 750 per person): two members with 1,300 of
    wages — 650 each — are 边缘 with nothing to pay, a standing status reviewed on the programme's interval like
    any other (domain.md's review rules), not one-off help that is never looked at again. The same facts keep it;
    wages of 1,600 (800 each) end it."""
    members = [
        _member("马志强", "1975-05-05", "head", labour_capacity="partial"),
        _member("马桂兰", "1977-07-07", "spouse", labour_capacity="partial"),
    ]
    case = approved(opened(application(household(members=members, wages_fen=130_000), "marginal")))
    assert case.status is Status.APPROVED and case.monthly_amount_fen is None
    assert case.next_review_on is not None and "review" in case.next_steps
    case.review(by(REVIEWER, date(2024, 3, 20)))
    _steps, events = collect(case)
    assert case.status is Status.APPROVED and events == [] and case.next_review_on > date(2024, 3, 20)
    higher = household(members=members, wages_fen=160_000).model_copy(update={"household_id": case.household_id})
    case.review(by(REVIEWER, date(2024, 9, 20)), latest=higher)
    _steps, events = collect(case)
    assert case.status is Status.TERMINATED and case.next_review_on is None
    assert [(e.reason, e.last_month) for e in events if isinstance(e, CaseTerminated)] == [
        ("ineligible", Period(2024, 9))
    ]


def test_a_review_on_new_facts_changes_the_amount_from_the_next_month():
    case = approved()
    latest = household(wages_fen=60_000)
    latest = latest.model_copy(update={"household_id": case.household_id, "members": case.snapshot.members})
    case.review(by(REVIEWER, date(2023, 12, 20)), latest=latest)
    _steps, events = collect(case)
    assert kinds(events) == [CaseAmountChanged, CaseScheduleChanged] and events[0].effective_month == Period(2024, 1)
    assert events[0].monthly_amount_fen == case.monthly_amount_fen < events[0].previous_monthly_amount_fen
    assert case.snapshot == latest


def test_income_from_work_above_the_standard_starts_gradual_exit_then_stops():
    case = approved()
    members = [m.model_copy(update={"employed": True}) if m.relation == "head" else m for m in case.snapshot.members]
    latest = household(members=[m.model_dump(mode="json") for m in members], wages_fen=900_000)
    case.review(by(REVIEWER, date(2023, 12, 20)), latest=latest)
    _, events = collect(case)
    assert case.status is Status.GRADUAL_EXIT
    assert kinds(events) == [GradualExitStarted, CaseScheduleChanged, CaseStatusChanged]
    assert case.exit_last_month == events[0].last_month.first_day and events[0].last_month > Period(2023, 12)
    case.review(by(REVIEWER, date(2023, 12, 28)), latest=latest)
    assert case.status is Status.GRADUAL_EXIT and collect(case)[1] == []  # still within the exit period


def test_a_household_out_for_its_property_or_other_income_stops_even_with_a_member_at_work():
    """渐退 is for income from work lifting the household above the standard (domain.md): a member in work does
    not make a car over the property rule, or rent, a gradual exit — the case stops."""
    head = {"employed": True}
    for facts in (
        {"properties": [{"kind": "housing", "value_fen": 6_000_000}, {"kind": "vehicle", "value_fen": 8_000_000}]},
        {
            "incomes": [
                {"kind": "wages", "subkind": "salary", "monthly_amount_fen": 30_000},
                {"kind": "property", "subkind": "rent", "monthly_amount_fen": 500_000},
            ]
        },
    ):
        case = approved()
        members = [m.model_copy(update=head) if m.relation == "head" else m for m in case.snapshot.members]
        latest = household(members=[m.model_dump(mode="json") for m in members], **facts)
        case.review(by(REVIEWER, date(2023, 12, 20)), latest=latest)
        _, events = collect(case)
        assert case.status is Status.TERMINATED, (facts, case.assessment.reasons)
        assert kinds(events)[0] is CaseTerminated and events[0].reason == "ineligible"


def test_a_review_finding_the_household_ineligible_without_work_stops_it():
    case = approved()
    case.review(by(REVIEWER, date(2023, 12, 20)), latest=household(wages_fen=900_000))
    _, events = collect(case)
    assert case.status is Status.TERMINATED and case.next_review_on is None
    assert kinds(events) == [CaseTerminated, CaseScheduleChanged, CaseStatusChanged]
    assert events[0].reason == "ineligible" and events[0].last_month == Period(2023, 12)


def test_termination_for_death_or_fraud_pays_up_to_the_month_before():
    case = approved()
    case.terminate(by(APPROVER, date(2023, 12, 20)), reason="fraud", opinion="虚报")
    steps, events = collect(case)
    assert case.status is Status.TERMINATED and case.next_review_on is None
    assert kinds(events) == [CaseTerminated, CaseScheduleChanged, CaseStatusChanged]
    assert events[0].last_month == Period(2023, 11) and steps[0].data == {"reason": "fraud", "last_month": "2023-11"}
    moved = approved()
    moved.terminate(by(APPROVER, date(2023, 12, 20)), reason="moved", opinion="迁出")
    assert collect(moved)[1][0].last_month == Period(2023, 12)


# --- from monitoring's partner data --------------------------------------------------------------------------


def test_a_reported_death_stops_a_one_person_case_after_the_month_of_death():
    case = approved(
        opened(
            application(
                household(members=[_member("刘老汉", "1940-02-02", "head", labour_capacity="none")], wages_fen=0)
            )
        )
    )
    alert = uuid.uuid4()
    case.report_death(case.snapshot.members[0].member_id, date(2024, 3, 17), "public_security", alert, PARAMS, TODAY)
    steps, events = collect(case)
    assert case.status is Status.TERMINATED and steps[0].step == "terminate" and steps[0].actor == SYSTEM
    terminated = next(e for e in events if isinstance(e, CaseTerminated))
    assert terminated.reason == "death" and terminated.last_month == Period(2024, 3)
    case.report_death(case.snapshot.members[0].member_id, date(2024, 3, 17), "funeral", alert, PARAMS, TODAY)
    assert collect(case) == ([], [])  # no longer on the roll


def test_a_reported_death_in_a_larger_household_reprices_the_rest_and_asks_for_a_review_now():
    # Was: the death only asked for a review, the household kept being paid for three (issue 16, sequence 2).
    case = approved()
    case.report_death(
        case.snapshot.members[1].member_id, date(2023, 12, 1), "public_security", uuid.uuid4(), PARAMS, TODAY
    )
    steps, events = collect(case)
    assert case.status is Status.APPROVED and case.next_review_on == TODAY
    assert kinds(events) == [CaseScheduleChanged, CaseAmountChanged]
    # 300 yuan household income: three at 100 yuan each fall in the 450 tier (1350); two at 150 each, still 450.
    [segment] = events[0].segments
    assert (segment.from_month, segment.to_month, segment.amount_fen, segment.persons) == (
        Period(2024, 1),
        None,
        90_000,
        2,
    )
    assert (events[1].previous_monthly_amount_fen, events[1].monthly_amount_fen) == (135_000, 90_000)
    assert steps[0].step == "death_reported"
    case.report_death(uuid.uuid4(), date(2023, 12, 1), "public_security", uuid.uuid4(), PARAMS, TODAY)
    assert collect(case) == ([], [])  # not a member of this case


def test_a_verified_change_of_situation_makes_the_review_due_now():
    case = approved()
    case.request_review(date(2023, 12, 12), None, uuid.uuid4(), PARAMS)
    steps, events = collect(case)
    assert case.next_review_on == date(2023, 12, 12) and events == []
    assert steps[0].step == "review_requested" and "在保对象情况变化" in (steps[0].opinion or "")


# --- deadlines ---------------------------------------------------------------------------------------------


def test_a_recounted_deadline_is_announced():
    case = opened()
    case.recount_deadline(PARAMS)
    steps, events = collect(case)
    assert steps == [] and kinds(events) == [CaseDeadlineChanged] and events[0].due_date == case.due_date


# --- the row it is stored in -----------------------------------------------------------------------------------


def test_a_case_survives_its_row_with_typed_snapshot_details_and_assessment():
    case = approved(opened(application(applicant_member_id=None)))
    case.applicant_member_id = case.snapshot.members[0].member_id
    row = CaseRow(**row_values(case))
    assert row.status == "approved" and row.details["applicant_member_id"] == str(case.applicant_member_id)
    assert row.assessment["assessed_on"] == "2023-09-25" and row.assessment["trace"]
    back = to_case(row)
    assert back.status is Status.APPROVED and back.snapshot == case.snapshot and back.details == case.details
    assert back.assessment == case.assessment and back.applicant_member_id == case.applicant_member_id
    assert row_values(back) == row_values(case)


def test_a_case_stored_before_typed_details_is_still_read():
    case = opened()
    values = row_values(case)
    legacy = CaseRow(
        **{
            **values,
            "details": {"member_id": str(case.snapshot.members[0].member_id)},
            "assessment": {
                "eligible": False,
                "reasons": ["cannot assess: x"],
                "trace": [],
                "assessed_on": "2023-09-04",
            },
        }
    )
    back = to_case(legacy)
    assert back.applicant_member_id == case.snapshot.members[0].member_id and back.details.programme == "dibao"
    assert back.assessment is not None and not back.assessment.eligible and back.assessment.programme is None


# --- the procedure's facts and dates (front-desk findings) -----------------------------------------------------


def _same_household(case: Case, **facts: Any) -> HouseholdSnapshot:
    """The case's household with some of its facts as the front desk now records them."""
    return case.snapshot.model_copy(update=facts)


def test_new_household_facts_during_the_notice_send_it_back_and_take_the_notice_down():
    """Corrected facts from the front desk (household.updated) travel the amendment's route: reassessed, and from
    the notice on back to investigation with the notice taken down. 750 yuan of farm work for 3 members is 250 per
    head: the tier below 300 gives 400 each, 1200 yuan (it was 100 per head: 450 each, 1350)."""
    case = on_notice(opened())
    collect(case)
    assert case.assessment.monthly_amount_fen == 135_000
    wages = [case.snapshot.incomes[0].model_copy(update={"monthly_amount_fen": 75_000}), *case.snapshot.incomes[1:]]
    case.household_changed(_same_household(case, incomes=wages), PARAMS, TODAY)
    steps, events = collect(case)
    assert case.status is Status.INVESTIGATION and (case.notice_posted_on, case.notice_ends_on) == (None, None)
    assert case.assessment.monthly_amount_fen == 120_000
    assert [s.step for s in steps] == ["amended"] and steps[0].actor == SYSTEM and "前台" in steps[0].opinion
    assert kinds(events) == [CaseStatusChanged]


def test_a_member_leaving_during_the_notice_sends_it_back_too():
    """Two members left, 300 yuan for one: 300 per head, the tier below 400 gives 350."""
    case = on_notice(opened())
    collect(case)
    case.household_changed(_same_household(case, members=case.snapshot.members[:1]), PARAMS, TODAY)
    assert case.status is Status.INVESTIGATION and case.notice_posted_on is None
    assert case.assessment.monthly_amount_fen == 35_000


def test_household_facts_the_case_was_assessed_on_already_change_nothing():
    """The same snapshot (a contact detail changed, or a redelivery): no step, no event, the notice stands."""
    case = on_notice(opened())
    collect(case)
    case.household_changed(case.snapshot.model_copy(), PARAMS, TODAY)
    assert case.status is Status.PUBLIC_NOTICE and case.notice_posted_on is not None and collect(case) == ([], [])
    decided = approved()
    decided.household_changed(_same_household(decided, incomes=[]), PARAMS, TODAY)
    assert decided.status is Status.APPROVED and collect(decided) == ([], [])  # the roll's own routes (review)


def test_expenditure_help_the_township_decides_has_the_delegated_whole_case_limit():
    """domain.md: 20 working days where the township decides. From Monday 4 Sept 2023: 18 working days to 28 Sept,
    then the National Day break (29 Sept–6 Oct), and Saturday 7 and Sunday 8 Oct are worked: the 8th (30 would be
    20 Oct)."""
    case = _temporary("expenditure", 500_000, "子女上学")
    case.start_investigation(by(CLERK, date(2023, 9, 5)))
    assert case.state.delegated and case.due_date == date(2023, 10, 8)


def test_an_objection_after_the_notice_ended_is_refused_naming_the_date():
    case = on_notice(opened())  # posted 11 Sept, runs to the 17th
    collect(case)
    with pytest.raises(InvalidInput) as exc:
        case.record_objection(by(REVIEWER, date(2023, 9, 18)), objection="公示结束后收到的异议")
    assert exc.value.errors[0]["field"] == "on" and "2023-09-17" in str(exc.value)
    assert case.status is Status.PUBLIC_NOTICE and not case.complained and collect(case) == ([], [])
    case.record_objection(by(REVIEWER, date(2023, 9, 17)), objection="最后一天的异议")
    assert case.status is Status.INVESTIGATION and case.complained
