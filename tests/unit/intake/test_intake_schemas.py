"""PATCH bodies: leaving a field out keeps it; sending null for a required fact is a 422 naming the field
(schemathesis found `{"name": null}` reaching the database as a NOT NULL violation)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.applications.schemas import ApplicationAmend
from services.intake.households.schemas import HouseholdUpdate, MemberUpdate


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (MemberUpdate, "name"),
        (MemberUpdate, "relation"),
        (MemberUpdate, "counted"),
        (HouseholdUpdate, "address"),
        (HouseholdUpdate, "hukou_type"),
        (ApplicationAmend, "consent_signed"),
    ],
)
def test_null_for_a_required_fact_names_the_field(model, field):
    with pytest.raises(ValidationError) as err:
        model.model_validate({field: None})
    assert err.value.errors()[0]["loc"] == (field,)


def test_nullable_facts_may_be_cleared_and_absent_fields_are_untouched():
    update = MemberUpdate.model_validate({"disability_category": None, "disability_grade": None})
    assert update.model_fields_set == {"disability_category", "disability_grade"}
    assert HouseholdUpdate.model_validate({"bank_account": None}).model_fields_set == {"bank_account"}
