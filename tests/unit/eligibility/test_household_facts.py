"""The household's latest facts by their version at intake: which replace which, within a run of events as in the
table, and when a review may price them (services/eligibility/cases/facts.py)."""

from __future__ import annotations

import uuid

import pytest

from services.eligibility.cases.facts import ensure_arrived, replaces
from services.eligibility.cases.schemas import ReviewIn
from services.eligibility.cases.service import newest_facts
from shared.core.household import HouseholdSnapshot
from shared.errors import Conflict
from shared.events.catalogue import HouseholdRegistered, HouseholdUpdated
from tests.helpers import delivery


@pytest.mark.parametrize(
    ("held", "arriving", "replaced"),
    [
        (None, None, True),  # nothing known either way: the later facts, as before versions were carried
        (None, 3, True),
        (3, 4, True),
        (3, 3, True),  # the same version again (a redelivery, re-sealed identities): the same facts
        (4, 3, False),  # a late or replayed older change
        (3, None, False),  # an application's snapshot, of no known version
    ],
)
def test_facts_replace_those_held_unless_of_an_older_or_unknown_version(held, arriving, replaced):
    assert replaces(held, arriving) is replaced


@pytest.mark.parametrize(("held", "seen"), [(2, 2), (3, 2), (None, 5), (2, None), (None, None)])
def test_a_review_goes_on_when_the_facts_held_are_not_known_to_be_older(held, seen):
    ensure_arrived(held, seen)


def test_a_review_waits_for_the_facts_of_the_version_the_front_desk_holds():
    with pytest.raises(Conflict) as refused:
        ensure_arrived(2, 3)
    assert refused.value.status == 409
    assert [e["field"] for e in refused.value.errors] == ["household_version"]
    assert "still on their way" in refused.value.detail and "try again shortly" in refused.value.detail


def _snapshot(household: uuid.UUID) -> HouseholdSnapshot:
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(household),
            "region_code": "610626101201",
            "hukou_type": "rural",
            "members": [
                {
                    "member_id": str(uuid.uuid4()),
                    "name": "刘志明",
                    "birth_date": "1962-04-15",
                    "sex": "male",
                    "relation": "head",
                }
            ],
        }
    )


def _event(household: uuid.UUID, version: int | None, kind: type = HouseholdUpdated):
    snapshot = _snapshot(household)
    return delivery(
        kind(household_id=household, region_code=snapshot.region_code, snapshot=snapshot, household_version=version)
    )


def test_in_a_run_the_newest_version_of_each_household_stands_whatever_arrives_after_it():
    one, two, three = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    run = [
        first := _event(one, 1, HouseholdRegistered),
        newer := _event(one, 3),
        _event(one, 2),  # late
        _event(two, None),
        unversioned_last := _event(two, None),
        _event(three, None),
        versioned := _event(three, 1),
    ]
    newest = newest_facts(run)
    assert newest == {one: newer, two: unversioned_last, three: versioned}
    assert newest_facts([first]) == {one: first}


def test_a_review_may_name_the_version_the_official_saw():
    assert ReviewIn.model_validate({"household_version": 4}).household_version == 4
    assert ReviewIn.model_validate({}).household_version is None
    with pytest.raises(ValueError):
        ReviewIn.model_validate({"household_version": 0})
