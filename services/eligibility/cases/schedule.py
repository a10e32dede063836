"""待遇 schedule: what a case owes, month by month, as dated segments — pure functions, no database or clock.

A segment is `amount_fen` a month from `from_month` to `to_month` (inclusive; None = until a later decision) for
`persons` counted members (a person-level programme — 特困, orphans, disability subsidies — has one segment per
person, `member_id` naming them), priced with the household facts (`snapshot`) and parameter values (`values`, the
rule's trace) it names, and why it is so (approval, review, standard_rise, death, gradual_exit, termination).

Every money decision replaces the segments from its month (`replace_from`, `until`); a 提标 re-prices each segment
with its *own* facts and the values in force in each of its months (`reprice`), so a rise from March decided in
September prices March–April with the facts before a May review and May on with the review's facts, and a later
rise of one key keeps an earlier rise of another. `deltas` says which months owe how much more or less.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from services.eligibility.policy import Assessment, ParameterSet, TraceEntry
from services.eligibility.policy.parameters import region_chain
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.events.catalogue import ScheduleReason, ScheduleSegment

#: A programme's rule for one case: its facts and region fixed, the household facts and the day given.
CaseRule = Callable[[HouseholdSnapshot, date], Assessment]


class Unpriceable(ValueError):
    """The rule cannot price a month (no longer eligible, missing facts or values): a review decides that."""

    def __init__(self, month: Period, why: str) -> None:
        super().__init__(f"{month}: {why}")
        self.month = month


@dataclass(frozen=True, eq=False)
class Segment:
    """One dated piece of a schedule (待遇段); see the module docstring."""

    from_month: Period
    to_month: Period | None
    amount_fen: int
    persons: int
    member_id: UUID | None
    reason: ScheduleReason
    snapshot: HouseholdSnapshot
    values: tuple[TraceEntry, ...]

    def ends_before(self, month: Period) -> bool:
        return self.to_month is not None and self.to_month < month

    def covers(self, month: Period) -> bool:
        return self.from_month <= month and not self.ends_before(month)

    @property
    def money(self) -> tuple[UUID | None, Period, Period | None, int, int]:
        return self.member_id, self.from_month, self.to_month, self.amount_fen, self.persons

    def same(self, other: Segment) -> bool:
        """The same money, reason and basis (the facts compared by identity first: shared objects are common)."""
        return (
            self.money == other.money
            and self.reason == other.reason
            and (self.snapshot is other.snapshot or self.snapshot == other.snapshot)
            and self.values == other.values
        )

    def to_event(self, changed_from: Period | None = None) -> ScheduleSegment:
        """As the catalogue carries it; its months clipped to `changed_from`."""
        start = max(self.from_month, changed_from) if changed_from else self.from_month
        counted = [m.member_id for m in self.snapshot.counted_members()]
        return ScheduleSegment(
            from_month=start,
            to_month=self.to_month,
            amount_fen=self.amount_fen,
            persons=self.persons,
            member_id=self.member_id,
            reason=self.reason,
            basis={
                "values": [_value_json(v) for v in self.values],
                "facts": {"counted_member_ids": [str(m) for m in counted]},
            },
        )


# The JSON of each parameter value read, by the entry: the rules share one frozen entry per value among all the
# assessments that read it (kept with its JSON, so its id is not reused while it is here).
_VALUES_JSON: dict[int, tuple[TraceEntry, dict[str, Any]]] = {}


def _value_json(entry: TraceEntry) -> dict[str, Any]:
    if (hit := _VALUES_JSON.get(id(entry))) is not None and hit[0] is entry:
        return hit[1]
    if len(_VALUES_JSON) >= 10_000:
        _VALUES_JSON.clear()
    # The value and where it is from; its legal reference stays with the case's own basis (an event's reader
    # needs which value, not the text of the decree, and the outbox row stays small).
    dumped = entry.model_dump(mode="json", exclude={"reference"})
    _VALUES_JSON[id(entry)] = (entry, dumped)
    return dumped


def same_schedule(a: Sequence[Segment], b: Sequence[Segment]) -> bool:
    return len(a) == len(b) and all(x.same(y) for x, y in zip(a, b, strict=True))


def ordered(segments: Iterable[Segment]) -> list[Segment]:
    """Per person (household segments first), by month."""
    return sorted(segments, key=lambda s: (str(s.member_id or ""), s.from_month))


# --- pricing ------------------------------------------------------------------------------------------------------

# Per parameter set: the start dates of every value of the keys a rule read along a region's chain, sorted (a rule
# reads the same keys case after case: one look-up per assessment, not one per key).
_STARTS: WeakKeyDictionary[ParameterSet, dict[tuple[tuple[str, ...], str], tuple[date, ...]]] = WeakKeyDictionary()


def _starts(params: ParameterSet, keys: tuple[str, ...], region: str) -> tuple[date, ...]:
    memo = _STARTS.setdefault(params, {})
    scope = region[:6]
    if (starts := memo.get((keys, scope))) is None:
        chain = region_chain(region)
        starts = memo[(keys, scope)] = tuple(
            sorted({v.start for key in keys for r in chain for v in params.history(key, r)})
        )
    return starts


def _awards(result: Assessment, person_level: bool, members: frozenset[UUID] | None) -> list[tuple[UUID | None, int]]:
    """(member or None, fen) the assessment owes: each eligible person of a person-level programme (those in
    `members` only, when given), else the household's amount."""
    if not person_level:
        return [(None, int(result.monthly_amount_fen or 0))]
    return [
        (a.member_id, a.monthly_amount_fen)
        for a in result.beneficiaries
        if a.eligible and (members is None or a.member_id in members)
    ]


