"""What each document says, read from the case and its recorded steps (审批意见) alone: which decision it records,
and the amount changes (调整保障金) and the stop (停保) the steps recorded. Plain classes, no web, SQL or docx."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.eligibility.cases import schedule as sched
from services.eligibility.cases.domain import Case
from services.eligibility.cases.schedule import Segment
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
class Run:
    """Months `first`…`last` (None = on) a decision made owe `after_fen` instead of `before_fen`: a person's, for a
    提标 of a person-level programme, else the case's."""

    first: Period
    last: Period | None
    before_fen: int
    after_fen: int

    def covers(self, month: Period) -> bool:
        return self.first <= month and (self.last is None or month <= self.last)


@dataclass(frozen=True)
class AmountChange:
    """调整保障金: one step that changed the monthly amount, by runs of months (a standard rise decided late may
    change more than one)."""

    on: date
    why: str
    opinion: str | None
    runs: tuple[Run, ...]
    assessed: bool = True  # the case's assessment is the change's own (a member's going re-prices without one)

    @property
    def months(self) -> list[Period]:
        """The months from which it changed what was owed."""
        return sorted({r.first for r in self.runs})

    def moved(self, month: Period) -> int:
        """Fen a month more (or less) that it made `month` owe. A review's or a member's run is recorded for its
        first month and read as holding on from there."""
        return sum(r.after_fen - r.before_fen for r in self.runs if r.covers(month))


@dataclass(frozen=True)
class Adjustment:
    """One change a 调整保障金通知书 announces: from `month` the household gets `after_fen` a month instead of
    `before_fen`, moved by `changes` (in the order decided)."""

    month: Period
    before_fen: int
    after_fen: int
    changes: tuple[AmountChange, ...]


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


def _recomputed(data: dict) -> tuple[Run, ...]:
    """A recompute step's runs: the schedule's (`from_month`, `to_month`, `before_fen`, `after_fen`; per person for
    a person-level programme), or, for a step recorded before schedules were kept, its months (`month`,
    `monthly_amount_fen`), each until the next, from the amount before (`previous_monthly_amount_fen`)."""
    changes = data.get("changes", [])
    if changes and "from_month" in changes[0]:
        return tuple(
            sorted(
                (
                    Run(
                        Period.parse(c["from_month"]),
                        Period.parse(c["to_month"]) if c.get("to_month") else None,
                        int(c["before_fen"]),
                        int(c["after_fen"]),
                    )
                    for c in changes
                ),
                key=lambda r: r.first,
            )
        )
    months = [(Period.parse(c["month"]), int(c["monthly_amount_fen"])) for c in changes]
    previous = data.get("previous_monthly_amount_fen")
    runs = []
    for i, (month, fen) in enumerate(months):
        last = months[i + 1][0].plus(-1) if i + 1 < len(months) else None
        runs.append(Run(month, last, fen if previous is None else int(previous), fen))
        previous = fen
    return tuple(runs)


def amount_changes(steps: list[RecordedStep]) -> list[AmountChange]:
    """Every change of the monthly amount after the decision, in order: a review (定期核查) that found another
    amount (from the next month), a standard rise's recompute (提标, from the months it names), and a member's
    death or departure that re-priced the case for the others (from the month after). A step records what the
    schedule owed for its first month before and after it; a review recorded before it did is read against the
    amount before it."""
    changes: list[AmountChange] = []
    current: int | None = None
    for s in steps:
        if s.step == _RECOMPUTE:
            runs = _recomputed(s.data)
            changes.append(AmountChange(s.on, "提高保障标准", s.opinion, runs))
            current = runs[-1].after_fen if runs else current
        elif (s.step in _MEMBERS_CHANGED or s.step == _REVIEW) and "after_fen" in s.data:
            run = Run(Period.parse(s.data["from_month"]), None, int(s.data["before_fen"]), int(s.data["after_fen"]))
            review = s.step == _REVIEW
            why = "定期核查" if review else "核实家庭成员变化"  # a member's going re-prices without an assessment
            changes.append(AmountChange(s.on, why, s.opinion, (run,), assessed=review))
            current = run.after_fen
        elif s.step == _REVIEW:
            new = s.data.get(_SETS_AMOUNT)
            if s.data.get("eligible") and new is not None and current is not None and new != current:
                run = Run(Period.of(s.on).next(), None, current, new)
                changes.append(AmountChange(s.on, "定期核查", s.opinion, (run,)))
                current = new
        elif s.to_status == Status.APPROVED.value and s.data.get(_SETS_AMOUNT) is not None:
            current = s.data[_SETS_AMOUNT]
    return changes


def adjustments(changes: list[AmountChange], schedule: Sequence[Segment]) -> list[Adjustment]:
    """What the notice of the latest change announces, from each month it takes effect: what the household got
    for the month before, as the schedule owes it now (a back-dated rise included), what it gets now, and every
    decision that made the month differ from the one before — a review or a death and a rise of the same month
    both, not the latest alone from the amount it found. Where the month before is not owed, or owes the same now,
    the latest change alone with its own figures; so too a case without a schedule (decided before they were
    kept). A month no decision made differ from the month before is not announced: the schedule steps there by
    itself (a member's birthday adds or ends a 分类施保 addition)."""
    latest = changes[-1]
    out: list[Adjustment] = []
    for month in latest.months:
        moved = tuple(c for c in changes if c.moved(month) != c.moved(month.plus(-1)))
        if not moved and month != latest.months[0]:
            continue  # no decision made it differ from the month before: the schedule's own step (a birthday)
        after = _owed(schedule, month)
        if after is None:
            after = sum(r.after_fen for r in latest.runs if r.covers(month))
        before = _owed(schedule, month.plus(-1))
        movers = tuple(c for c in changes if c is latest or c in moved)
        if before is None or before == after:
            before, movers = after - latest.moved(month), (latest,)
        out.append(Adjustment(month, before, after, movers))
    return out


def _owed(schedule: Sequence[Segment], month: Period) -> int | None:
    return sched.total(schedule, month) if sched.owed(schedule, month) else None


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
