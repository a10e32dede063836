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
    assert workflow.allowed_steps(CaseState(Status.APPROVED, one_off=True)) == ["termination"]
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
    assert workflow.worklist_steps(CaseState(Status.COUNTY_REVIEW), county) == ["home-visits", "decision"]


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
    assert worklist_steps(CaseState(Status.COUNTY_REVIEW), reviewer) == ["home-visits"]
    assert worklist_steps(CaseState(Status.COUNTY_REVIEW, delegated=True), reviewer) == ["home-visits", "decision"]
    assert worklist_steps(CaseState(Status.APPROVED, documents_pending=True), clerk) == []  # not a deadline duty
    # The states a query selects hold a step for the role without any further condition.
    assert Worklist.of(county).statuses == {Status.INVESTIGATION, Status.COUNTY_REVIEW}
    assert Worklist.of(clerk).statuses == {Status.ACCEPTED, Status.INVESTIGATION, Status.COUNTY_REVIEW}
    assert Worklist.of(clerk).emergency_statuses == frozenset() and not Worklist.of(clerk).delegated_decisions
    assert Worklist.of(reviewer).delegated_decisions
