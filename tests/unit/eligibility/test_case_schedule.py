"""A case's schedule (待遇) on the `Case` alone: what each decision owes per person and month, in fen worked out by
hand from 吴起县's 2023 parameters (urban 低保 standard 8160元/年 = 680元/月, 补差; 特困 urban basic 10608元/年 =
884元/月, 全自理 care 2520元/年 = 210元/月), and the issue 16 sequences that went wrong before schedules."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.eligibility.cases import schedule as sched
from services.eligibility.cases.domain import Case, CaseAssessment, RecomputedFor
from services.eligibility.cases.repository import row_values, to_case
from services.eligibility.cases.workflow import Status
from services.eligibility.models import Case as CaseRow
from services.eligibility.policy import ParameterSet
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.errors import InvalidInput
from shared.events.catalogue import (
    CaseAmountChanged,
    CaseApproved,
    CaseScheduleChanged,
    CaseTerminated,
)
from tests.unit.eligibility.test_case_model import (
    APPROVER,
    PARAMS,
    REVIEWER,
    TODAY,
    _member,
    application,
    at_township_review,
    by,
    collect,
    household,
    opened,
)

URBAN = "dibao.standard.urban"


def risen(params: ParameterSet, key: str, start: date, value: Any) -> ParameterSet:
    return params.with_value("610626", key, start, value, f"test: {key} from {start}")


def monthly(case_or_segments, first: Period, last: Period) -> dict[str, int]:
    """Fen owed per month (all persons), YYYY-MM → fen, for the months first…last."""
    segments = case_or_segments.schedule if isinstance(case_or_segments, Case) else case_or_segments
    out, month = {}, first
    while month <= last:
        out[str(month)] = sched.total(segments, month)
        month = month.next()
    return out


def approve(case: Case, params: ParameterSet = PARAMS, on: date = date(2023, 9, 25)) -> Case:
    """Through the procedure (appraisal where the programme has it) to the county's approval on `on`."""
    at_township_review(case)
    case.township_opinion(by(REVIEWER, date(2023, 9, 8)), recommendation="approve", opinion="建议纳入")
    if case.status is Status.APPRAISAL:
        case.record_appraisal(by(REVIEWER, date(2023, 9, 11)), result="agreed", participants=9, opinion="同意")
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    case.decide(StepContextFor(params, on), decision="approve", opinion="同意")
    return case


def StepContextFor(params: ParameterSet, on: date):
    from services.eligibility.cases.domain import StepContext

    return StepContext(APPROVER, params, on, TODAY)


def urban_two(wages_fen: int = 60_000, earner: int | None = None):
    """Two urban members; `wages_fen` a month, the second member's own when `earner` is 1, else the household's."""
    members = [_member("张伟", "1970-02-01", "head"), _member("李芳", "1972-03-04", "spouse")]
    snapshot = household(members=members, wages_fen=wages_fen, hukou_type="urban")
    if earner is not None:
        incomes = [i.model_copy(update={"member_id": snapshot.members[earner].member_id}) for i in snapshot.incomes]
        snapshot = snapshot.model_copy(update={"incomes": incomes})
    return snapshot


def kinds(events: list) -> list[type]:
    return [type(e) for e in events]


# --- approval -------------------------------------------------------------------------------------------------------


def test_an_approval_owes_from_the_next_month_at_the_rules_amount():
    case = approve(opened(application(urban_two())))
    _, events = collect(case)
    # 补差: 680 × 2 − 600 = 760 yuan a month from October.
    assert monthly(case, Period(2023, 10), Period(2024, 2)) == dict.fromkeys(
        ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02"], 76_000
    )
    assert kinds(events)[-2:] == [CaseApproved, CaseScheduleChanged]
    changed = events[-1]
    assert changed.reason == "approval" and changed.changed_from == Period(2023, 10)
    [segment] = changed.segments
    assert (segment.from_month, segment.to_month, segment.amount_fen, segment.persons, segment.member_id) == (
        Period(2023, 10),
        None,
        76_000,
        2,
        None,
    )
    assert {"key": URBAN, "value": {"per": "year", "fen": 816_000}}.items() <= next(
        v for v in segment.basis["values"] if v["key"] == URBAN
    ).items()


