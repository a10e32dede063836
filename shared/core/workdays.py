"""Working days (工作日) on the Chinese official calendar, for procedural deadlines.

E.g. 低保: county decision within 10 working days, whole case within 30.

The State Council publishes each year's holidays and make-up working days (调休) in advance; the
``chinese_calendar`` package encodes them. For a year the installed package has no data for (it raises
NotImplementedError: years before 2004, or a year whose schedule was published after the package release),
a :class:`WorkCalendar` uses the schedule an administrator loaded from the State Council's notice
(:class:`HolidaySchedule`), and failing that falls back to Monday–Friday. That fallback is wrong around
holidays: :meth:`WorkCalendar.is_official` lets callers mark such dates provisional. Keep ``chinese-calendar``
up to date each December when the next year's schedule is announced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import chinese_calendar

__all__ = [
    "HolidaySchedule",
    "WorkCalendar",
    "add_calendar_days",
    "add_workdays",
    "has_official_calendar",
    "is_workday",
    "workdays_between",
]

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def has_official_calendar(year: int) -> bool:
    """Whether the installed chinese_calendar has that year's holiday and 调休 schedule."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """A working day: official calendar with 调休 where known, else Monday–Friday (see module docstring).

    Cached: the library scans its holiday table on every call, and each deadline asks about dozens of days."""
    if has_official_calendar(day.year):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def add_workdays(start: date, n: int) -> date:
    """The date ``n`` working days after ``start`` (the deadline for "within n working days").

    ``start`` itself never counts, so for n ≥ 1 the result is a working day even when ``start`` is a holiday.
    ``n == 0`` returns ``start``; a negative ``n`` counts backwards.
    """
    return _add_workdays(start, n, is_workday)


def _add_workdays(start: date, n: int, workday: Callable[[date], bool]) -> date:
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day, remaining = start, abs(n)
    while remaining:
        day += step
        if workday(day):
            remaining -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days in the half-open interval (start, end], the inverse of :func:`add_workdays`:
    ``workdays_between(s, add_workdays(s, n)) == n`` for n ≥ 0. When ``end`` is before ``start`` the result is
    minus the count over (end, start]."""
    if end < start:
        return -workdays_between(end, start)
    count, day = 0, start
    while day < end:
        day += _ONE_DAY
        if is_workday(day):
            count += 1
    return count


@dataclass(frozen=True)
class HolidaySchedule:
    """One year's 放假调休安排 as the State Council publishes it: the days off that would otherwise be worked
    (法定节假日 and the weekdays given off with them) and the weekend days worked instead (调休上班)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not 2004 <= self.year <= 2100:
            raise ValueError(f"year out of range: {self.year}")
        if outside := sorted(d for d in self.holidays | self.workdays if d.year != self.year):
            raise ValueError(f"dates outside {self.year}: {', '.join(map(str, outside))}")
        if both := sorted(self.holidays & self.workdays):
            raise ValueError(f"both a holiday and a working day: {', '.join(map(str, both))}")
        if weekdays := sorted(d for d in self.workdays if d.weekday() < 5):
            raise ValueError(f"make-up working days fall on weekends, not {', '.join(map(str, weekdays))}")

    def is_workday(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "holidays": sorted(map(str, self.holidays)),
            "workdays": sorted(map(str, self.workdays)),
        }


@dataclass(frozen=True)
class WorkCalendar:
    """Working days on the official calendar: the library's years, then schedules loaded for years it lacks
    (the library wins where it has the year), then Monday–Friday, which is only provisional."""

    schedules: Mapping[int, HolidaySchedule] = field(default_factory=dict)

    def is_official(self, year: int) -> bool:
        return has_official_calendar(year) or year in self.schedules

    def is_workday(self, day: date) -> bool:
        schedule = None if has_official_calendar(day.year) else self.schedules.get(day.year)
        return schedule.is_workday(day) if schedule else is_workday(day)

    def add_workdays(self, start: date, n: int) -> date:
        """As :func:`add_workdays`, on this calendar."""
        return _add_workdays(start, n, self.is_workday if self.schedules else is_workday)

    def provisional(self, start: date, end: date) -> bool:
        """Whether a count of working days from `start` to `end` crossed a year without an official calendar."""
        low, high = sorted((start, end))
        return not all(self.is_official(y) for y in range(low.year, high.year + 1))


def add_calendar_days(start: date, n: int) -> date:
    """``start`` plus ``n`` calendar days (自然日), e.g. the 7-day public notice period (公示期)."""
    return start + timedelta(days=n)
