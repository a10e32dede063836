"""Schemathesis over eligibility's OpenAPI (see tests/conformance.py), against the running service process on the
real database: generated requests (valid and invalid) never get a 5xx, and every status code and content type
answered is documented."""

from __future__ import annotations

import httpx
import schemathesis

from tests.conformance import fuzz
from tests.conftest import bearer

# An admin in 吴起县 may call every endpoint, so generated requests get past auth and reach the handlers.
ADMIN = bearer("fuzz-admin", ["admin", "county_approver", "township_reviewer", "clerk"], "610626")


def test_no_server_errors_and_only_documented_answers(stack):
    base = stack.url("eligibility")
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    run = fuzz(schema, ADMIN, base_url=base, examples=12)
    assert run.operations >= 15
    assert not run.failures, run.report()
