from datetime import date, timedelta

import chinese_calendar
import pytest

from shared.core import workdays
from shared.core.workdays import (
    HolidaySchedule,
    WorkCalendar,
    add_calendar_days,
    add_workdays,
    has_official_calendar,
    is_workday,
    workdays_between,
)

# --- the official calendar, checked against the library and the State Council schedules ---


def test_national_day_2023() -> None:
    # 9-29 (中秋) to 10-6 off; Sat 10-7 and Sun 10-8 are make-up working days (调休).
    assert all(not is_workday(date(2023, 9, 29) + timedelta(days=i)) for i in range(8))
    assert is_workday(date(2023, 10, 7)) and is_workday(date(2023, 10, 8))
    assert add_workdays(date(2023, 9, 28), 1) == date(2023, 10, 7)
    assert add_workdays(date(2023, 9, 28), 3) == date(2023, 10, 9)
    assert workdays_between(date(2023, 9, 28), date(2023, 10, 9)) == 3


def test_spring_festival_2024() -> None:
    # 2-10 to 2-17 off; Sun 2-4 and Sun 2-18 are worked; 除夕 2-9 (Fri) is an ordinary working day.
    assert is_workday(date(2024, 2, 4))
    assert is_workday(date(2024, 2, 9))
    assert not any(is_workday(date(2024, 2, 10) + timedelta(days=i)) for i in range(8))
    assert add_workdays(date(2024, 2, 3), 1) == date(2024, 2, 4)  # Saturday → the make-up Sunday
    assert add_workdays(date(2024, 2, 9), 1) == date(2024, 2, 18)
    assert add_workdays(date(2024, 2, 8), 3) == date(2024, 2, 19)


def test_may_day_2025() -> None:
    # 5-1 to 5-5 off; Sun 4-27 is worked.
    assert is_workday(date(2025, 4, 27))
    assert [is_workday(date(2025, 5, d)) for d in range(1, 7)] == [False] * 5 + [True]
    assert add_workdays(date(2025, 4, 30), 1) == date(2025, 5, 6)
    assert add_workdays(date(2025, 4, 25), 2) == date(2025, 4, 28)  # Fri + 2 WD via the make-up Sunday
    assert workdays_between(date(2025, 4, 25), date(2025, 5, 6)) == 5  # 4-27, 28, 29, 30, 5-6


def test_agrees_with_the_library_day_by_day_2023_to_2025() -> None:
    day = date(2023, 1, 1)
    while day <= date(2025, 12, 31):
        assert is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_ten_working_day_decision_deadline_over_national_day_2024() -> None:
    # File received Mon 2024-09-23; 2024 National Day: 10-1..10-7 off, Sun 9-29 and Sat 10-12 worked.
    assert add_workdays(date(2024, 9, 23), 10) == date(2024, 10, 11)


# --- semantics ---


def test_start_day_does_not_count_even_if_it_is_a_holiday() -> None:
    assert add_workdays(date(2023, 10, 1), 1) == date(2023, 10, 7)
    assert add_workdays(date(2024, 3, 4), 1) == date(2024, 3, 5)  # ordinary Monday → Tuesday
    assert add_workdays(date(2024, 3, 8), 1) == date(2024, 3, 11)  # Friday → Monday


def test_zero_and_negative() -> None:
    assert add_workdays(date(2023, 10, 1), 0) == date(2023, 10, 1)
    assert add_workdays(date(2023, 10, 7), -1) == date(2023, 9, 28)
    assert add_workdays(date(2024, 3, 11), -1) == date(2024, 3, 8)
    assert workdays_between(date(2023, 10, 9), date(2023, 9, 28)) == -3
    assert workdays_between(date(2024, 3, 5), date(2024, 3, 5)) == 0


@pytest.mark.parametrize("n", [1, 3, 10, 20, 30, 45])
def test_workdays_between_inverts_add_workdays(n: int) -> None:
    for start in (date(2023, 9, 25), date(2024, 1, 31), date(2025, 4, 20), date(2025, 9, 26)):
        end = add_workdays(start, n)
        assert is_workday(end)
        assert workdays_between(start, end) == n


def test_thirty_working_days_over_a_year_boundary() -> None:
    # 2024-12-02 + 30 WD: New Year's Day 2025 is off (Wed), nothing else in between.
    assert add_workdays(date(2024, 12, 2), 30) == date(2025, 1, 14)