def test_sequence_5_an_approval_after_a_decided_rise_is_priced_with_the_values_of_each_month():
    """A rise to 730 from 1 November, decided before the approval (dated 25 September, entered late): October at
    680 (760 yuan), November on at 730 (730 × 2 − 600 = 860 yuan). Before, every month was 760."""
    params = risen(PARAMS, URBAN, date(2023, 11, 1), {"per": "month", "fen": 73_000})
    case = approve(opened(application(urban_two())), params)
    _, events = collect(case)
    assert monthly(case, Period(2023, 10), Period(2024, 1)) == {
        "2023-10": 76_000,
        "2023-11": 86_000,
        "2023-12": 86_000,
        "2024-01": 86_000,
    }
    approved = next(e for e in events if isinstance(e, CaseApproved))
    assert approved.monthly_amount_fen == 76_000 and approved.effective_month == Period(2023, 10)
    [step] = [e for e in events if isinstance(e, CaseAmountChanged)]
    assert (step.previous_monthly_amount_fen, step.monthly_amount_fen, step.effective_month) == (
        76_000,
        86_000,
        Period(2023, 11),
    )
    assert case.monthly_amount_fen == 86_000
    changed = next(e for e in events if isinstance(e, CaseScheduleChanged))
    assert [(str(s.from_month), s.to_month and str(s.to_month), s.amount_fen) for s in changed.segments] == [
        ("2023-10", "2023-10", 76_000),
        ("2023-11", None, 86_000),
    ]


# --- reviews and 提标 -------------------------------------------------------------------------------------------------


def test_sequence_8_a_rise_reprices_each_segment_with_its_own_facts():
    """Approved for October at 760; a December review finds 1000 yuan income: 680 × 2 − 1000 = 360 from January.
    A rise to 730 from 1 November decided afterwards: November–December on the facts before the review
    (730 × 2 − 600 = 860), January on with the review's (730 × 2 − 1000 = 460). Today's facts from November would
    have owed 460 for November and December, 'recovering' 300 a month that was owed."""
    case = approve(opened(application(urban_two())))
    latest = urban_two(100_000).model_copy(update={"household_id": case.household_id})
    case.review(by(REVIEWER, date(2023, 12, 20), TODAY), latest=latest)
    collect(case)
    assert monthly(case, Period(2023, 10), Period(2024, 2)) == {
        "2023-10": 76_000,
        "2023-11": 76_000,
        "2023-12": 76_000,
        "2024-01": 36_000,
        "2024-02": 36_000,
    }
    params = risen(PARAMS, URBAN, date(2023, 11, 1), {"per": "month", "fen": 73_000})
    change = RecomputedFor(region="610626", key=URBAN, start=date(2023, 11, 1))
    changes = case.reprice(params, change, "吴起县提标", date(2024, 9, 10))
    assert monthly(case, Period(2023, 10), Period(2024, 2)) == {
        "2023-10": 76_000,
        "2023-11": 86_000,
        "2023-12": 86_000,
        "2024-01": 46_000,
        "2024-02": 46_000,
    }
    assert [(str(d.from_month), d.to_month and str(d.to_month), d.before_fen, d.after_fen) for d in changes] == [
        ("2023-11", "2023-12", 76_000, 86_000),
        ("2024-01", None, 36_000, 46_000),
    ]
    steps, events = collect(case)
    assert kinds(events) == [CaseScheduleChanged, CaseAmountChanged, CaseAmountChanged]
    changed = events[0]
    assert changed.reason == "standard_rise" and changed.changed_from == Period(2023, 11)
    assert [(str(s.from_month), s.to_month and str(s.to_month), s.amount_fen, s.reason) for s in changed.segments] == [
        ("2023-11", "2023-12", 86_000, "standard_rise"),
        ("2024-01", None, 46_000, "standard_rise"),
    ]
    # The roll payments keeps from amount changes: 860 from November, 460 from January.
    assert [(e.previous_monthly_amount_fen, e.monthly_amount_fen, str(e.effective_month)) for e in events[1:]] == [
        (76_000, 86_000, "2023-11"),
        (86_000, 46_000, "2024-01"),
    ]
    assert steps[0].step == "standard_recompute" and case.monthly_amount_fen == 46_000
    # Again (a replayed event): nothing moves, nothing is announced.
    assert case.reprice(params, change, "吴起县提标", date(2024, 9, 10)) == []
    assert collect(case) == ([], [])


