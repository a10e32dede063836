"""The pure part of the 提标 recompute: one case's amounts from a new value's start, and the back-pay owed."""

from __future__ import annotations

import uuid
from datetime import date

from services.eligibility.policy import default_parameters
from services.eligibility.recompute.repository import RollRow
from services.eligibility.recompute.service import Impact, ValueChange, evaluation_dates, recompute_case
from shared.household import HouseholdSnapshot
from shared.period import Period

URBAN = {"per": "month", "fen": 72_000}  # 吴起县 urban 低保 8160元/年 = 680元/月 → 720


def _row(
    members: int,
    wages_fen: int,
    amount_fen: int,
    effective: date | None = date(2023, 6, 1),
    village: str = "610626001001",
) -> RollRow:
    snapshot = HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": village,
            "hukou_type": "urban",
            "members": [
                {
                    "member_id": str(uuid.uuid4()),
                    "name": f"成员{i}",
                    "birth_date": "1970-01-01",
                    "sex": "male",
                    "relation": "head" if i == 0 else "other",
                }
                for i in range(members)
            ],
            "incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": wages_fen}],
            "properties": [{"kind": "housing", "value_fen": 6_000_000}],
        }
    )
    return RollRow(
        uuid.uuid4(), snapshot.household_id, "dibao", village, amount_fen, effective, "{}", snapshot.model_dump_json()
    )


def _raised(*later: tuple[date, dict]):
    params = default_parameters().with_value("610626", "dibao.standard.urban", date(2023, 7, 1), URBAN, "test")
    for start, value in later:
        params = params.with_value("610626", "dibao.standard.urban", start, value, "test")
    return params


CHANGE = ValueChange("610626", "dibao.standard.urban", date(2023, 7, 1), "test")


def test_a_gap_household_gets_the_new_amount_from_the_start_month():
    params = _raised()
    r = recompute_case(_row(2, 60_000, 76_000), params, evaluation_dates(params, CHANGE, date(2023, 9, 15)))
    assert r is not None and [(str(s.month), s.monthly_amount_fen) for s in r.segments] == [("2023-07", 84_000)]
    assert r.persons == 2
    assert r.back_pay_fen(Period(2023, 8)) == 2 * 8_000  # July and August paid at 760 yuan
    assert r.back_pay_fen(Period(2023, 6)) == 0  # nothing paid yet at the old value


def test_a_case_on_the_roll_only_later_changes_from_its_own_first_month():
    params = _raised()
    r = recompute_case(_row(2, 60_000, 76_000, effective=date(2023, 9, 1)), params, [date(2023, 7, 1)])
    assert r is not None and [str(s.month) for s in r.segments] == ["2023-09"]
    assert r.back_pay_fen(Period(2023, 10)) == 2 * 8_000


def test_an_amount_already_right_is_unchanged():
    params = _raised()
    r = recompute_case(_row(2, 60_000, 84_000), params, [date(2023, 7, 1)])
    assert r is not None and r.segments == () and r.back_pay_fen(Period(2023, 12)) == 0


def test_a_later_value_already_decided_is_a_second_change():
    params = _raised((date(2023, 10, 1), {"per": "month", "fen": 75_000}))
    dates = evaluation_dates(params, CHANGE, date(2023, 11, 20))
    assert dates == [date(2023, 7, 1), date(2023, 10, 1)]
    r = recompute_case(_row(2, 60_000, 76_000), params, dates)
    assert r is not None
    assert [(str(s.month), s.monthly_amount_fen) for s in r.segments] == [("2023-07", 84_000), ("2023-10", 90_000)]
    assert r.back_pay_fen(Period(2023, 10)) == 3 * 8_000 + 14_000  # Jul–Sep +80 yuan, October +140 yuan
    assert evaluation_dates(params, CHANGE, date(2023, 9, 30)) == [date(2023, 7, 1)]  # not yet decided then


def test_a_household_no_longer_eligible_is_left_to_a_review():
    params = default_parameters().with_value(
        "610626", "dibao.standard.urban", date(2023, 7, 1), {"per": "month", "fen": 20_000}, "test: a fall"
    )
    assert recompute_case(_row(2, 60_000, 76_000), params, [date(2023, 7, 1)]) is None


def test_impact_adds_up_per_township():
    params = _raised()
    impact = Impact(Period(2023, 8))
    for row in (
        _row(2, 60_000, 76_000),
        _row(3, 90_000, 114_000, village="610626104001"),
        _row(3, 90_000, 114_000, village="610626104002"),
    ):
        r = recompute_case(row, params, [date(2023, 7, 1)])
        assert r is not None
        impact.add(r)
    total, townships = impact.rows()
    assert [
        (t.township, t.name, t.households, t.persons, t.monthly_increase_fen, t.back_pay_fen) for t in townships
    ] == [("610626001", "吴起街道", 1, 2, 8_000, 16_000), ("610626104", "长官庙镇", 2, 6, 24_000, 48_000)]
    assert (total.households, total.persons, total.monthly_after_fen, total.back_pay_fen) == (
        3,
        8,
        84_000 + 2 * 126_000,
        64_000,
    )
