"""The platform's day is China's (UTC+8, no daylight saving): from 16:00 UTC on, it is already the next day there, and
a township official's "today" (a step's date, a deadline, the month a decision takes effect) is that day — whatever
the server's own time zone (UTC in a default container)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine

from shared.core.period import china_day, china_today

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("utc", "china"),
    [
        (datetime(2026, 12, 7, 15, 59, tzinfo=UTC), date(2026, 12, 7)),  # 23:59 in China: the same day
        (datetime(2026, 12, 7, 16, 0, tzinfo=UTC), date(2026, 12, 8)),  # midnight in China
        (datetime(2026, 12, 7, 23, 30, tzinfo=UTC), date(2026, 12, 8)),  # 07:30 in China
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), date(2026, 12, 1)),  # the 1st of the month in China
    ],
)
def test_china_today_is_the_day_in_china_not_the_utc_date(utc: datetime, china: date) -> None:
    with time_machine.travel(utc, tick=False):
        assert china_today() == china
        assert china_day(datetime.now(UTC)) == china


def test_a_moment_in_any_zone_is_read_as_its_day_in_china() -> None:
    # A decision at 07:30 on 1 December in China is a December decision, however the moment was written down.
    assert china_day(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)
    assert china_day(datetime.fromisoformat("2026-12-01T07:30:00+08:00")) == date(2026, 12, 1)


# The server's date, in any of the spellings that read it: wherever a service means a day, the day is China's; and
# a test that reads it for the services' today fails from 16:00 to 24:00 UTC.
SERVER_DATE = re.compile(r"date\.today\(\)|datetime\.(?:now|utcnow)\(\)\.date\(\)|\b(?:date|datetime)\.today\b")


def test_no_service_nor_test_reads_the_servers_date() -> None:
    found = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for top in ("services", "shared", "tests")
        for path in sorted((REPO / top).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SERVER_DATE.search(line)
    ]
    assert found == [], "use shared.core.period.china_today():\n" + "\n".join(found)