def test_a_later_rise_of_one_key_keeps_an_earlier_rise_of_another():
    """特困 (urban, 全自理): 884 + 210 = 1094 yuan from October. Care 2520 → 3000元/年 (250/月) from December:
    1134. Then the basic standard 10608 → 12000元/年 (1000/月) from November, decided later: November
    1000 + 210 = 1210, December on 1000 + 250 = 1250 — the care rise stays."""
    elder = _member("孙老汉", "1950-03-10", "head", labour_capacity="none", has_capable_supporter=False)
    case = approve(opened(application(household(members=[elder], wages_fen=0, hukou_type="urban"), "tekun")))
    collect(case)
    care = risen(PARAMS, "tekun.care.full_self_care", date(2023, 12, 1), {"per": "year", "fen": 300_000})
    case.reprice(
        care, RecomputedFor(region="610626", key="tekun.care.full_self_care", start=date(2023, 12, 1)), "r", TODAY
    )
    both = risen(care, "tekun.basic.urban", date(2023, 11, 1), {"per": "year", "fen": 1_200_000})
    case.reprice(both, RecomputedFor(region="610626", key="tekun.basic.urban", start=date(2023, 11, 1)), "r", TODAY)
    assert monthly(case, Period(2023, 10), Period(2024, 1)) == {
        "2023-10": 109_400,
        "2023-11": 121_000,
        "2023-12": 125_000,
        "2024-01": 125_000,
    }
    assert {s.member_id for s in case.schedule} == {case.snapshot.members[0].member_id}


def test_sequence_6_a_case_off_the_roll_is_repriced_for_the_months_it_was_owed():
    """Moved away on 10 December: owed October–December at 760. A rise to 730 from November: November and
    December owe 860; nothing after December."""
    case = approve(opened(application(urban_two())))
    case.terminate(by(APPROVER, date(2023, 12, 10), TODAY), reason="moved", opinion="迁出")
    collect(case)
    params = risen(PARAMS, URBAN, date(2023, 11, 1), {"per": "month", "fen": 73_000})
    changes = case.reprice(params, RecomputedFor(region="610626", key=URBAN, start=date(2023, 11, 1)), "r", TODAY)
    assert case.status is Status.TERMINATED
    assert monthly(case, Period(2023, 10), Period(2024, 1)) == {
        "2023-10": 76_000,
        "2023-11": 86_000,
        "2023-12": 86_000,
        "2024-01": 0,
    }
    assert [(str(d.from_month), str(d.to_month), d.after_fen - d.before_fen) for d in changes] == [
        ("2023-11", "2023-12", 10_000)
    ]
    _, events = collect(case)
    assert kinds(events) == [CaseScheduleChanged]  # no amount change: the roll must not restart a stopped case


def test_a_rise_the_rule_cannot_price_leaves_the_schedule_to_a_review():
    case = approve(opened(application(urban_two())))
    collect(case)
    before = list(case.schedule)
    # A standard of 200 yuan: 200 × 2 < 600, no longer eligible from November.
    params = risen(PARAMS, URBAN, date(2023, 11, 1), {"per": "month", "fen": 20_000})
    assert case.reprice(params, RecomputedFor(region="610626", key=URBAN, start=date(2023, 11, 1)), "r", TODAY) is None
    assert case.schedule == before and collect(case) == ([], [])


# --- deaths (sequence 2) ----------------------------------------------------------------------------------------------


def test_sequence_2_a_tekun_recipient_living_with_a_sibling_stops_after_the_month_of_death():
    elder = _member("孙老汉", "1950-03-10", "head", labour_capacity="none", has_capable_supporter=False)
    sibling = _member("孙二", "1956-06-01", "sibling", labour_capacity="partial")
    snapshot = household(members=[elder, sibling], wages_fen=0, hukou_type="urban")
    case = approve(opened(application(snapshot, "tekun", applicant_member_id=elder["member_id"])))
    collect(case)
    assert monthly(case, Period(2023, 10), Period(2023, 10)) == {"2023-10": 109_400}
    case.report_death(uuid.UUID(elder["member_id"]), date(2024, 3, 17), "public_security", uuid.uuid4(), PARAMS, TODAY)
    _, events = collect(case)
    assert case.status is Status.TERMINATED
    assert monthly(case, Period(2024, 2), Period(2024, 5)) == {
        "2024-02": 109_400,
        "2024-03": 109_400,
        "2024-04": 0,
        "2024-05": 0,
    }
    terminated = next(e for e in events if isinstance(e, CaseTerminated))
    changed = next(e for e in events if isinstance(e, CaseScheduleChanged))
    assert (terminated.reason, terminated.last_month) == ("death", Period(2024, 3))
    assert (changed.reason, changed.changed_from, changed.segments) == ("death", Period(2024, 4), [])


