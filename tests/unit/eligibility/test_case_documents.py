"""What a case's documents say, read from its recorded steps: the amount changes (review, 提标), the stop, and
whether a document exists for the case (409 otherwise)."""

from __future__ import annotations

from datetime import date

import pytest

from services.eligibility.cases.schedule import Segment
from services.eligibility.documents.domain import (
    Adjustment,
    AmountChange,
    DocumentKind,
    RecordedStep,
    Run,
    Stop,
    adjustments,
    amount_changes,
    check_available,
    stop,
)
from shared.core.period import Period
from shared.errors import Conflict
from tests.unit.eligibility.test_case_model import APPROVER, REVIEWER, approved, by, on_notice, opened


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
        AmountChange(date(2025, 3, 10), "定期核查", "review opinion", (Run(Period(2025, 4), None, 135_000, 120_000),))
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
            (Run(Period(2024, 7), Period(2024, 12), 135_000, 141_000), Run(Period(2025, 1), None, 141_000, 150_000)),
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
    assert _recomputed(data) == (
        Run(Period(2026, 3), Period(2026, 4), 60_000, 65_000),
        Run(Period(2026, 5), None, 68_000, 73_000),
    )
    old = {"changes": [{"month": "2024-07", "monthly_amount_fen": 140_000}], "previous_monthly_amount_fen": 135_000}
    assert _recomputed(old) == (Run(Period(2024, 7), None, 135_000, 140_000),)


def test_a_review_or_a_death_and_a_rise_of_the_same_month_are_announced_together_from_the_month_before():
    """Go-live WQ003: paid 1300 for December (an imported amount no parameter priced); a review lowers January to
    1000, then a rise decided the same day raises it to 1100. WQ001: 1500 a month, a death from January (1000 for
    the two left), then a rise from October: October–December 1650, January on 1100. The notice says what the
    household got for the month before as the schedule owes it now, and every decision that moved the month."""
    review = step(
        "review",
        "approved",
        date(2026, 12, 7),
        eligible=True,
        from_month="2027-01",
        before_fen=130_000,
        after_fen=100_000,
    )
    rise = step(
        "standard_recompute",
        "approved",
        date(2026, 12, 7),
        changes=[
            {"member_id": None, "from_month": "2027-01", "to_month": None, "before_fen": 100_000, "after_fen": 110_000}
        ],
    )
    changes = amount_changes([DECIDED, review, rise])
    paid = owing((Period(2026, 12), Period(2026, 12), 130_000), (Period(2027, 1), None, 110_000))
    assert adjustments(changes, paid) == [Adjustment(Period(2027, 1), 130_000, 110_000, tuple(changes))]

    death = step(
        "death_reported", "approved", date(2026, 12, 7), from_month="2027-01", before_fen=150_000, after_fen=100_000
    )
    back_dated = step(
        "standard_recompute",
        "approved",
        date(2026, 12, 7),
        changes=[
            {
                "member_id": None,
                "from_month": "2026-10",
                "to_month": "2026-12",
                "before_fen": 150_000,
                "after_fen": 165_000,
            },
            {"member_id": None, "from_month": "2027-01", "to_month": None, "before_fen": 100_000, "after_fen": 110_000},
        ],
    )
    died, raised = changes = amount_changes([DECIDED, death, back_dated])
    assert (died.why, died.assessed, raised.why) == ("核实家庭成员变化", False, "提高保障标准")
    owed = owing(
        (Period(2026, 9), Period(2026, 9), 150_000),
        (Period(2026, 10), Period(2026, 12), 165_000),
        (Period(2027, 1), None, 110_000),
    )
    assert adjustments(changes, owed) == [
        Adjustment(Period(2026, 10), 150_000, 165_000, (raised,)),  # the death does not touch October
        Adjustment(Period(2027, 1), 165_000, 110_000, (died, raised)),
    ]
    # A case without a schedule (decided before they were kept): the latest change's own figures.
    assert adjustments(changes, []) == [
        Adjustment(Period(2026, 10), 150_000, 165_000, (raised,)),
        Adjustment(Period(2027, 1), 100_000, 110_000, (raised,)),
    ]


def owing(*runs: tuple[Period, Period | None, int]) -> list[Segment]:
    """A household's schedule owing each run's fen a month."""
    facts = approved().snapshot
    return [Segment(first, last, fen, 2, None, "approval", facts, ()) for first, last, fen in runs]


def _conclusion_of(case, steps: list[RecordedStep]) -> list[str]:
    """The 审核确认表 rendered and opened with python-docx: its 认定结论 and what it says of the rules' finding."""
    import io

    from docx import Document

    from services.eligibility.documents.render import approval_form

    doc = Document(io.BytesIO(approval_form(case, steps, "铁边城镇201村").to_bytes()))
    return [p.text for p in doc.paragraphs if p.text.startswith(("认定结论", "规则测算", "初步认定"))]


def _recorded(case) -> list[RecordedStep]:
    return [RecordedStep(s.step, s.to_status.value, s.actor.sub, s.on, s.opinion, s.data) for s in case.steps]


def test_the_forms_conclusion_follows_the_decision_and_a_case_in_the_procedure_says_its_finding_is_preliminary():
    """符合保障条件 only once approved; 不予批准 with the reasons once rejected, whatever the rules priced; a case not
    yet decided (the form is not served then, but rendered it must not pass for a decision) says 初步认定."""
    from services.eligibility.policy.rules import yuan

    undecided = opened()
    fen = undecided.assessment.monthly_amount_fen
    assert undecided.assessment.eligible and fen
    assert _conclusion_of(undecided, []) == [f"初步认定（尚未审核确认）：符合保障条件，测算金额每月{yuan(fen)}。"]

    rejected = opened()
    on_notice(rejected).close_notice(by(REVIEWER, date(2023, 9, 18)))
    rejected.decide(by(APPROVER, date(2023, 9, 25)), decision="reject", reasons=["隐瞒财产", "虚报收入"], opinion="否")
    assert _conclusion_of(rejected, _recorded(rejected)) == [
        "认定结论：不符合保障条件，不予批准。理由：隐瞒财产；虚报收入。",
        f"规则测算：每月{yuan(fen)}（未予批准）。",
    ]

    case = on_notice(opened())
    case.close_notice(by(REVIEWER, date(2023, 9, 18)))
    case.decide(by(APPROVER, date(2023, 9, 25)), decision="approve", opinion="同意")
    assert _conclusion_of(case, _recorded(case)) == [f"认定结论：符合保障条件。保障金额：每月{yuan(fen)}。"]
