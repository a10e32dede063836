"""A case's time limits as the dated parameters set them: the procedure's limits (办理时限), the working-day calendar
of a region, and the deadline they give a case's timeline. Pure: no database, web framework or Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from weakref import WeakKeyDictionary

from services.eligibility.cases import workflow
from services.eligibility.cases.workflow import Limits, Timeline
from services.eligibility.policy import ParameterSet
from services.eligibility.policy.parameters import NATIONAL, region_chain
from shared.core.workdays import WorkCalendar, has_official_calendar

CALENDAR_KEY = "calendar.holidays"  # the State Council's 放假调休安排 for a year the library lacks


def limits(params: ParameterSet, on: date, region: str) -> Limits:
    def value(name: str) -> int:
        return int(params.at(f"procedure.{name}", on, region).value)

    return Limits(**{name: value(name) for name in Limits.__dataclass_fields__})


def work_calendar(params: ParameterSet, region: str, years: Iterable[int]) -> WorkCalendar:
    """The working-day calendar for a region: the library's years, and for the years it lacks the State
    Council's schedule as an admin loaded it (calendar.holidays, the nearest region's, latest loaded)."""
    schedules = {}
    for year in years:
        if has_official_calendar(year):
            continue
        for candidate in region_chain(region) if region else [NATIONAL]:
            loaded = [v.value for v in params.history(CALENDAR_KEY, candidate) if v.value.year == year]
            if loaded:
                schedules[year] = loaded[-1]
                break
    return WorkCalendar(schedules)


# The deadline of each timeline in each county, per parameter set (dropped with it): every case accepted the same
# day in the same state has the same one, and a consumer opening thousands of cases would count the same working
# days again.
_DEADLINE_OF_TIMELINE: WeakKeyDictionary[ParameterSet, dict[tuple[Timeline, str], tuple[date | None, bool]]] = (
    WeakKeyDictionary()
)


def deadline(params: ParameterSet, timeline: Timeline, region: str) -> tuple[date | None, bool]:
    """The case's nearest deadline (None once decided, but for 急难型 paperwork owed) and whether it was counted
    without an official calendar."""
    if timeline.status not in workflow.OPEN and not timeline.documents_pending:
        # Decided: no limit runs, so none is read (an imported case was accepted before any value we hold).
        return None, False
    # The limits and the calendar are looked up along the region's chain, which only its first six digits decide.
    scope = region_chain(region)[0] if region else ""
    memo = _DEADLINE_OF_TIMELINE.setdefault(params, {})
    if (found := memo.get((timeline, scope))) is not None:
        return found
    # Every deadline falls within a year of the later of the two dates it is counted from.
    cal = work_calendar(params, region, range(timeline.accepted_on.year, timeline.status_since.year + 2))
    due = workflow.due_date(timeline, limits(params, timeline.accepted_on, region), cal)
    found = due, due is not None and cal.provisional(timeline.accepted_on, due)
    if len(memo) < 100_000:
        memo[(timeline, scope)] = found
    return found