def price(
    rule: CaseRule,
    params: ParameterSet,
    region: str,
    snapshot: HouseholdSnapshot,
    first: Period,
    last: Period | None,
    reason: ScheduleReason,
    *,
    person_level: bool,
    members: frozenset[UUID] | None = None,
) -> list[Segment]:
    """The months `first`…`last` (None = on) priced on `snapshot` with the values in force in each month: the
    rule runs on the first day and again at each later start of a value it read (a value starting within a month
    prices the whole month, as a rise from the 15th is paid for that month), and on the first day of the month
    after the last day its finding or amount holds by a person's age (`valid_until`: an orphan's 18th birthday, a
    child rate's end; `priced_until`: a 分类施保 addition starting at 70 or ending at 18) — a person it then finds
    not eligible is owed nothing more from that month. Raises `Unpriceable`
    when a month finds the household (or a person asked for) not eligible otherwise."""
    if last is not None and last < first:
        return []  # no month to price
    runs: list[tuple[Period, list[tuple[UUID | None, int]], tuple[TraceEntry, ...], int]] = []
    on, by_age = first.first_day, False
    while True:
        month = Period.of(on)
        try:
            result = rule(snapshot, on)
        except (ValueError, KeyError, LookupError, ArithmeticError, TypeError) as exc:
            raise Unpriceable(month, f"cannot assess: {exc}") from exc
        awards = _awards(result, person_level, members) if result.monthly_amount_fen is not None else []
        if by_age and (not result.eligible or not awards):
            last = month.plus(-1)  # the age limit ends what is owed
            break
        if not result.eligible or result.monthly_amount_fen is None:
            raise Unpriceable(month, "; ".join(result.reasons) or "not eligible")
        if members is not None and not by_age and {m for m, _ in awards} != members:
            raise Unpriceable(month, "a person of the schedule is no longer eligible")
        if not awards:
            raise Unpriceable(month, "nobody eligible")
        persons = len(result.covered_member_ids) if not person_level else 1
        if runs and runs[-1][0] == month:
            runs.pop()  # a later value starting within the month prices it
        runs.append((month, awards, tuple(result.trace), persons))
        starts = _starts(params, tuple(t.key for t in result.trace), region)
        i = bisect.bisect_right(starts, on)
        following = starts[i] if i < len(starts) else None
        limit = min((d for d in (result.valid_until, result.priced_until) if d is not None), default=None)
        aged = Period.of(limit).next().first_day if limit is not None else None
        if aged is not None and aged > on and (following is None or aged <= following):
            following, by_age = aged, True
        else:
            by_age = False
        if following is None or (last is not None and Period.of(following) > last):
            break
        on = following
    segments: list[Segment] = []
    for i, (month, awards, values, persons) in enumerate(runs):
        end = runs[i + 1][0].plus(-1) if i + 1 < len(runs) else last
        for member, fen in awards:
            segments.append(Segment(month, end, fen, persons, member, reason, snapshot, values))
    return merge(ordered(segments))


