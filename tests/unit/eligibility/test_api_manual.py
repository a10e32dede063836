"""Eligibility's OpenAPI is the manual a front-desk developer works from: every step a case can be offered in
`next_steps` is a path of that very name, whose entry says who may take it and from which states."""

from __future__ import annotations

from services.eligibility.api import app
from services.eligibility.cases.workflow import STEPS, Status


def test_every_offered_step_is_the_path_of_its_post_and_documents_roles_and_states():
    paths = app.openapi()["paths"]
    offered = {name for name, step in STEPS.items() if step.roles != ("system",)}  # what next_steps may list
    for name in offered:
        operation = paths[f"/cases/{{case_id}}/{name}"]["post"]
        description = operation["description"]
        assert all(f"`{role}`" in description for role in STEPS[name].roles), (name, description)
        assert all(f"`{status}`" in description for status in STEPS[name].sources), (name, description)
        assert {"403", "409"} <= set(operation["responses"])
    step_paths = {p.removeprefix("/cases/{case_id}/") for p in paths if p.startswith("/cases/{case_id}/")}
    assert step_paths == offered  # and no step path that the workflow does not know


def test_the_county_decision_is_named_decision_everywhere():
    assert Status.COUNTY_REVIEW in STEPS["decision"].sources and "decide" not in STEPS
    assert "delegated" in app.openapi()["paths"]["/cases/{case_id}/decision"]["post"]["description"]