def test_a_death_in_a_two_person_tekun_case_stops_that_person_only():
    one = _member("孙老汉", "1950-03-10", "head", labour_capacity="none", has_capable_supporter=False)
    two = _member("孙老太", "1952-05-10", "spouse", labour_capacity="none", has_capable_supporter=False)
    case = approve(opened(application(household(members=[one, two], wages_fen=0, hukou_type="urban"), "tekun")))
    collect(case)
    # Each 1094 yuan a month, per person.
    assert sched.owed(case.schedule, Period(2023, 10)) == {
        uuid.UUID(one["member_id"]): 109_400,
        uuid.UUID(two["member_id"]): 109_400,
    }
    case.report_death(uuid.UUID(one["member_id"]), date(2024, 3, 17), "funeral", uuid.uuid4(), PARAMS, TODAY)
    _, events = collect(case)
    assert case.status is Status.APPROVED
    assert sched.owed(case.schedule, Period(2024, 3)) == {
        uuid.UUID(one["member_id"]): 109_400,
        uuid.UUID(two["member_id"]): 109_400,
    }
    assert sched.owed(case.schedule, Period(2024, 4)) == {uuid.UUID(two["member_id"]): 109_400}
    changed = next(e for e in events if isinstance(e, CaseScheduleChanged))
    assert [(str(s.from_month), s.to_month, s.amount_fen, str(s.member_id)) for s in changed.segments] == [
        ("2024-04", None, 109_400, two["member_id"])
    ]


def test_an_officials_termination_for_a_death_is_the_same_rule_and_asks_for_the_date():
    """The 2-person household's earner (600 yuan of her own) dies on 17 March 2024: the head alone from April,
    680 − 0 = 680 yuan; before that 760. The official must give the date of death and, for two persons, who."""
    case = approve(opened(application(urban_two(earner=1))))
    collect(case)
    ctx = by(APPROVER, date(2024, 5, 20), date(2024, 5, 20))
    with pytest.raises(InvalidInput) as missing:
        case.terminate(ctx, reason="death", opinion="成员去世")
    assert missing.value.errors[0]["field"] == "death_date"
    with pytest.raises(InvalidInput) as who:
        case.terminate(ctx, reason="death", opinion="成员去世", death_date=date(2024, 3, 17))
    assert who.value.errors[0]["field"] == "member_id"
    with pytest.raises(InvalidInput) as later:
        case.terminate(ctx, reason="moved", opinion="迁出", death_date=date(2024, 3, 17))
    assert later.value.errors[0]["field"] == "death_date"
    assert collect(case) == ([], [])
    died = case.snapshot.members[1].member_id
    case.terminate(ctx, reason="death", opinion="成员去世", death_date=date(2024, 3, 17), member_id=died)
    steps, events = collect(case)
    assert case.status is Status.APPROVED and steps[0].step == "termination"
    assert monthly(case, Period(2024, 2), Period(2024, 5)) == {
        "2024-02": 76_000,
        "2024-03": 76_000,
        "2024-04": 68_000,
        "2024-05": 68_000,
    }
    [segment] = next(e for e in events if isinstance(e, CaseScheduleChanged)).segments
    assert (segment.from_month, segment.amount_fen, segment.persons) == (Period(2024, 4), 68_000, 1)
    assert not next(m for m in case.snapshot.members if m.member_id == died).counted
    # The last one dies too: stopped after the month of death.
    case.terminate(
        by(APPROVER, date(2024, 7, 2), date(2024, 7, 2)),
        reason="death",
        opinion="户主去世",
        death_date=date(2024, 6, 30),
    )
    _, events = collect(case)
    assert case.status is Status.TERMINATED
    assert next(e for e in events if isinstance(e, CaseTerminated)).last_month == Period(2024, 6)
    assert monthly(case, Period(2024, 6), Period(2024, 7)) == {"2024-06": 68_000, "2024-07": 0}


