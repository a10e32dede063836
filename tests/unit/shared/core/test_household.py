"""The household snapshot contract (shared/core/household.py)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.core.household import HouseholdSnapshot, IncomeItem, MemberFacts, SelfCare, age_on


def member(**overrides: object) -> dict[str, object]:
    return {
        "member_id": uuid4(),
        "name": "张三",
        "birth_date": date(1970, 5, 1),
        "sex": "male",
        "relation": "head",
        **overrides,
    }


def snapshot(**overrides: object) -> dict[str, object]:
    return {
        "household_id": uuid4(),
        "region_code": "610626101203",
        "hukou_type": "rural",
        "members": [member()],
        **overrides,
    }


def test_round_trip_through_json() -> None:
    original = HouseholdSnapshot.model_validate(
        snapshot(incomes=[{"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 100}])
    )
    again = HouseholdSnapshot.model_validate_json(original.model_dump_json())
    assert again == original
    assert again.incomes[0].exempt is True


@pytest.mark.parametrize(
    ("subkind", "exempt"),
    [
        ("social_assistance", True),
        ("youfu", True),
        ("scholarship", True),
        ("jianyiyongwei", True),
        ("basic_pension", True),
        ("salary", False),
        ("enterprise_pension", False),
    ],
)
def test_exempt_derived_from_subkind(subkind: str, exempt: bool) -> None:
    item = IncomeItem(kind="transfer", subkind=subkind, monthly_amount_fen=1)
    assert item.exempt is exempt


def test_extra_fields_and_float_money_rejected() -> None:
    with pytest.raises(ValidationError):
        HouseholdSnapshot.model_validate(snapshot(extra_field=1))
    with pytest.raises(ValidationError):
        IncomeItem.model_validate({"kind": "wages", "subkind": "salary", "monthly_amount_fen": 10.5})
    with pytest.raises(ValidationError):
        IncomeItem.model_validate({"kind": "wages", "subkind": "salary", "monthly_amount_fen": -1})
    with pytest.raises(ValidationError):
        IncomeItem.model_validate({"kind": "wages", "subkind": "salary", "monthly_amount_fen": 1, "exempt": True})


def test_frozen() -> None:
    s = HouseholdSnapshot.model_validate(snapshot())
    with pytest.raises(ValidationError):
        s.hukou_type = "urban"  # type: ignore[misc]


def test_region_code_must_be_12_digits() -> None:
    with pytest.raises(ValidationError):
        HouseholdSnapshot.model_validate(snapshot(region_code="610626"))


def test_disability_grade_range() -> None:
    with pytest.raises(ValidationError):
        MemberFacts.model_validate(member(disability_grade=5))


def test_duplicate_member_and_unknown_income_member_rejected() -> None:
    m = member()
    with pytest.raises(ValidationError, match="unique"):
        HouseholdSnapshot.model_validate(snapshot(members=[m, m]))
    with pytest.raises(ValidationError, match="unknown member"):
        HouseholdSnapshot.model_validate(
            snapshot(incomes=[{"member_id": uuid4(), "kind": "wages", "subkind": "salary", "monthly_amount_fen": 1}])
        )


def test_counted_members_and_lookup() -> None:
    a, b = member(), member(counted=False, not_counted_reason="服刑")
    s = HouseholdSnapshot.model_validate(snapshot(members=[a, b]))
    assert [m.member_id for m in s.counted_members()] == [a["member_id"]]
    assert s.member(b["member_id"]).not_counted_reason == "服刑"
    assert s.county_code == "610626"
    with pytest.raises(KeyError):
        s.member(uuid4())


def test_self_care_impossible_count() -> None:
    assert SelfCare().impossible_count == 0
    assert SelfCare(eating=False, bathing=False).impossible_count == 2


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2005, 6, 1), date(2023, 5, 31), 17),
        (date(2005, 6, 1), date(2023, 6, 1), 18),
        (date(2004, 2, 29), date(2023, 2, 28), 18),
        (date(2004, 2, 29), date(2023, 3, 1), 19),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


@pytest.mark.parametrize("count", range(7))
def test_a_count_of_activities_lost_takes_the_first_lost_in_the_usual_order(count: int) -> None:
    care = SelfCare.with_impossible(count)
    assert care.impossible_count == count
    order = ["bathing", "dressing", "toileting", "bed_transfer", "indoor_walking", "eating"]
    assert [name for name in order if not getattr(care, name)] == order[:count]
