"""The entitlement history (应发记录) of one beneficiary, as plain data: which amount is owed for which months.

Decisions arrive in order per household (one Kafka partition per household). The rule is *the latest decision wins
from its effective month on*: an amount change from month M — even a backdated one (提标 decided late) — replaces
whatever was in force from M, and a 渐退 / 停保 ending in month L removes everything after L. Rows are never edited:
a decision supersedes rows and adds new ones, so what was decided when stays readable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from shared.core.period import Period


@dataclass(frozen=True)
class EntitlementRow:
    """`monthly_amount_fen` owed each month from `from_month` to `to_month` (inclusive; None = open-ended)."""

    from_month: Period
    to_month: Period | None
    monthly_amount_fen: int
    id: int | None = None
    # The kind of decision that set the amount (approved, amount_changed, …): a row a later decision cuts short
    # keeps it, so the month it started is still the approval's (or the change's), not a change of the later one.
    event_type: str | None = None

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
            change.added.append(
                EntitlementRow(row.from_month, last_kept, row.monthly_amount_fen, event_type=row.event_type)
            )
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
            kind = row.event_type or event_type
            provisional = EntitlementRow(
                row.from_month, row.to_month, row.monthly_amount_fen, -(len(self._provisional) + 1), kind
            )
            added = NewEntitlement(entry.id, provisional, event_id, kind)
            self._provisional[provisional.id] = added  # type: ignore[index]
            self.added.append(added)
            kept.append(provisional)
        entry.in_force = sorted(kept, key=lambda r: r.from_month)
        self.applied.add(event_id)


# --- what each person is owed (应发), from schedules ------------------------------------------------------------


@dataclass(frozen=True)
class OwedSegment:
    """`amount_fen` a month from `from_month` to `to_month` (inclusive; None = until a later decision) to `member_id`
    (the household's nil uuid for household programmes), for `persons` counted members."""

    member_id: uuid.UUID
    from_month: Period
    to_month: Period | None
    amount_fen: int
    persons: int


@dataclass(frozen=True)
class OwedRow:
    """An owed row in force of one (household, programme): whose, which months, how much, set by which case, and why
    (the schedule's reason: a 提标's months are `standard_rise`, which labels their back-pay 提标补发)."""

    member_id: uuid.UUID
    from_month: Period
    to_month: Period | None
    amount_fen: int
    persons: int
    case_id: uuid.UUID
    region_code: str
    reason: str
    id: int


@dataclass(frozen=True)
class ScheduleChange:
    """待遇变更: from `changed_from` on, what the case owes is exactly `segments` (a month not covered: nothing)."""

    event_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    changed_from: Period
    segments: list[OwedSegment]
    reason: str

    def persons_at(self, month: Period, person_level: bool) -> int | None:
        """How many persons the schedule pays for in `month` (a household programme's segment counts its members,
        a person-level programme's are one each); None when it owes nothing then."""
        covering = [s for s in self.segments if s.from_month <= month and (s.to_month is None or s.to_month >= month)]
        if not covering:
            return None
        return len({s.member_id for s in covering}) if person_level else max(s.persons for s in covering)

    def latest_persons(self, this_month: Period, person_level: bool) -> int | None:
        """The persons the roll shows with its amount: the roll's amount is the latest the schedule moves to, so its
        persons are those of the latest month the schedule moves in, from this month or the change's on (a death
        next month and a 提标 from this month: next month's 2 persons with next month's amount, not this month's
        3); None when nothing is owed from then."""
        start = max(this_month, self.changed_from)
        moves = {s.from_month for s in self.segments} | {s.to_month.next() for s in self.segments if s.to_month}
        for month in sorted({start, *(m for m in moves if m > start)}, reverse=True):
            if (n := self.persons_at(month, person_level)) is not None:
                return n
        return None


@dataclass(frozen=True)
class PersonChange:
    """What a run changed for one person: from which month on (the earliest), and why (for the batch's amendment)."""

    household_id: uuid.UUID
    programme: str
    member_id: uuid.UUID
    from_month: Period
    reason: str


@dataclass
class NewOwed:
    household_id: uuid.UUID
    programme: str
    row: OwedRow
    event_id: uuid.UUID
    superseded_by: uuid.UUID | None = None


class OwedRun:
    """The owed rows a run of schedule changes leaves, in memory and in event order, for set-based writes.

    A change replaces, from its `changed_from`, the rows of the persons it names and of every person its case set
    before (a termination names nobody); earlier months stay as they were. Keyed by (household, programme, member),
    whatever the case: a second case of the same household and programme replaces the first one's months rather than
    adding to them."""

    def __init__(self, in_force: dict[tuple[uuid.UUID, str], list[OwedRow]], applied: set[uuid.UUID]) -> None:
        self.in_force = in_force
        self.applied = applied
        self.superseded: dict[int, uuid.UUID] = {}
        self.added: list[NewOwed] = []
        self._provisional: dict[int, NewOwed] = {}
        self.changed: dict[tuple[uuid.UUID, str, uuid.UUID], PersonChange] = {}

    def apply(self, change: ScheduleChange) -> bool:
        """False when the event already shaped the rows (a replay beyond the inbox)."""
        if change.event_id in self.applied:
            return False
        key = (change.household_id, change.programme)
        rows = self.in_force.get(key, [])
        scope = {s.member_id for s in change.segments} | {r.member_id for r in rows if r.case_id == change.case_id}
        kept: list[OwedRow] = []
        for row in rows:
            if row.member_id not in scope or (row.to_month is not None and row.to_month < change.changed_from):
                kept.append(row)
                continue
            self._supersede(row.id, change.event_id)
            if row.from_month < change.changed_from:  # the months before the change stay owed as they were, and why
                kept.append(self._add(change, replace(row, to_month=change.changed_from.plus(-1), id=0)))
        for s in change.segments:
            kept.append(
                self._add(
                    change,
                    OwedRow(
                        s.member_id,
                        s.from_month,
                        s.to_month,
                        s.amount_fen,
                        s.persons,
                        change.case_id,
                        change.region_code,
                        change.reason,
                        0,
                    ),
                )
            )
        self.in_force[key] = sorted(kept, key=lambda r: (r.member_id, r.from_month))
        for member in scope:
            person = (change.household_id, change.programme, member)
            before = self.changed.get(person)
            if before is None or change.changed_from < before.from_month:
                self.changed[person] = PersonChange(*person, change.changed_from, change.reason)
        self.applied.add(change.event_id)
        return True

    def _supersede(self, row_id: int, event_id: uuid.UUID) -> None:
        if row_id < 0:
            self._provisional[row_id].superseded_by = event_id
        else:
            self.superseded[row_id] = event_id

    def _add(self, change: ScheduleChange, row: OwedRow) -> OwedRow:
        provisional = OwedRow(**{**row.__dict__, "id": -(len(self._provisional) + 1)})
        added = NewOwed(change.household_id, change.programme, provisional, change.event_id)
        self._provisional[provisional.id] = added
        self.added.append(added)
        return provisional


def owed_from(entry: RollEntry, member_id: uuid.UUID, changed_from: Period) -> list[OwedSegment]:
    """Today's derivation for a case eligibility sends no schedule for yet: from `changed_from` on, the case owes what
    its entitlement rows in force say (the latest decision wins from its month)."""
    return [
        OwedSegment(member_id, max(r.from_month, changed_from), r.to_month, r.monthly_amount_fen, entry.persons)
        for r in entry.in_force
        if r.to_month is None or r.to_month >= changed_from
    ]


# --- months the old system paid (存量对象导入) -------------------------------------------------------------------


@dataclass(frozen=True)
class PaidElsewhere:
    """`amount_fen` a month for `from_month`…`through_month` to `member_id` was paid by the old system."""

    member_id: uuid.UUID
    from_month: Period
    through_month: Period
    amount_fen: int


def paid_elsewhere(
    person_level: bool,
    member_ids: list[uuid.UUID],
    household: uuid.UUID,
    monthly_amount_fen: int,
    from_month: Period,
    through: Period | None,
) -> list[PaidElsewhere]:
    """An imported approval's months the old system paid, per person as `owed` keys them: the household's (nil
    member) for a household programme, each covered member for a person-level one (the file's amount is per person
    there — one member per imported case; several share it evenly, the odd fen to the first). None when the old
    system paid no month from the first month owed here."""
    if through is None or through < from_month or monthly_amount_fen <= 0:
        return []
    if not person_level or not member_ids:
        return [PaidElsewhere(household, from_month, through, monthly_amount_fen)]
    share, odd = divmod(monthly_amount_fen, len(member_ids))
    return [PaidElsewhere(m, from_month, through, share + (odd if i == 0 else 0)) for i, m in enumerate(member_ids)]


def owed_as_paid(paid: Sequence[PaidElsewhere]) -> list[OwedSegment]:
    """What an imported person-level approval owes before its schedule: each person, from the first month paid
    elsewhere on, what the old system paid them a month — per person as `paid_elsewhere` keys those months and the
    import's schedule keys what it owes (the file's amount shared the same way), so a month the old system paid is
    never owed to another key than the one it was paid to."""
    return [OwedSegment(p.member_id, p.from_month, None, p.amount_fen, 1) for p in paid]