def merge(segments: Sequence[Segment]) -> list[Segment]:
    """Adjacent segments of a person with the same money, reason and basis as one."""
    out: list[Segment] = []
    for s in segments:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.member_id == s.member_id
            and prev.to_month is not None
            and prev.to_month.next() == s.from_month
            and (prev.amount_fen, prev.persons, prev.reason) == (s.amount_fen, s.persons, s.reason)
            and prev.snapshot is s.snapshot
            and prev.values == s.values
        ):
            out[-1] = replace(prev, to_month=s.to_month)
        else:
            out.append(s)
    return out


# --- changing a schedule ------------------------------------------------------------------------------------------


def until(segments: Sequence[Segment], last: Period, members: frozenset[UUID] | None = None) -> list[Segment]:
    """Owed nothing after `last` (the persons in `members` only, when given)."""
    out = []
    for s in segments:
        if members is not None and s.member_id not in members:
            out.append(s)
        elif s.from_month <= last:
            out.append(s if s.to_month is not None and s.to_month <= last else replace(s, to_month=last))
    return out


def replace_from(
    segments: Sequence[Segment], first: Period, new: Sequence[Segment], members: frozenset[UUID] | None = None
) -> list[Segment]:
    """From `first` on, `new` instead of what was owed (for the persons in `members` only, when given)."""
    return ordered([*until(segments, first.plus(-1), members), *new])


def relabel(segments: Sequence[Segment], first: Period, last: Period, reason: ScheduleReason) -> list[Segment]:
    """The months `first`…`last` owed as before, for `reason` (渐退: the amount kept until the last month); none
    after `last`."""
    out: list[Segment] = []
    for s in until(segments, last):
        if s.to_month is not None and s.to_month < first:
            out.append(s)
            continue
        if s.from_month < first:
            out.append(replace(s, to_month=first.plus(-1)))
        out.append(replace(s, from_month=max(s.from_month, first), reason=reason))
    return out


def reprice(
    segments: Sequence[Segment],
    first: Period,
    price_segment: Callable[[Segment, Period], list[Segment]],
    touches: Callable[[Segment], bool] = lambda s: True,
) -> list[Segment]:
    """Each segment owed from `first` on (and `touches` says the change concerns) priced again from
    max(its start, `first`) to its end by `price_segment` (on its own facts); the parts whose amount moved are
    owed for `standard_rise`, the others keep their reason. Raises `Unpriceable` as `price` does."""
    out: list[Segment] = []
    for s in segments:
        if s.ends_before(first) or not touches(s):
            out.append(s)
            continue
        start = max(s.from_month, first)
        if s.from_month < start:
            out.append(replace(s, to_month=start.plus(-1)))
        for new in price_segment(s, start):
            out.append(new if new.amount_fen != s.amount_fen else replace(new, reason=s.reason))
    return merge(ordered(out))


def from_month(segments: Sequence[Segment], first: Period) -> list[Segment]:
    """The segments owed from `first` on, as they are (clipping happens in `Segment.to_event`)."""
    return [s for s in segments if not s.ends_before(first)]


def open_total(segments: Sequence[Segment]) -> int | None:
    """What the schedule owes a month once every decided value applies (its open segments), or None if it
    ends."""
    amounts = [s.amount_fen for s in segments if s.to_month is None]
    return sum(amounts) if amounts else None


def owed(segments: Sequence[Segment], month: Period) -> dict[UUID | None, int]:
    """Fen owed for `month`, per person (None = the household)."""
    return {s.member_id: s.amount_fen for s in segments if s.covers(month)}