# --- the pure pieces ----------------------------------------------------------------------------------------------


def test_deltas_are_runs_of_months_per_person():
    snapshot = urban_two()
    s = lambda a, b, fen: sched.Segment(  # noqa: E731
        Period(2023, a), Period(2023, b) if b else None, fen, 2, None, "approval", snapshot, ()
    )
    before = [s(1, 3, 100), s(4, None, 200)]
    after = [s(1, 1, 100), s(2, 5, 150), s(6, None, 200)]
    assert [
        (str(d.from_month), d.to_month and str(d.to_month), d.before_fen, d.after_fen)
        for d in sched.deltas(before, after)
    ] == [
        ("2023-02", "2023-03", 100, 150),
        ("2023-04", "2023-05", 200, 150),
    ]
    assert sched.deltas(before, after)[0].fen_through(Period(2023, 2)) == 50
    assert sched.deltas(before, sched.until(before, Period(2023, 6))) == [
        sched.Delta(None, Period(2023, 7), None, 200, 0)
    ]


def test_the_schedule_survives_its_row():
    case = approve(opened(application(urban_two())))
    latest = urban_two(100_000).model_copy(update={"household_id": case.household_id})
    case.review(by(REVIEWER, date(2023, 12, 20), TODAY), latest=latest)
    again = to_case(CaseRow(**row_values(case)))
    assert sched.same_schedule(again.schedule, case.schedule)
    assert again.schedule[0].snapshot != again.schedule[-1].snapshot  # each segment keeps its own facts
    assert isinstance(again.assessment, CaseAssessment)


def test_the_event_orders_segments_per_person():
    """Two persons' runs may cover the same months; one person's may not overlap, nor follow an open segment."""
    from datetime import UTC, datetime

    one, two = uuid.uuid4(), uuid.uuid4()

    def event(*segments: tuple) -> CaseScheduleChanged:
        return CaseScheduleChanged(
            case_id=uuid.uuid4(),
            household_id=uuid.uuid4(),
            programme="tekun",
            region_code="610626101201",
            changed_from=Period(2024, 1),
            segments=[
                {"from_month": a, "to_month": b, "amount_fen": 100, "persons": 1, "member_id": m, "reason": "review"}
                for m, a, b in segments
            ],
            reason="review",
            decided_at=datetime.now(UTC),
        )

    assert len(event((one, "2024-01", "2024-03"), (one, "2024-04", None), (two, "2024-01", None)).segments) == 3
    for bad in (
        [(one, "2024-01", "2024-03"), (one, "2024-03", None)],
        [(one, "2024-01", None), (one, "2024-04", None)],
        [(one, "2023-12", None)],
    ):
        with pytest.raises(ValueError):
            event(*bad)


def test_a_case_in_gradual_exit_whose_runs_all_end_is_repriced_too():
    """渐退: owed to March 2024 and nothing after, no open-ended run. A rise to 730 from November reprices November to
    March (760 → 860); the recompute once failed on such a case (no open-ended run to take the latest from) and
    dead-lettered the whole rise for its region."""
    from dataclasses import replace

    case = approve(opened(application(urban_two())))
    collect(case)
    case.status = Status.GRADUAL_EXIT
    case.schedule = [replace(s, to_month=s.to_month or Period(2024, 3)) for s in case.schedule]
    params = risen(PARAMS, URBAN, date(2023, 11, 1), {"per": "month", "fen": 73_000})
    changes = case.reprice(params, RecomputedFor(region="610626", key=URBAN, start=date(2023, 11, 1)), "r", TODAY)
    assert monthly(case, Period(2023, 10), Period(2024, 4)) == {
        "2023-10": 76_000,
        "2023-11": 86_000,
        "2023-12": 86_000,
        "2024-01": 86_000,
        "2024-02": 86_000,
        "2024-03": 86_000,
        "2024-04": 0,
    }
    assert [(str(d.from_month), str(d.to_month), d.after_fen - d.before_fen) for d in changes] == [
        ("2023-11", "2024-03", 10_000)
    ]


# --- age limits -----------------------------------------------------------------------------------------------------


