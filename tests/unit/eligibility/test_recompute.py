"""The what-if's arithmetic over re-priced cases: per case the months and fen that move, per township the cost
this month and what the months up to `paid_through` are owed more — in fen worked by hand (吴起县 urban 低保
680 → 730 from November 2023, two 2-person households at 600 yuan income: 760 → 860 yuan)."""

from __future__ import annotations

from datetime import date

from services.eligibility.cases.domain import RecomputedFor
from services.eligibility.recompute.service import Impact, Repriced
from shared.core.period import Period
from tests.unit.eligibility.test_case_model import PARAMS, TODAY, application, opened
from tests.unit.eligibility.test_case_schedule import URBAN, approve, risen, urban_two

RISE = RecomputedFor(region="610626", key=URBAN, start=date(2023, 11, 1))


def _repriced(month: Period) -> Repriced:
    case = approve(opened(application(urban_two())))
    before = case.schedule
    changes = case.reprice(risen(PARAMS, URBAN, RISE.start, {"per": "month", "fen": 73_000}), RISE, "r", TODAY)
    assert changes
    return Repriced.of(case, before, changes, month)


def test_a_repriced_case_owes_the_difference_for_each_month_from_the_start():
    r = _repriced(Period(2024, 1))
    assert (r.monthly_before_fen, r.monthly_after_fen, r.persons) == (76_000, 86_000, 2)
    assert r.owed_change_fen(Period(2023, 10)) == 0  # before the rise
    assert r.owed_change_fen(Period(2023, 12)) == 2 * 10_000  # November and December
    assert r.owed_change_fen(Period(2024, 3)) == 5 * 10_000


def test_impact_adds_up_per_township():
    impact = Impact(paid_through=Period(2023, 12), month=Period(2024, 1))
    for _ in range(2):
        impact.add(_repriced(Period(2024, 1)))
    total, [township] = impact.rows()
    assert township.township == "610626101" and township.name == "铁边城镇"
    assert (total.households, total.persons, total.monthly_before_fen, total.monthly_after_fen) == (
        2,
        4,
        152_000,
        172_000,
    )
    assert total.monthly_increase_fen == 20_000 and total.back_pay_fen == 2 * 2 * 10_000
