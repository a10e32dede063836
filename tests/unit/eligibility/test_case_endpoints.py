"""Eligibility's OpenAPI is the manual a front-desk developer works from: every step a case can be offered in
`next_steps` is a path of that very name, whose entry says who may take it and from which states."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from services.eligibility.cases.endpoints import router
from services.eligibility.cases.workflow import STEPS, Status
from shared.app import document_problems


@pytest.fixture(scope="module")
def spec() -> dict:
    # The case router on its own: importing services.eligibility.api here would fix its settings (the database
    # URL) before the integration tests set theirs.
    app = FastAPI()
    app.include_router(router)
    document_problems(app)
    return app.openapi()


def test_every_offered_step_is_the_path_of_its_post_and_documents_roles_and_states(spec):
    paths = spec["paths"]
    offered = {name for name, step in STEPS.items() if step.roles != ("system",)}  # what next_steps may list
    for name in offered:
        operation = paths[f"/cases/{{case_id}}/{name}"]["post"]
        description = operation["description"]
        assert all(f"`{role}`" in description for role in STEPS[name].roles), (name, description)
        assert all(f"`{status}`" in description for status in STEPS[name].sources), (name, description)
        assert {"403", "409"} <= set(operation["responses"])
    step_paths = {p.removeprefix("/cases/{case_id}/") for p in paths if p.startswith("/cases/{case_id}/")}
    assert step_paths == offered  # and no step path that the workflow does not know


def test_the_county_decision_is_named_decision_everywhere(spec):
    assert Status.COUNTY_REVIEW in STEPS["decision"].sources and "decide" not in STEPS
    assert "delegated" in spec["paths"]["/cases/{case_id}/decision"]["post"]["description"]


def test_each_step_route_calls_the_case_method_it_is_named_after():
    """The operation id of a step is the `Case` method it calls: a route renamed without its method (or the other
    way round) would break generated clients."""
    from services.eligibility.cases.domain import Case

    posts = {route.path: route.endpoint.__name__ for route in router.routes if "POST" in route.methods}
    assert len(posts) == len(STEPS) - 1  # every step but the applicant's withdrawal, which comes from intake
    for path, name in posts.items():
        assert callable(getattr(Case, name, None)), (path, name)