def test_an_orphan_is_owed_through_the_month_of_the_18th_birthday_and_nothing_after():
    """社会散居孤儿 (吴起县, seed 000: 1,400 a month) born 20 January 2006, approved 25 September 2023: owed from
    October; 18 on 20 January 2024 — under 18 on the first of January, so January is owed, February not (国办发
    〔2010〕54号: 未满18周岁). The schedule says so from the approval, not only at the next review."""
    grandmother = _member("韩奶奶", "1950-05-05", "head")
    child = _member("韩小东", "2006-01-20", "grandchild", has_capable_supporter=False, student=True)
    snapshot = household(members=[grandmother, child], wages_fen=0)
    recognition = {"member_id": child["member_id"], "kind": "orphan", "basis": "父母双亡"}
    case = approve(
        opened(
            application(
                snapshot, "orphan", applicant_member_id=child["member_id"], details={"recognitions": [recognition]}
            )
        )
    )
    _, events = collect(case)
    assert monthly(case, Period(2023, 10), Period(2024, 3)) == {
        "2023-10": 140_000,
        "2023-11": 140_000,
        "2023-12": 140_000,
        "2024-01": 140_000,
        "2024-02": 0,
        "2024-03": 0,
    }
    changed = next(e for e in events if isinstance(e, CaseScheduleChanged))
    assert [(s.from_month, s.to_month, s.amount_fen) for s in changed.segments] == [
        (Period(2023, 10), Period(2024, 1), 140_000)
    ]
    assert case.next_review_on == date(2024, 1, 20)  # the township looks at the case the day the child turns 18


def test_a_disabled_child_is_paid_the_child_rate_until_18_then_the_adult_rate_of_the_grade():
    """困难残疾人生活补贴 in a 低保 household (吴起县, seed 000: 未满18周岁 100 a month; grade 4: 60): a grade-4
    child born 15 November 2005 is 18 on 15 November 2023 — October and November at 100 (under 18 on the first),
    60 from December."""
    head = _member("潘大山", "1968-03-03", "head", labour_capacity="partial")
    child = _member("潘小明", "2005-11-15", "child", disability_category="physical", disability_grade=4)
    snapshot = household(members=[head, child], wages_fen=0)
    data = application(snapshot, "disability_living", applicant_member_id=child["member_id"])
    case = approve(opened(data.model_copy(update={"household_programmes": ["dibao"]})))
    assert monthly(case, Period(2023, 10), Period(2024, 1)) == {
        "2023-10": 10_000,
        "2023-11": 10_000,
        "2023-12": 6_000,
        "2024-01": 6_000,
    }


def test_a_tekun_minor_out_of_school_is_supported_until_18_one_in_school_goes_on():
    """特困 minors (民发〔2021〕43号: supported to 18, longer while in school): one born 10 March 2008 (15 when
    approved), not in school, is owed through March 2026 (under 18 on 1 March), nothing from April; a schoolmate
    born the same day goes on (a review decides when school ends)."""

    def minor(student: bool) -> Case:
        child = _member("白小龙", "2008-03-10", "head", has_capable_supporter=False, student=student)
        snapshot = household(members=[child], wages_fen=0)
        return approve(opened(application(snapshot, "tekun", applicant_member_id=child["member_id"])))

    out, still = minor(False), minor(True)
    monthly_amount = sched.total(out.schedule, Period(2023, 10))
    assert monthly_amount > 0
    assert monthly(out, Period(2026, 3), Period(2026, 4)) == {"2026-03": monthly_amount, "2026-04": 0}
    assert monthly(still, Period(2026, 3), Period(2026, 4)) == {"2026-03": monthly_amount, "2026-04": monthly_amount}


# --- 分类施保 by age: an addition starts at the elderly age and ends at 18 within a segment ---------------------------

ELDERLY_FEN, MINOR_FEN = "dibao.classified.elderly_fen", "dibao.classified.minor_fen"


def urban_couple(head_born: str) -> HouseholdSnapshot:
    members = [_member("张老汉", head_born, "head"), _member("李大娘", "1960-03-04", "spouse")]
    return household(members=members, wages_fen=60_000, hukou_type="urban")


