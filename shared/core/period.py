"""A calendar month (期间), the unit benefits are paid in; serialised as `YYYY-MM`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from shared.errors import InvalidInput

#: The platform's calendar: a day, and so a month, is China's (an event at 23:30 UTC on the 31st is the next month's).
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    """Today in China: the day a township official, a deadline (工作日) or a month of payment means. Never the server's
    own date, which in a UTC container is still yesterday from 00:00 to 08:00 China time."""
    return datetime.now(CHINA).date()


def china_day(moment: datetime) -> date:
    """The day a moment (an aware timestamp: created_at, an event's time) falls on in China: 23:30 UTC on the 30th
    is the 1st there, and the next month's."""
    return moment.astimezone(CHINA).date()


# YYYY-MM from 1900-01 (the years a Period holds), so the OpenAPI pattern refuses what parsing would.
PATTERN = r"^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"
_PATTERN = re.compile(PATTERN)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12) or not (1900 <= self.year <= 9999):
            raise ValueError(f"not a valid period: {self.year}-{self.month}")

    @classmethod
    def parse(cls, value: str) -> Period:
        return _parsed(cls, value)

    @classmethod
    def parse_field(cls, field: str, value: str) -> Period:
        """A `YYYY-MM` value of a request's field as a Period, or InvalidInput (422) naming that field."""
        try:
            return cls.parse(value)
        except ValueError as exc:
            raise InvalidInput(field, str(exc)) from exc

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def next(self) -> Period:
        return self.plus(1)

    def plus(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def months_until(self, other: Period) -> int:
        return (other.year * 12 + other.month) - (self.year * 12 + self.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Period:
            if isinstance(value, Period):
                return value
            if isinstance(value, str):
                return cls.parse(value)
            raise ValueError("period must be a YYYY-MM string")

        def validate_python(value: Any) -> Period:
            # A month column holds the month's first day: a schema reads a row's (from_attributes) as its period.
            if isinstance(value, date) and not isinstance(value, datetime):
                return cls.of(value)
            return validate(value)

        return core_schema.json_or_python_schema(
            json_schema=core_schema.no_info_plain_validator_function(validate),
            python_schema=core_schema.no_info_plain_validator_function(validate_python),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            metadata={"pydantic_js_functions": [lambda _s, _h: {"type": "string", "pattern": _PATTERN.pattern}]},
        )


@functools.lru_cache(maxsize=4096)
def _parsed(cls: type[Period], value: str) -> Period:
    """Periods are immutable and few: every event of a bulk run carries the same handful of months, parsed once."""
    m = _PATTERN.fullmatch(value)  # `$` alone would let a trailing line break through
    if not m:
        raise ValueError("period must be YYYY-MM")
    return cls(int(m.group(1)), int(m.group(2)))