def test_add_calendar_days() -> None:
    assert add_calendar_days(date(2023, 9, 28), 7) == date(2023, 10, 5)
    assert add_calendar_days(date(2024, 2, 28), 1) == date(2024, 2, 29)
    assert add_calendar_days(date(2024, 3, 1), -1) == date(2024, 2, 29)


# --- fallback for years the library does not cover ---


def test_library_raises_for_unsupported_years() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2003, 1, 6))
    assert not has_official_calendar(2003)
    assert has_official_calendar(2024)


def test_fallback_is_monday_to_friday() -> None:
    # 2003-01-01 was a public holiday (Wed) but the library has no 2003 data: plain Mon-Fri applies.
    assert is_workday(date(2003, 1, 1))
    assert not is_workday(date(2003, 1, 4))  # Saturday
    assert add_workdays(date(2003, 1, 3), 1) == date(2003, 1, 6)  # Fri → Mon
    assert workdays_between(date(2003, 1, 1), date(2003, 1, 8)) == 5


def test_fallback_for_a_far_future_year() -> None:
    year = 2100
    assert not has_official_calendar(year)
    monday = date(year, 1, 4)
    assert monday.weekday() == 0
    assert add_workdays(monday, 5) == date(year, 1, 11)


def test_fallback_when_the_library_lacks_a_year(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate an outdated package that has no data for 2025: Labour Day falls back to an ordinary Thursday.
    real = chinese_calendar.is_workday

    def outdated(day: date) -> bool:
        if day.year == 2025:
            raise NotImplementedError("no available data for year 2025")
        return real(day)

    monkeypatch.setattr(workdays.chinese_calendar, "is_workday", outdated)
    workdays.has_official_calendar.cache_clear()
    workdays.is_workday.cache_clear()
    try:
        assert is_workday(date(2025, 5, 1))
        assert not is_workday(date(2025, 4, 27))
        assert add_workdays(date(2024, 12, 31), 1) == date(2025, 1, 1)
    finally:
        monkeypatch.undo()
        workdays.has_official_calendar.cache_clear()
        workdays.is_workday.cache_clear()
    assert not is_workday(date(2025, 5, 1))


# A year the library lacks, with the schedule an admin loaded (test data shaped like the State Council's notice).
_2027 = HolidaySchedule(
    2027, frozenset({date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8)}), frozenset({date(2027, 2, 13)})
)


def test_a_loaded_schedule_counts_holidays_and_make_up_days_where_the_library_has_none():
    assert not has_official_calendar(2027)
    bare, loaded = WorkCalendar(), WorkCalendar({2027: _2027})
    assert bare.add_workdays(date(2026, 12, 29), 3) == date(2027, 1, 1)  # Monday–Friday: 元旦 counted as worked
    assert loaded.add_workdays(date(2026, 12, 29), 3) == date(2027, 1, 4)
    assert loaded.add_workdays(date(2027, 2, 10), 3) == date(2027, 2, 13)  # the make-up Saturday
    assert bare.provisional(date(2026, 12, 29), date(2027, 1, 1))
    assert not loaded.provisional(date(2026, 12, 29), date(2027, 1, 4))
    assert not bare.provisional(date(2026, 12, 1), date(2026, 12, 4))
    # The library wins for a year it has: a schedule loaded for 2026 changes nothing.
    odd = WorkCalendar({2026: HolidaySchedule(2026, frozenset({date(2026, 12, 2)}))})
    assert odd.add_workdays(date(2026, 12, 1), 1) == add_workdays(date(2026, 12, 1), 1) == date(2026, 12, 2)


@pytest.mark.parametrize(
    "holidays, workdays",
    [
        ({date(2028, 1, 1)}, set()),  # another year
        ({date(2027, 1, 1)}, {date(2027, 1, 1)}),  # both
        ({date(2027, 1, 1)}, {date(2027, 2, 10)}),  # a make-up day on a Wednesday
    ],
)
def test_a_schedule_that_cannot_be_the_notice_is_refused(holidays, workdays):
    with pytest.raises(ValueError):
        HolidaySchedule(2027, frozenset(holidays), frozenset(workdays))
