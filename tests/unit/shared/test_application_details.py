"""The typed application details of the event catalogue: one model per programme, tagged by `programme`, and the
shape first published still read."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from services.eligibility.policy import ApplicationFacts
from shared.core.household import HouseholdSnapshot
from shared.events.catalogue import (
    ApplicationSubmitted,
    MedicalDetails,
    OrphanDetails,
    TemporaryDetails,
    application_details,
)

CHILD = uuid.uuid4()


def _event(programme: str, details: object) -> ApplicationSubmitted:
    snapshot = HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": "610626101201",
            "hukou_type": "rural",
            "members": [
                {
                    "member_id": str(CHILD),
                    "name": "张小宝",
                    "birth_date": "2017-03-01",
                    "sex": "male",
                    "relation": "grandchild",
                }
            ],
        }
    )
    return ApplicationSubmitted.model_validate(
        {
            "application_id": str(uuid.uuid4()),
            "household_id": str(snapshot.household_id),
            "programme": programme,
            "region_code": "610626101201",
            "submitted_on": date(2026, 11, 1),
            "consent_signed": False,
            "separate_register": False,
            "details": details,
            "snapshot": snapshot.model_dump(mode="json"),
        }
    )


def test_details_are_typed_by_programme_and_reach_the_rules() -> None:
    recognition = {"member_id": str(CHILD), "kind": "orphan", "basis": "父母双亡"}
    event = _event("orphan", {"programme": "orphan", "recognitions": [recognition]})
    assert isinstance(event.details, OrphanDetails)
    facts = ApplicationFacts.of_application(event.details, CHILD)
    assert facts.member_id == CHILD and facts.orphan_member_ids == {CHILD}
    assert facts.recognition_basis == {CHILD: "父母双亡"}
    # The event round-trips through JSON unchanged.
    assert ApplicationSubmitted.model_validate_json(event.model_dump_json()) == event


def test_details_for_another_programme_are_refused() -> None:
    with pytest.raises(ValidationError, match="details are for dibao"):
        _event("tekun", {"programme": "dibao"})
    with pytest.raises(ValidationError, match="temporary"):
        _event("temporary", {})  # the temporary request is required


def test_details_first_published_untagged_are_still_read() -> None:
    old_temporary = {"temporary": {"kind": "emergency", "requested_fen": 800_000, "cause": "窑洞坍塌"}}
    details = _event("temporary", old_temporary).details
    assert isinstance(details, TemporaryDetails)
    assert (details.temporary.type, details.temporary.requested_amount_fen) == ("emergency", 800_000)
    old_medical = {
        "medical": {
            "compliant_cost_fen": 4_000_000,
            "basic_insurance_paid_fen": 1_000_000,
            "critical_illness_paid_fen": 0,
            "group": "dibao",
        },
        "medical_bill_total_fen": 5_000_000,
    }
    medical = application_details("medical", old_medical)
    assert isinstance(medical, MedicalDetails)
    assert (medical.medical.bill_total_fen, medical.medical.compliant_fen) == (5_000_000, 4_000_000)
    assert application_details("dibao", {}).programme == "dibao"
