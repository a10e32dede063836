"""A run of decisions applied in memory (RollRun): rows the run adds and then replaces are kept, superseded."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.payments.roll.domain import EntitlementRow, RollEntry, RollRun, amount_for
from services.payments.roll.service import _award_row
from shared.core.period import Period
from shared.events.catalogue import CaseApproved
from tests.helpers import delivery

JUL, AUG, SEP, DEC = Period(2026, 7), Period(2026, 8), Period(2026, 9), Period(2026, 12)


def _entry(in_force: list[EntitlementRow]) -> RollEntry:
    return RollEntry(
        id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        programme="dibao",
        region_code="610626101201",
        persons=2,
        start_month=JUL,
        monthly_amount_fen=33_000,
        in_force=in_force,
    )


def test_a_run_supersedes_stored_rows_and_its_own():
    stored = _entry([EntitlementRow(JUL, None, 33_000, 41)])
    run = RollRun({stored.case_id: stored}, set())
    first, second, end = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    entry = run.on_roll(stored.case_id, first)
    assert entry is stored
    run.change_amount(entry, first, SEP, 35_000)
    run.change_amount(entry, second, AUG, 37_000)  # backdated, in the same run: replaces the first's new row
    run.end(entry, end, DEC, "moved")
    assert run.superseded == {41: first}
    assert [
        (a.row.from_month, a.row.to_month, a.row.monthly_amount_fen, a.event_id, a.superseded_by) for a in run.added
    ] == [
        (JUL, AUG, 33_000, first, second),
        (SEP, None, 35_000, first, second),
        (JUL, JUL, 33_000, second, None),
        (AUG, None, 37_000, second, end),
        (AUG, DEC, 37_000, end, None),
    ]
    assert [amount_for(entry.in_force, m) for m in (JUL, AUG, DEC, DEC.next())] == [33_000, 37_000, 37_000, 0]
    assert (entry.status, entry.end_month, entry.end_reason, entry.monthly_amount_fen) == (
        "stopped",
        DEC,
        "moved",
        37_000,
    )
    assert run.changed == {stored.case_id}


def test_a_replayed_or_unknown_decision_changes_nothing():
    stored = _entry([EntitlementRow(JUL, None, 33_000, 7)])
    applied = uuid.uuid4()
    run = RollRun({stored.case_id: stored}, {applied})
    assert run.on_roll(stored.case_id, applied) is None
    assert run.on_roll(uuid.uuid4(), uuid.uuid4()) is None
    assert (run.superseded, run.added, run.changed) == ({}, [], set())


def test_a_gradual_exit_lifted_by_a_review_runs_on_open_ended():
    entry = _entry([])
    run = RollRun({}, set())
    run.enroll(entry, uuid.uuid4(), JUL)
    run.end(entry, uuid.uuid4(), SEP, None)
    assert (entry.status, entry.end_month) == ("exiting", SEP)
    run.change_amount(entry, uuid.uuid4(), DEC, 30_000)
    assert (entry.status, entry.end_month) == ("active", None)
    assert amount_for(entry.in_force, DEC.plus(12)) == 30_000 and amount_for(entry.in_force, Period(2026, 10)) == 0
    assert run.changed == set()  # a new beneficiary is inserted with its final state, not updated


def test_the_months_the_old_system_paid_are_kept_per_person():
    from services.payments.roll.domain import PaidElsewhere, paid_elsewhere

    household, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert paid_elsewhere(False, [a, b], household, 52_000, Period(2024, 3), Period(2026, 11)) == [
        PaidElsewhere(household, Period(2024, 3), Period(2026, 11), 52_000)
    ]
    assert paid_elsewhere(True, [a], household, 86_000, Period(2024, 3), Period(2026, 11)) == [
        PaidElsewhere(a, Period(2024, 3), Period(2026, 11), 86_000)
    ]
    # Several members of one person-level case share it, the odd fen to the first.
    assert [p.amount_fen for p in paid_elsewhere(True, [a, b], household, 1_001, JUL, AUG)] == [501, 500]
    # Nothing paid from the first month owed on (approved the month the old system last paid), or no month given.
    assert paid_elsewhere(False, [a], household, 52_000, DEC, Period(2026, 11)) == []
    assert paid_elsewhere(False, [a], household, 52_000, DEC, None) == []


def test_a_one_off_award_decided_before_eight_on_the_first_in_china_is_that_months():
    """23:30 UTC on 30 November is 07:30 on 1 December in China: the award is December's, paid from December's
    batch on (not November's, a month early)."""
    approved = CaseApproved(
        case_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        programme="temporary",
        region_code="610626101201",
        member_ids=[uuid.uuid4()],
        monthly_amount_fen=None,
        one_off_amount_fen=300_000,
        effective_month=Period(2027, 1),
        decided_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
    )
    assert _award_row(delivery(approved).event, approved)["approved_month"] == date(2026, 12, 1)
