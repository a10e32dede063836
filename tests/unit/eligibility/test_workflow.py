"""The case workflow's pure rules: which step follows which, who takes it, and when it is due."""

from __future__ import annotations

from datetime import date

import pytest

from services.eligibility.cases import workflow
from services.eligibility.cases.workflow import CaseState, Limits, Status, Timeline
from shared.errors import Conflict, Forbidden

LIMITS = Limits(
    investigation_start_wd=3,
    county_decision_wd=10,
    overall_wd=30,
    overall_extended_wd=45,
    delegated_overall_wd=20,
    tekun_township_wd=15,
    tekun_county_wd=15,
    rejection_notice_wd=3,
    notice_days=7,
)


def test_steps_from_each_open_state_are_listed_for_the_front_end():
    assert workflow.allowed_steps(CaseState(Status.ACCEPTED)) == ["investigation", "extension"]
    assert workflow.allowed_steps(CaseState(Status.ACCEPTED, emergency=True)) == [
        "investigation",
        "extension",
        "emergency-approval",
    ]
    assert set(workflow.allowed_steps(CaseState(Status.PUBLIC_NOTICE))) == {
        "notice/objections",
        "notice/close",
        "extension",
    }
    assert "extension" not in workflow.allowed_steps(CaseState(Status.PUBLIC_NOTICE, extended=True))
    assert workflow.allowed_steps(CaseState(Status.INVESTIGATION)) == ["home-visits", "extension"]
    assert "economic-check" in workflow.allowed_steps(CaseState(Status.INVESTIGATION, home_visits=1))
    assert (
        workflow.allowed_steps(CaseState(Status.APPROVED, one_off=True)) == []
    )  # paid once: nothing to review or stop
    assert workflow.allowed_steps(CaseState(Status.REJECTED)) == []


def test_a_step_from_the_wrong_state_names_what_is_allowed():
    with pytest.raises(Conflict) as err:
        workflow.check_step("decision", CaseState(Status.INVESTIGATION), frozenset({"county_approver"}))
    assert "home-visits" in err.value.extra["allowed_next"] and "decision" not in err.value.extra["allowed_next"]


def test_the_role_is_checked_before_the_state():
    with pytest.raises(Forbidden):
        workflow.check_step("decision", CaseState(Status.ACCEPTED), frozenset({"clerk"}))
    with pytest.raises(Forbidden):  # admin holds no step of its own
        workflow.check_step("emergency-approval", CaseState(Status.ACCEPTED, emergency=True), frozenset({"admin"}))


def test_the_decision_belongs_to_the_county_unless_delegated_to_the_township():
    reviewer = frozenset({"township_reviewer"})
    with pytest.raises(Forbidden):
        workflow.check_step("decision", CaseState(Status.COUNTY_REVIEW), reviewer)
    assert workflow.check_step("decision", CaseState(Status.COUNTY_REVIEW, delegated=True), reviewer).name == "decision"
    with pytest.raises(Forbidden):
        workflow.check_step("decision", CaseState(Status.COUNTY_REVIEW, delegated=True), frozenset({"auditor"}))


def test_the_notice_is_sent_from_the_county_review_only_while_none_has_run():
    county, reviewer = frozenset({"county_approver"}), frozenset({"township_reviewer"})
    assert workflow.check_step("notice", CaseState(Status.COUNTY_REVIEW), county).name == "notice"
    assert "notice" in workflow.allowed_steps(CaseState(Status.COUNTY_REVIEW))
    with pytest.raises(Forbidden):
        workflow.check_step("notice", CaseState(Status.COUNTY_REVIEW), reviewer)
    # 委托: the township deciding for the county sends to the notice as well.
    assert workflow.check_step("notice", CaseState(Status.COUNTY_REVIEW, delegated=True), reviewer).name == "notice"
    ran = CaseState(Status.COUNTY_REVIEW, notice_run=True)
    with pytest.raises(Conflict, match="has run") as err:
        workflow.check_step("notice", ran, county)
    assert err.value.extra["allowed_next"] == ["home-visits", "decision", "extension"]
    # Not a duty of the worklist: the decision is (reject, or send to the notice first).
    assert workflow.worklist_steps(CaseState(Status.COUNTY_REVIEW), county) == ["decision"]


def test_withdrawal_is_only_for_the_system():
    assert "withdraw" not in workflow.allowed_steps(CaseState(Status.ACCEPTED))


