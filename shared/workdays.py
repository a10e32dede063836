"""Working days (工作日) on the Chinese official calendar, for procedural deadlines.

E.g. 低保: county decision within 10 working days, whole case within 30.

The State Council publishes each year's holidays and make-up working days (调休) in advance; the
``chinese_calendar`` package encodes them. For a year the installed package has no data for (it raises
NotImplementedError: years before 2004, or a year whose schedule was published after the package release),
we fall back to Monday–Friday. That fallback is wrong around holidays, so keep ``chinese-calendar`` up to date
each December when the next year's schedule is announced; :func:`has_official_calendar` lets callers flag
such dates.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = [
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
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day, remaining = start, abs(n)
    while remaining:
        day += step
        if is_workday(day):
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


def add_calendar_days(start: date, n: int) -> date:
    """``start`` plus ``n`` calendar days (自然日), e.g. the 7-day public notice period (公示期)."""
    return start + timedelta(days=n)
