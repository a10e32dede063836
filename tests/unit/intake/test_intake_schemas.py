"""PATCH bodies: leaving a field out keeps it; sending null for a required fact is a 422 naming the field
(schemathesis found `{"name": null}` reaching the database as a NOT NULL violation)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.intake.applications.schemas import ApplicationAmend, MedicalIn, TemporaryIn
from services.intake.households.schemas import (
    EconomicFactsIn,
    HouseholdUpdate,
    IncomeByMemberIn,
    IncomeIn,
    MemberUpdate,
    PropertyIn,
    RigidExpenseIn,
)
from shared.core.household import IncomeItem, PropertyItem, RigidExpense


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


# --- money in fen is a JSON integer: "100" was stored as 100 -----------------------------------------------------

_FEN_FIELDS = [
    (IncomeIn, {"kind": "wages", "subkind": "salary"}, "monthly_amount_fen"),
    (IncomeByMemberIn, {"kind": "wages", "subkind": "salary"}, "monthly_amount_fen"),
    (PropertyIn, {"kind": "vehicle"}, "value_fen"),
    (RigidExpenseIn, {"kind": "medical"}, "amount_fen_12m"),
    (TemporaryIn, {"type": "emergency"}, "requested_amount_fen"),
    (MedicalIn, {}, "bill_total_fen"),
    (MedicalIn, {"bill_total_fen": 100}, "compliant_cost_fen"),
    (MedicalIn, {"bill_total_fen": 100}, "basic_insurance_paid_fen"),
    (MedicalIn, {"bill_total_fen": 100}, "critical_illness_paid_fen"),
    (MedicalIn, {"bill_total_fen": 100}, "paid_this_year_fen"),
    (MedicalIn, {"bill_total_fen": 100}, "deductible_used_fen"),
    (IncomeItem, {"kind": "wages", "subkind": "salary"}, "monthly_amount_fen"),  # POST /assessments' snapshots
    (PropertyItem, {"kind": "vehicle"}, "value_fen"),
    (RigidExpense, {"kind": "medical"}, "amount_fen_12m"),
]


@pytest.mark.parametrize(("model", "rest", "field"), _FEN_FIELDS, ids=[f"{m.__name__}.{f}" for m, _, f in _FEN_FIELDS])
def test_money_in_fen_is_a_json_integer_not_a_string_float_or_boolean(model, rest, field):
    assert getattr(model.model_validate_json(json.dumps({**rest, field: 100})), field) == 100
    for bad in ("100", "1e2", 100.0, 99.5, True, False, -1):
        for validate in (model.model_validate_json, model.model_validate):
            with pytest.raises(ValidationError) as err:
                validate(
                    json.dumps({**rest, field: bad}) if validate == model.model_validate_json else {**rest, field: bad}
                )
            assert [e["loc"] for e in err.value.errors()] == [(field,)], (bad, err.value.errors())


# --- a partial update changes something; a replacement names all it replaces ------------------------------------


@pytest.mark.parametrize("model", [HouseholdUpdate, MemberUpdate, ApplicationAmend])
def test_a_partial_update_sending_no_field_is_refused_naming_the_body(model):
    # PATCH /households/{id} with {} answered 200, bumped the version and audited {"fields": []}.
    with pytest.raises(ValidationError) as err:
        model.model_validate_json("{}")
    assert [e["loc"] for e in err.value.errors()] == [()]
    assert model.model_json_schema()["minProperties"] == 1  # the OpenAPI says so too


def test_economic_facts_replaced_as_a_whole_need_all_three_lists():
    # PUT /households/{id}/economic-facts with {} answered 200 and erased every income, property and expense.
    with pytest.raises(ValidationError) as err:
        EconomicFactsIn.model_validate_json("{}")
    assert sorted(e["loc"] for e in err.value.errors()) == [("incomes",), ("properties",), ("rigid_expenses",)]
    assert {e["type"] for e in err.value.errors()} == {"missing"}
    cleared = EconomicFactsIn.model_validate_json('{"incomes": [], "properties": [], "rigid_expenses": []}')
    assert (cleared.incomes, cleared.properties, cleared.rigid_expenses) == ([], [], [])
    assert set(EconomicFactsIn.model_json_schema()["required"]) == {"incomes", "properties", "rigid_expenses"}
