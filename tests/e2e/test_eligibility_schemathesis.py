"""Schemathesis over eligibility's OpenAPI, against the running service process on the real database:
generated requests (valid and invalid) never get a 5xx."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import bearer

# An admin in 吴起县 may call every endpoint, so generated requests get past auth and reach the handlers.
ADMIN = bearer("fuzz-admin", ["admin", "county_approver", "township_reviewer", "clerk"], "610626")
EXAMPLES_PER_OPERATION = 25


def test_no_server_errors(stack):
    base = stack.url("eligibility")
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case) -> None:
            response = case.call(base_url=base, headers=ADMIN, timeout=20)
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])

        no_5xx()
