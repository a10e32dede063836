"""Bad input gets a 422 naming each bad field (README, "Access, privacy, errors"). A check across fields written as
a pydantic model validator comes out located at the model, which the kit renders as `body` (or the nested model's
path): a rejection without reasons answered `field: body`. Such checks are field validators, located at the field
they refuse. Every request body of the four services is swept for model validators, and the bodies that had one
are sent through the kit's error translation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.eligibility.cases.schemas import DecisionIn
from shared.app import install_error_handlers
from shared.core.assessment_contract import AssessmentRequest
from shared.validation import require_a_field

ROUTERS = [
    "services.eligibility.assessments.endpoints",
    "services.eligibility.cases.endpoints",
    "services.eligibility.documents.endpoints",
    "services.eligibility.notices.endpoints",
    "services.eligibility.policy_admin.endpoints",
    "services.eligibility.recompute.endpoints",
    "services.eligibility.tasks.endpoints",
    "services.intake.applications.endpoints",
    "services.intake.drafts.endpoints",
    "services.intake.households.endpoints",
    "services.intake.last_payment.endpoints",
    "services.intake.regions.endpoints",
    "services.intake.roll_import.endpoints",
    "services.monitoring.alerts.endpoints",
    "services.monitoring.feeds.endpoints",
    "services.monitoring.readmodel.endpoints",
    "services.monitoring.reports.endpoints",
    "services.payments.balances.endpoints",
    "services.payments.batches.endpoints",
    "services.payments.county.endpoints",
    "services.payments.recovery.endpoints",
    "services.payments.roll.endpoints",
    "services.payments.statistics.endpoints",
]


def _models(annotation: Any, seen: set[type]) -> None:
    """Every pydantic model an annotation reaches (its fields' types, nested lists, unions and annotations)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, seen)
        return
    for arg in getattr(annotation, "__args__", ()) or ():
        _models(arg, seen)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        _models(origin, seen)


def _request_bodies() -> set[type]:
    import importlib

    seen: set[type] = set()
    for name in ROUTERS:
        module = importlib.import_module(name)
        for router in (v for v in vars(module).values() if isinstance(v, APIRouter)):
            for route in router.routes:
                if isinstance(route, APIRoute):
                    for param in route.dependant.body_params:
                        _models(param.field_info.annotation, seen)
    return seen


def _across_fields(model: type[BaseModel]) -> bool:
    """A model validator other than the partial update's `require_a_field`: that one judges the body as a whole (no
    field sent), which `body` names rightly."""
    return any(d.func is not require_a_field for d in model.__pydantic_decorators__.model_validators.values())


def test_no_request_body_checks_across_fields_in_a_model_validator():
    bodies = _request_bodies()
    assert DecisionIn in bodies and AssessmentRequest in bodies  # the sweep reaches the bodies
    located_at_the_model = sorted(m.__qualname__ for m in bodies if _across_fields(m))
    assert located_at_the_model == []


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/decision")
    async def decision(body: DecisionIn) -> dict:
        return {"decision": body.decision, "reasons": body.reasons}

    @app.post("/assessments")
    async def assessments(body: AssessmentRequest) -> dict:
        return {"items": len(body.items)}

    return TestClient(app)


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("reasons", [{}, {"reasons": []}, {"reasons": ["", "  "]}])
def test_a_rejection_without_reasons_names_reasons(client, reasons):
    r = client.post("/decision", json={"decision": "reject", "opinion": "不符合", **reasons})
    assert _fields(r) == ["reasons"]
    assert "书面说明理由" in r.json()["errors"][0]["message"]


def test_a_decision_with_its_reasons_or_an_approval_without_passes_and_a_bad_decision_names_decision(client):
    r = client.post("/decision", json={"decision": "reject", "opinion": "不符合", "reasons": ["收入超标"]})
    assert r.status_code == 200 and r.json() == {"decision": "reject", "reasons": ["收入超标"]}
    assert client.post("/decision", json={"decision": "approve", "opinion": "同意"}).status_code == 200
    assert _fields(client.post("/decision", json={"decision": "maybe", "opinion": "x"})) == ["decision"]


def _snapshot(**overrides) -> dict:
    head, child = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "household_id": str(uuid.uuid4()),
        "region_code": "610626101201",
        "hukou_type": "rural",
        "members": [
            {"member_id": head, "name": "刘志明", "birth_date": "1962-04-15", "sex": "male", "relation": "head"},
            {"member_id": child, "name": "刘小军", "birth_date": "2010-09-03", "sex": "male", "relation": "child"},
        ],
        **overrides,
    }


def test_a_snapshot_with_a_repeated_member_or_an_income_of_no_member_names_that_field(client):
    twice = _snapshot()
    twice["members"][1]["member_id"] = twice["members"][0]["member_id"]
    stray = _snapshot(
        incomes=[
            {"member_id": str(uuid.uuid4()), "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000}
        ]
    )
    for snapshot, field in ((twice, "items[0].snapshot.members"), (stray, "items[0].snapshot.incomes")):
        item = {"ref": "WQ0001", "programme": "dibao", "on": "2024-03-01", "snapshot": snapshot}
        assert _fields(client.post("/assessments", json={"items": [item]})) == [field]
    good = {"ref": "WQ0001", "programme": "dibao", "on": "2024-03-01", "snapshot": _snapshot()}
    assert client.post("/assessments", json={"items": [good]}).status_code == 200