def test_a_member_turning_70_within_the_schedule_is_owed_the_elderly_addition_from_the_month_after():
    """补差 680 × 2 − 600 = 760 yuan; 分类施保 elderly +100 yuan (a county's value, from June 2023). The head, born 5
    December 1953, is 69 on 1 December 2023 and 70 on 1 January 2024: October–December 760, January on 860. One born
    on 1 December is 70 on the first of December: December on 860. Neither case is due for review on the birthday
    (the schedule prices it; nothing is for an official to look at)."""
    params = risen(PARAMS, ELDERLY_FEN, date(2023, 6, 1), 10_000)
    case = approve(opened(application(urban_couple("1953-12-05"))), params)
    _, events = collect(case)
    assert monthly(case, Period(2023, 10), Period(2024, 2)) == {
        "2023-10": 76_000,
        "2023-11": 76_000,
        "2023-12": 76_000,
        "2024-01": 86_000,
        "2024-02": 86_000,
    }
    changed = next(e for e in events if isinstance(e, CaseScheduleChanged))
    assert [(str(s.from_month), s.to_month and str(s.to_month), s.amount_fen) for s in changed.segments] == [
        ("2023-10", "2023-12", 76_000),
        ("2024-01", "2030-03", 86_000),
        ("2030-04", None, 96_000),
    ]
    on_the_first = approve(opened(application(urban_couple("1953-12-01"))), params)
    assert monthly(on_the_first, Period(2023, 11), Period(2023, 12)) == {"2023-11": 76_000, "2023-12": 86_000}
    older = approve(opened(application(urban_couple("1950-06-06"))), params)
    assert monthly(older, Period(2023, 10), Period(2023, 10)) == {"2023-10": 86_000}
    assert case.next_review_on == older.next_review_on


def test_a_child_turning_18_within_the_schedule_is_owed_the_minor_addition_through_that_month_only():
    """Three urban members, 680 × 3 − 600 = 1440 yuan, +50 for the minor (a county's value): the child, born 10
    December 2005, is 17 on 1 December 2023 and 18 on 1 January 2024 — October–December 1490, January on 1440."""
    members = [
        _member("王建", "1975-01-01", "head"),
        _member("赵丽", "1976-02-02", "spouse"),
        _member("王小宇", "2005-12-10", "child", student=True),
    ]
    params = risen(PARAMS, MINOR_FEN, date(2023, 6, 1), 5_000)
    case = approve(opened(application(household(members=members, wages_fen=60_000, hukou_type="urban"))), params)
    assert monthly(case, Period(2023, 10), Period(2024, 1)) == {
        "2023-10": 149_000,
        "2023-11": 149_000,
        "2023-12": 149_000,
        "2024-01": 144_000,
    }


def test_a_rise_of_the_elderly_addition_reaches_a_member_who_turns_70_after_its_start():
    """Approved with no elderly addition (吴起县's 0): 760 a month. A county then sets it to 100 yuan from November
    2023: the head (born 5 December 1953) is owed it from January 2024, when they are 70 on the first, the spouse
    (born 4 March 1960) from April 2030 — the case is re-priced though it read no addition when priced (before, the
    recompute passed it over: its schedule had not read the key)."""
    case = approve(opened(application(urban_couple("1953-12-05"))))
    collect(case)
    assert monthly(case, Period(2024, 1), Period(2024, 1)) == {"2024-01": 76_000}
    # What the recompute's work list looks for in the stored schedule (`PRICED_WITH_FILTER`): the key among its values.
    assert all(any(v.key == ELDERLY_FEN for v in s.values) for s in case.schedule)
    params = risen(PARAMS, ELDERLY_FEN, date(2023, 11, 1), 10_000)
    change = RecomputedFor(region="610626", key=ELDERLY_FEN, start=date(2023, 11, 1))
    changes = case.reprice(params, change, "吴起县分类施保", date(2024, 3, 1))
    assert [(str(d.from_month), d.to_month and str(d.to_month), d.before_fen, d.after_fen) for d in changes] == [
        ("2024-01", "2030-03", 76_000, 86_000),
        ("2030-04", None, 76_000, 96_000),
    ]
    assert monthly(case, Period(2023, 10), Period(2024, 2)) == {
        "2023-10": 76_000,
        "2023-11": 76_000,
        "2023-12": 76_000,
        "2024-01": 86_000,
        "2024-02": 86_000,
    }
