"""Pure logic of what each person is owed (`OwedRun`) and of an overpayment's lifecycle (`OverpaymentCase`)."""

from __future__ import annotations

import uuid

import pytest

from services.payments.models import HOUSEHOLD
from services.payments.recovery.domain import OverpaymentCase
from services.payments.roll.domain import OwedRun, OwedSegment, ScheduleChange
from shared.core.period import Period
from shared.errors import Conflict, TwoPersonRule

MAR, APR, MAY, JUN = Period(2026, 3), Period(2026, 4), Period(2026, 5), Period(2026, 6)
HH = uuid.uuid4()


def _change(case_id, changed_from, segments, member=HOUSEHOLD, programme="dibao", reason="review") -> ScheduleChange:
    return ScheduleChange(
        uuid.uuid4(),
        case_id,
        HH,
        programme,
        "610626101001",
        changed_from,
        [OwedSegment(member, f, t, fen, 2) for f, t, fen in segments],
        reason,
    )


def _owed(run: OwedRun, month: Period, member=HOUSEHOLD, programme="dibao") -> int:
    rows = run.in_force.get((HH, programme), [])
    found = [
        r.amount_fen
        for r in rows
        if r.member_id == member and r.from_month <= month and (r.to_month is None or month <= r.to_month)
    ]
    assert len(found) <= 1, "two rows in force for one month"
    return found[0] if found else 0


def test_a_change_replaces_the_months_from_its_own_month_and_keeps_the_earlier_ones():
    case = uuid.uuid4()
    run = OwedRun({}, set())
    run.apply(_change(case, MAR, [(MAR, None, 68_000)]))
    run.apply(_change(case, MAY, [(MAY, None, 73_000)]))  # 提标 from May
    assert [_owed(run, m) for m in (MAR, APR, MAY, JUN)] == [68_000, 68_000, 73_000, 73_000]
    run.apply(_change(case, APR, []))  # 停保 after March
    assert [_owed(run, m) for m in (MAR, APR, MAY, JUN)] == [68_000, 0, 0, 0]
    # Every row written is kept: the superseded ones are marked, not removed.
    assert sum(1 for a in run.added if a.superseded_by is None) == 1


def test_the_months_before_a_change_stay_owed_for_their_own_reason():
    """A 提标 from March, then a death in April (nothing owed from May): March and April are still owed for the rise
    (their back-pay is 提标补发), not for the death that only ended the months after them."""
    case = uuid.uuid4()
    run = OwedRun({}, set())
    run.apply(_change(case, MAR, [(MAR, None, 68_000)], reason="approval"))
    run.apply(_change(case, MAR, [(MAR, None, 73_000)], reason="standard_rise"))
    run.apply(_change(case, MAY, [], reason="death"))
    [row] = run.in_force[(HH, "dibao")]
    assert (row.from_month, row.to_month, row.amount_fen, row.reason) == (MAR, APR, 73_000, "standard_rise")
    assert [(a.row.reason, a.superseded_by is None) for a in run.added] == [
        ("approval", False),
        ("standard_rise", False),
        ("standard_rise", True),
    ]


def test_a_second_case_of_the_household_replaces_the_first_ones_months_never_adds():
    run = OwedRun({}, set())
    run.apply(_change(uuid.uuid4(), MAR, [(MAR, None, 68_000)]))
    run.apply(_change(uuid.uuid4(), APR, [(APR, None, 70_000)]))
    assert [_owed(run, m) for m in (MAR, APR, MAY)] == [68_000, 70_000, 70_000]


def test_a_persons_change_leaves_the_other_members_lines_alone():
    sister, brother = uuid.uuid4(), uuid.uuid4()
    run = OwedRun({}, set())
    run.apply(_change(uuid.uuid4(), MAR, [(MAR, None, 90_000)], sister, "tekun"))
    brothers_case = uuid.uuid4()
    run.apply(_change(brothers_case, MAR, [(MAR, None, 86_000)], brother, "tekun"))
    run.apply(_change(brothers_case, MAR, [(MAR, APR, 86_000)], brother, "tekun"))  # died in April
    assert [_owed(run, m, brother, "tekun") for m in (APR, MAY)] == [86_000, 0]
    assert [_owed(run, m, sister, "tekun") for m in (APR, MAY)] == [90_000, 90_000]
    assert run.changed[(HH, "tekun", brother)].from_month == MAR


def test_an_event_already_applied_changes_nothing():
    change = _change(uuid.uuid4(), MAR, [(MAR, None, 68_000)])
    run = OwedRun({}, {change.event_id})
    assert run.apply(change) is False and run.added == [] and run.in_force == {}


def test_a_waiver_needs_a_second_officer_and_a_closed_overpayment_takes_no_step():
    case = OverpaymentCase(1, "open")
    case.request_waiver("finance-a")
    with pytest.raises(TwoPersonRule):
        case.approve_waiver("finance-a")
    case.approve_waiver("finance-b")
    assert (case.status, case.closed_reason, case.closed_by) == ("closed", "waived", "finance-b")
    with pytest.raises(Conflict):
        case.repaid("finance-a")
    repaid = OverpaymentCase(2, "open")
    repaid.repaid("finance-a")
    assert (repaid.status, repaid.closed_reason) == ("closed", "repaid")
