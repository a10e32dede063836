"""The entitlement history (应发记录) of one beneficiary, as plain data: which amount is owed for which months.

Decisions arrive in order per household (one Kafka partition per household). The rule is *the latest decision wins
from its effective month on*: an amount change from month M — even a backdated one (提标 decided late) — replaces
whatever was in force from M, and a 渐退 / 停保 ending in month L removes everything after L. Rows are never edited:
a decision supersedes rows and adds new ones, so what was decided when stays readable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from shared.period import Period


@dataclass(frozen=True)
class EntitlementRow:
    """`monthly_amount_fen` owed each month from `from_month` to `to_month` (inclusive; None = open-ended)."""

    from_month: Period
    to_month: Period | None
    monthly_amount_fen: int
    id: int | None = None

    def covers(self, month: Period) -> bool:
        return self.from_month <= month and (self.to_month is None or month <= self.to_month)


@dataclass
class HistoryChange:
    """What a decision does to the rows in force: ids to supersede, rows to add."""

    superseded: list[int] = field(default_factory=list)
    added: list[EntitlementRow] = field(default_factory=list)


def _cut(rows: list[EntitlementRow], last_kept: Period) -> HistoryChange:
    """Keep the months up to `last_kept`; supersede everything after it."""
    change = HistoryChange()
    for row in rows:
        if row.from_month > last_kept:
            change.superseded.append(row.id)  # type: ignore[arg-type]
        elif row.to_month is None or row.to_month > last_kept:
            change.superseded.append(row.id)  # type: ignore[arg-type]
            change.added.append(EntitlementRow(row.from_month, last_kept, row.monthly_amount_fen))
    return change


def set_amount(
    rows: list[EntitlementRow], from_month: Period, amount_fen: int, last_month: Period | None
) -> HistoryChange:
    """调整 (also backdated): `amount_fen` a month from `from_month` until the beneficiary's last month, if known."""
    change = _cut(rows, from_month.plus(-1))
    if last_month is None or from_month <= last_month:
        change.added.append(EntitlementRow(from_month, last_month, amount_fen))
    return change


def end_after(rows: list[EntitlementRow], last_month: Period) -> HistoryChange:
    """渐退 / 停保: nothing is owed after `last_month` (a death in a month is paid up to and including it)."""
    return _cut(rows, last_month)


def amount_for(rows: list[EntitlementRow], month: Period) -> int:
    """The amount in force for `month` (0 when none)."""
    return next((r.monthly_amount_fen for r in rows if r.covers(month)), 0)


@dataclass
class RollEntry:
    """One beneficiary (保障对象) as a run of decisions sees it: its state and the entitlement rows in force."""

    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    persons: int
    start_month: Period
    monthly_amount_fen: int
    status: str = "active"
    end_month: Period | None = None
    end_reason: str | None = None
    tekun_arrangement: str | None = None  # 集中 (institution) / 分散 (home) 供养, for the statistics
    in_force: list[EntitlementRow] = field(default_factory=list)
    new: bool = False


@dataclass
class NewEntitlement:
    """A row a run adds; `superseded_by` is set when a later decision of the same run already replaced it."""

    beneficiary_id: uuid.UUID
    row: EntitlementRow
    event_id: uuid.UUID
    event_type: str
    superseded_by: uuid.UUID | None = None


class RollRun:
    """The changes a run of decisions makes to the roll, in memory and in event order, for set-based writes.

    Rows the run adds get provisional negative ids, so a later decision of the same run supersedes them like any
    row in force (they are then written already superseded: the history keeps what was decided when)."""

    def __init__(self, entries: dict[uuid.UUID, RollEntry], applied: set[uuid.UUID]) -> None:
        self.entries = entries  # by case id
        self.applied = applied  # decision events that already shaped a history
        self.superseded: dict[int, uuid.UUID] = {}  # existing row id -> the event that replaced it
        self.added: list[NewEntitlement] = []
        self._provisional: dict[int, NewEntitlement] = {}
        self.changed: set[uuid.UUID] = set()  # case ids of existing beneficiaries whose state changed

    def enroll(self, entry: RollEntry, event_id: uuid.UUID, effective_month: Period) -> None:
        entry.new = True
        self.entries[entry.case_id] = entry
        self.apply(entry, set_amount([], effective_month, entry.monthly_amount_fen, None), event_id, "approved")

    def on_roll(self, case_id: uuid.UUID, event_id: uuid.UUID) -> RollEntry | None:
        """The beneficiary a later decision changes; None when the case never was on the roll (one-off help) or the
        event already shaped its history (a replay beyond the inbox)."""
        entry = self.entries.get(case_id)
        if entry is None or event_id in self.applied:
            return None
        if not entry.new:
            self.changed.add(case_id)
        return entry

    def change_amount(self, entry: RollEntry, event_id: uuid.UUID, effective_month: Period, amount_fen: int) -> None:
        if entry.status == "exiting":
            # A review that finds the household eligible again ends the 渐退: the amount runs on, open-ended.
            entry.status, entry.end_month = "active", None
        self.apply(
            entry, set_amount(entry.in_force, effective_month, amount_fen, entry.end_month), event_id, "amount_changed"
        )
        entry.monthly_amount_fen = amount_fen

    def end(self, entry: RollEntry, event_id: uuid.UUID, last_month: Period, reason: str | None) -> None:
        """渐退 (reason None) or 停保 (with its reason)."""
        self.apply(
            entry, end_after(entry.in_force, last_month), event_id, "gradual_exit" if reason is None else "terminated"
        )
        entry.end_month = last_month
        entry.status, entry.end_reason = ("exiting", entry.end_reason) if reason is None else ("stopped", reason)

    def apply(self, entry: RollEntry, change: HistoryChange, event_id: uuid.UUID, event_type: str) -> None:
        gone = set(change.superseded)
        for row_id in gone:
            if row_id < 0:
                self._provisional[row_id].superseded_by = event_id
            else:
                self.superseded[row_id] = event_id
        kept = [r for r in entry.in_force if r.id not in gone]
        for row in change.added:
            provisional = EntitlementRow(
                row.from_month, row.to_month, row.monthly_amount_fen, -(len(self._provisional) + 1)
            )
            added = NewEntitlement(entry.id, provisional, event_id, event_type)
            self._provisional[provisional.id] = added  # type: ignore[index]
            self.added.append(added)
            kept.append(provisional)
        entry.in_force = sorted(kept, key=lambda r: r.from_month)
        self.applied.add(event_id)