def total(segments: Sequence[Segment], month: Period) -> int:
    return sum(owed(segments, month).values())


def amount_steps(
    before: Sequence[Segment], after: Sequence[Segment], first: Period, roll_from: int | None = None
) -> list[tuple[int, int, Period]]:
    """(previous, new, month) for each month from `first` where a roll that keeps one monthly total, the latest
    change winning from its month on, must change to owe what `after` owes: the roll follows `before` (or stays at
    `roll_from`) until the first change. Months `after` owes nothing are a stop's business, not an amount's."""
    points = sorted(p for p in _breaks(before) | _breaks(after) | {first} if p >= first)
    out: list[tuple[int, int, Period]] = []
    emitted: int | None = None
    for month in points:
        if not owed(after, month):
            continue
        new = total(after, month)
        roll = emitted if emitted is not None else (roll_from if roll_from is not None else total(before, month))
        if new != roll:
            out.append((roll, new, month))
            emitted = new
    return out


# --- what changed ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """The months `from_month`…`to_month` (None = on) owe `after_fen` instead of `before_fen` (per person)."""

    member_id: UUID | None
    from_month: Period
    to_month: Period | None
    before_fen: int
    after_fen: int

    @property
    def months(self) -> int | None:
        return None if self.to_month is None else self.from_month.months_until(self.to_month) + 1

    def fen_through(self, last: Period) -> int:
        """The change summed over its months up to `last`."""
        end = last if self.to_month is None else min(self.to_month, last)
        months = self.from_month.months_until(end) + 1
        return max(0, months) * (self.after_fen - self.before_fen)

    def to_json(self) -> dict[str, Any]:
        return {
            "member_id": str(self.member_id) if self.member_id else None,
            "from_month": str(self.from_month),
            "to_month": str(self.to_month) if self.to_month else None,
            "before_fen": self.before_fen,
            "after_fen": self.after_fen,
        }


def _breaks(segments: Sequence[Segment]) -> set[Period]:
    out: set[Period] = set()
    for s in segments:
        out.add(s.from_month)
        if s.to_month is not None:
            out.add(s.to_month.next())
    return out


def deltas(before: Sequence[Segment], after: Sequence[Segment], first: Period | None = None) -> list[Delta]:
    """Where the two schedules owe differently (from `first` on), per person, as runs of months."""
    out: list[Delta] = []
    for member in sorted({s.member_id for s in (*before, *after)}, key=lambda m: str(m or "")):
        b = [s for s in before if s.member_id == member]
        a = [s for s in after if s.member_id == member]
        points = sorted(_breaks(b) | _breaks(a) | ({first} if first else set()))
        if first is not None:
            points = [p for p in points if p >= first]
        for i, month in enumerate(points):
            old, new = owed(b, month).get(member, 0), owed(a, month).get(member, 0)
            if old == new:
                continue
            end = points[i + 1].plus(-1) if i + 1 < len(points) else None
            last = out[-1] if out else None
            if (
                last is not None
                and last.member_id == member
                and last.to_month is not None
                and last.to_month.next() == month
                and (last.before_fen, last.after_fen) == (old, new)
            ):
                out[-1] = replace(last, to_month=end)
            else:
                out.append(Delta(member, month, end, old, new))
    return out


def imported(
    snapshot: HouseholdSnapshot,
    assessment: Assessment | None,
    amount_fen: int,
    first: Period,
    last: Period | None,
    person_level: bool,
) -> list[Segment]:
    """The schedule of a case approved before schedules were kept: its stored amount from its first month, on
    its stored facts and trace."""
    values = tuple(assessment.trace) if assessment else ()
    if person_level and assessment is not None and assessment.beneficiaries:
        return ordered(
            Segment(first, last, a.monthly_amount_fen, 1, a.member_id, "imported", snapshot, values)
            for a in assessment.beneficiaries
            if a.eligible
        )
    persons = len(assessment.covered_member_ids) if assessment else len(snapshot.counted_members())
    return [Segment(first, last, amount_fen, persons, None, "imported", snapshot, values)]