def _t(status: Status, **kw) -> Timeline:
    return Timeline(
        programme=kw.pop("programme", "dibao"),
        status=status,
        accepted_on=date(2023, 9, 25),
        status_since=kw.pop("since", date(2023, 9, 25)),
        **kw,
    )


def test_investigation_must_start_within_three_working_days_over_national_day():
    # Accepted Mon 25 Sept 2023: 26, 27, 28 Sept are the three working days.
    assert workflow.due_date(_t(Status.ACCEPTED), LIMITS) == date(2023, 9, 28)
    late = Timeline("dibao", Status.ACCEPTED, date(2023, 9, 28), date(2023, 9, 28))
    assert workflow.due_date(late, LIMITS) == date(2023, 10, 9)  # 7 and 8 Oct are make-up working days


def test_county_step_is_bounded_by_the_whole_case_limit():
    t = _t(Status.COUNTY_REVIEW, since=date(2023, 11, 1))
    overall = workflow.overall_due(t, LIMITS)
    assert workflow.due_date(t, LIMITS) == min(overall, workflow.step_due(t, LIMITS))
    assert workflow.overall_due(_t(Status.COUNTY_REVIEW, extended=True), LIMITS) > overall
    assert workflow.overall_due(_t(Status.COUNTY_REVIEW, delegated=True), LIMITS) < overall


def test_tekun_uses_its_fifteen_day_limits():
    t = _t(Status.INVESTIGATION, programme="tekun")
    assert workflow.step_due(t, LIMITS) == workflow.overall_due(
        _t(Status.ACCEPTED), Limits(**{**LIMITS.__dict__, "overall_wd": 15})
    )


def test_decided_cases_have_no_deadline_and_notice_runs_seven_days():
    assert workflow.due_date(_t(Status.APPROVED), LIMITS) is None
    assert workflow.notice_end(date(2023, 9, 13), LIMITS) == date(2023, 9, 19)


def test_review_interval_depends_on_income_regularity():
    assert workflow.review_due(date(2023, 9, 25), False, 12, 6) == date(2024, 9, 25)
    assert workflow.review_due(date(2023, 9, 25), True, 12, 6) == date(2024, 3, 25)
    assert workflow.review_due(date(2023, 8, 31), True, 12, 6) == date(2024, 2, 28)


def test_a_worklist_lists_the_duties_a_role_may_take_now_never_the_optional_steps():
    from services.eligibility.cases.workflow import Worklist, worklist_steps

    county, clerk, reviewer = frozenset({"county_approver"}), frozenset({"clerk"}), frozenset({"township_reviewer"})
    visited = CaseState(Status.INVESTIGATION, home_visits=1)
    assert worklist_steps(visited, county) == ["home-visits", "economic-check"]  # never "extension"
    assert worklist_steps(CaseState(Status.INVESTIGATION), county) == ["home-visits"]  # no visit yet: no check
    assert worklist_steps(CaseState(Status.ACCEPTED), county) == []
    assert worklist_steps(CaseState(Status.ACCEPTED, emergency=True), county) == ["emergency-approval"]
    # The states a query selects hold a step for the role without any further condition.
    assert Worklist.of(county).statuses == {Status.INVESTIGATION, Status.COUNTY_REVIEW}
    assert Worklist.of(clerk).statuses == {Status.ACCEPTED, Status.INVESTIGATION}
    assert Worklist.of(clerk).emergency_statuses == frozenset() and not Worklist.of(clerk).delegated_decisions
    assert Worklist.of(reviewer).delegated_decisions


