"""What each document says, read from the case and its recorded steps (审批意见) alone: which decision it records,
and the amount changes (调整保障金) and the stop (停保) the steps recorded. Plain classes, no web, SQL or docx."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.eligibility.cases.domain import Case
from services.eligibility.cases.workflow import Status
from shared.core.period import Period
from shared.errors import Conflict


class DocumentKind(StrEnum):
    """The documents of a case: the form officials sign and the notices the household receives."""

    APPROVAL_FORM = "approval-form"  # 审核确认表
    REJECTION_NOTICE = "rejection-notice"  # 不予批准通知书
    TERMINATION_NOTICE = "termination-notice"  # 停保（终止）通知书
    ADJUSTMENT_NOTICE = "adjustment-notice"  # 调整保障金通知书


@dataclass(frozen=True)
class RecordedStep:
    """One step as recorded (审批意见): what, into which state, by whom, on which date, with which opinion."""

    step: str
    to_status: str
    actor: str
    on: date
    opinion: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class AmountChange:
    """调整保障金: one step that changed the monthly amount, from `previous_fen` to each segment's amount from its
    month (a standard rise decided late may set more than one)."""

    on: date
    why: str
    opinion: str | None
    previous_fen: int | None
    segments: tuple[tuple[Period, int], ...]
    assessed: bool = True  # the case's assessment is the change's own (a member's going re-prices without one)


@dataclass(frozen=True)
class Stop:
    """停保: the step that took the case off the roll, why, and the last month paid."""

    on: date
    reason: str
    last_month: Period
    opinion: str | None


# Steps that set the amount of a case on the roll (the county decision, 急难型 approval, an imported roll's entry).
_SETS_AMOUNT = "monthly_amount_fen"
_REVIEW, _RECOMPUTE = "review", "standard_recompute"
# A member's death or departure that re-priced the case for the others (its months and fen in the step's data).
_MEMBERS_CHANGED = ("death_reported", "member_left", "terminate")


def _recomputed(data: dict) -> tuple[tuple[tuple[Period, int], ...], int | None]:
    """A recompute step's amounts from the months it names, and the amount before: the schedule's runs of months
    (`from_month`, `before_fen`, `after_fen`; a person-level run counts for its case like the others), or, for a
    step recorded before schedules were kept, its months (`month`, `monthly_amount_fen`)."""
    changes = data.get("changes", [])
    if changes and "from_month" in changes[0]:
        runs = sorted(changes, key=lambda c: c["from_month"])
        return tuple((Period.parse(c["from_month"]), int(c["after_fen"])) for c in runs), int(runs[0]["before_fen"])
    segments = tuple((Period.parse(c["month"]), int(c["monthly_amount_fen"])) for c in changes)
    return segments, data.get("previous_monthly_amount_fen")


def amount_changes(steps: list[RecordedStep]) -> list[AmountChange]:
    """Every change of the monthly amount after the decision, in order: a review (定期核查) that found another
    amount (from the next month), a standard rise's recompute (提标, from the months it names), and a member's
    death or departure that re-priced the case for the others (from the month after)."""
    changes: list[AmountChange] = []
    current: int | None = None
    for s in steps:
        if s.step == _RECOMPUTE:
            segments, previous = _recomputed(s.data)
            changes.append(AmountChange(s.on, "提高保障标准", s.opinion, previous, segments))
            current = segments[-1][1] if segments else current
        elif s.step in _MEMBERS_CHANGED and "after_fen" in s.data:
            month = Period.parse(s.data["from_month"])
            changes.append(
                AmountChange(
                    s.on, "核实家庭成员变化", s.opinion, s.data["before_fen"], ((month, s.data["after_fen"]),), False
                )
            )
            current = s.data["after_fen"]
        elif s.step == _REVIEW:
            new = s.data.get(_SETS_AMOUNT)
            if s.data.get("eligible") and new is not None and current is not None and new != current:
                changes.append(AmountChange(s.on, "定期核查", s.opinion, current, ((Period.of(s.on).next(), new),)))
                current = new
        elif s.to_status == Status.APPROVED.value and s.data.get(_SETS_AMOUNT) is not None:
            current = s.data[_SETS_AMOUNT]
    return changes


def stop(steps: list[RecordedStep]) -> Stop | None:
    """The step that terminated the case: a termination (停保), a death matched (死亡比对) or a review that found the
    household no longer eligible (paid to the month of the review)."""
    for s in reversed(steps):
        if s.to_status == Status.TERMINATED.value:
            last = s.data.get("last_month")
            return Stop(
                s.on, s.data.get("reason", "ineligible"), Period.parse(last) if last else Period.of(s.on), s.opinion
            )
    return None


def decision_step(steps: list[RecordedStep]) -> RecordedStep | None:
    """The county's decision (审核确认) or the 急难型 approval, as recorded."""
    return next((s for s in reversed(steps) if s.step in ("decision", "emergency-approval")), None)


def check_available(kind: DocumentKind, case: Case, steps: list[RecordedStep]) -> None:
    """A document exists only once the case has its decision (409 otherwise, saying what the case has)."""
    missing = {
        DocumentKind.APPROVAL_FORM: case.decided_on is None,
        DocumentKind.REJECTION_NOTICE: case.status is not Status.REJECTED,
        DocumentKind.TERMINATION_NOTICE: stop(steps) is None,
        DocumentKind.ADJUSTMENT_NOTICE: not amount_changes(steps),
    }[kind]
    if missing:
        what = {
            DocumentKind.APPROVAL_FORM: "no county decision yet",
            DocumentKind.REJECTION_NOTICE: "was not rejected",
            DocumentKind.TERMINATION_NOTICE: "was not stopped",
            DocumentKind.ADJUSTMENT_NOTICE: "had no change of its monthly amount",
        }[kind]
        raise Conflict(f"case {case.id} {what} (status {case.status.value}): there is no {kind.value}")
