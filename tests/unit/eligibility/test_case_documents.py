"""What a case's documents say, read from its recorded steps: the amount changes (review, 提标), the stop, and
whether a document exists for the case (409 otherwise)."""

from __future__ import annotations

from datetime import date

import pytest

from services.eligibility.documents.domain import (
    AmountChange,
    DocumentKind,
    RecordedStep,
    Stop,
    amount_changes,
    check_available,
    stop,
)
from shared.core.period import Period
from shared.errors import Conflict
from tests.unit.eligibility.test_case_model import approved, opened


def step(name: str, to: str, on: date, **data) -> RecordedStep:
    return RecordedStep(name, to, "official-1", on, f"{name} opinion", data)


DECIDED = step("decision", "approved", date(2024, 1, 10), monthly_amount_fen=135_000, one_off_amount_fen=None)


def test_a_review_with_another_amount_is_a_change_from_the_next_month():
    steps = [
        DECIDED,
        step("review", "approved", date(2024, 6, 3), eligible=True, monthly_amount_fen=135_000),  # unchanged
        step("review", "approved", date(2025, 3, 10), eligible=True, monthly_amount_fen=120_000),
    ]
    assert amount_changes(steps) == [
        AmountChange(date(2025, 3, 10), "定期核查", "review opinion", 135_000, ((Period(2025, 4), 120_000),))
    ]


def test_a_standard_rise_changes_from_the_months_it_names_and_a_later_review_counts_from_its_amount():
    rise = step(
        "standard_recompute",
        "approved",
        date(2024, 8, 20),
        previous_monthly_amount_fen=135_000,
        changes=[
            {"month": "2024-07", "monthly_amount_fen": 141_000},
            {"month": "2025-01", "monthly_amount_fen": 150_000},
        ],
    )
    review = step("review", "approved", date(2025, 3, 10), eligible=True, monthly_amount_fen=150_000)
    assert amount_changes([DECIDED, rise, review]) == [
        AmountChange(
            date(2024, 8, 20),
            "提高保障标准",
            "standard_recompute opinion",
            135_000,
            ((Period(2024, 7), 141_000), (Period(2025, 1), 150_000)),
        )
    ]  # the review found the amount the rise had set: no change


def test_an_ineligible_review_is_no_amount_change_but_a_stop_paid_to_its_month():
    review = step("review", "terminated", date(2025, 3, 10), eligible=False, monthly_amount_fen=None)
    assert amount_changes([DECIDED, review]) == []
    assert stop([DECIDED, review]) == Stop(date(2025, 3, 10), "ineligible", Period(2025, 3), "review opinion")


def test_a_termination_keeps_its_reason_and_last_month():
    terminated = step("termination", "terminated", date(2025, 5, 20), reason="death", last_month="2025-04")
    assert stop([DECIDED, terminated]) == Stop(date(2025, 5, 20), "death", Period(2025, 4), "termination opinion")
    assert stop([DECIDED]) is None


def test_a_document_exists_only_once_the_case_has_that_decision():
    undecided, on_roll = opened(), approved()
    for kind in DocumentKind:
        with pytest.raises(Conflict, match=kind.value):
            check_available(kind, undecided, [])
    check_available(DocumentKind.APPROVAL_FORM, on_roll, [DECIDED])
    for kind in (DocumentKind.REJECTION_NOTICE, DocumentKind.TERMINATION_NOTICE, DocumentKind.ADJUSTMENT_NOTICE):
        with pytest.raises(Conflict, match=kind.value):
            check_available(kind, on_roll, [DECIDED])


def test_a_recompute_recorded_as_runs_of_months_is_read_as_its_amount_changes():
    """提标 steps record the schedule's runs (from, to, before, after); a 500 here once came from reading the old
    per-month shape out of them."""
    from services.eligibility.documents.domain import _recomputed
    from shared.core.period import Period

    data = {
        "changes": [
            {"member_id": None, "from_month": "2026-05", "to_month": None, "before_fen": 68_000, "after_fen": 73_000},
            {
                "member_id": None,
                "from_month": "2026-03",
                "to_month": "2026-04",
                "before_fen": 60_000,
                "after_fen": 65_000,
            },
        ]
    }
    assert _recomputed(data) == (((Period(2026, 3), 65_000), (Period(2026, 5), 73_000)), 60_000)
    old = {"changes": [{"month": "2024-07", "monthly_amount_fen": 140_000}], "previous_monthly_amount_fen": 135_000}
    assert _recomputed(old) == (((Period(2024, 7), 140_000),), 135_000)