def test_a_case_awaiting_the_county_leaves_the_townships_worklists():
    """县级审核确认: a plain case holds the county's decision only; the county's own home visit (入户抽查) is a duty
    where the decision cannot approve without it (separate register, complained), and then it is the county's."""
    from services.eligibility.cases.workflow import worklist_steps

    county, clerk, reviewer = frozenset({"county_approver"}), frozenset({"clerk"}), frozenset({"township_reviewer"})
    plain = CaseState(Status.COUNTY_REVIEW, home_visits=1, notice_run=True)
    assert worklist_steps(plain, clerk) == []
    assert worklist_steps(plain, reviewer) == []
    assert worklist_steps(plain, county) == ["decision"]
    # Optional, not listed: still allowed (the county may visit any case it reviews, the township too).
    assert "home-visits" in workflow.allowed_steps(plain)
    assert workflow.check_step("home-visits", plain, clerk).name == "home-visits"
    visit_due = CaseState(Status.COUNTY_REVIEW, home_visits=1, notice_run=True, county_visit_due=True)
    assert worklist_steps(visit_due, county) == ["home-visits", "decision"]
    assert worklist_steps(visit_due, clerk) == [] and worklist_steps(visit_due, reviewer) == []
    # Delegated (委托): the reviewer decides; the county's own visit stays the county's.
    delegated = CaseState(Status.COUNTY_REVIEW, home_visits=1, delegated=True, county_visit_due=True)
    assert worklist_steps(delegated, reviewer) == ["decision"]
    assert worklist_steps(delegated, county) == ["home-visits", "decision"]
    # In the investigation the home visit is the township's duty as before.
    assert worklist_steps(CaseState(Status.INVESTIGATION), clerk) == ["home-visits"]


def test_tekun_has_no_extension_dibao_does():
    """特困 (民发〔2021〕43号) has 15 + 15 WD and no extension: the step is neither offered nor accepted; 低保's 30 WD
    extend to 45."""
    county = frozenset({"county_approver"})
    tekun = CaseState(Status.COUNTY_REVIEW, programme="tekun")
    assert "extension" not in workflow.allowed_steps(tekun)
    with pytest.raises(Conflict, match="no extension") as err:
        workflow.check_step("extension", tekun, county)
    assert "extension" not in err.value.extra["allowed_next"] and "decision" in err.value.extra["allowed_next"]
    dibao = CaseState(Status.COUNTY_REVIEW, programme="dibao")
    assert "extension" in workflow.allowed_steps(dibao)
    assert workflow.check_step("extension", dibao, county).name == "extension"
    assert workflow.overall_due(_t(Status.COUNTY_REVIEW, extended=True), LIMITS) > workflow.overall_due(
        _t(Status.COUNTY_REVIEW), LIMITS
    )


def test_paperwork_owed_after_emergency_help_is_a_township_task_with_a_due_date():
    """急难型: paid first, documented after. While documents are pending `documents-complete` is the township's duty
    (clerk or reviewer: the step's roles), due when the case would have been decided under the normal 临时救助
    procedure: the whole-case limit from acceptance (30 WD; 20 where the township decides)."""
    from services.eligibility.cases.workflow import Worklist, worklist_steps

    county, clerk, reviewer = frozenset({"county_approver"}), frozenset({"clerk"}), frozenset({"township_reviewer"})
    pending = CaseState(Status.APPROVED, one_off=True, documents_pending=True)
    assert worklist_steps(pending, clerk) == ["documents-complete"]
    assert worklist_steps(pending, reviewer) == ["documents-complete"]
    assert worklist_steps(pending, county) == []
    assert worklist_steps(CaseState(Status.APPROVED, one_off=True), clerk) == []
    assert Worklist.of(clerk).documents_pending and not Worklist.of(county).documents_pending
    # Accepted Mon 25 Sept 2023, by hand: 26–28 Sept (3), 7–8 Oct make-up days (5), 9 Oct–3 Nov (25), 6–10 Nov (30).
    t = _t(Status.APPROVED, programme="temporary", documents_pending=True)
    assert workflow.due_date(t, LIMITS) == workflow.overall_due(_t(Status.ACCEPTED, programme="temporary"), LIMITS)
    assert workflow.due_date(t, LIMITS) == date(2023, 11, 10)
    assert workflow.due_date(
        _t(Status.APPROVED, programme="temporary", documents_pending=True, delegated=True), LIMITS
    ) == (workflow.overall_due(_t(Status.ACCEPTED, programme="temporary", delegated=True), LIMITS))
    assert workflow.due_date(_t(Status.APPROVED, programme="temporary"), LIMITS) is None


def test_a_one_off_paid_once_has_nothing_to_stop():
    """临时救助 / 医疗救助 approved: no review and no 停保 (payments acknowledges an end of a one-off without effect);
    a case on the roll may be stopped."""
    assert "termination" not in workflow.allowed_steps(CaseState(Status.APPROVED, one_off=True))
    with pytest.raises(Conflict, match="one-off"):
        workflow.check_step("termination", CaseState(Status.APPROVED, one_off=True), frozenset({"county_approver"}))
    assert "termination" in workflow.allowed_steps(CaseState(Status.APPROVED))
