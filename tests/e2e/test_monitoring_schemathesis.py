"""Schemathesis over monitoring's OpenAPI (see tests/conformance.py), against the running service process on the real
database: generated requests (valid and invalid) never get a 5xx, and every status code and content type answered
is documented. Whatever operations the service has are covered: the kit documents their errors."""

from __future__ import annotations

import httpx
import schemathesis

from tests.conformance import fuzz
from tests.conftest import bearer

# Every role in 吴起县, so generated requests get past auth and reach the handlers.
OFFICIAL = bearer("fuzz-official", ["admin", "finance", "county_approver", "auditor"], "610626")


def test_no_server_errors_and_only_documented_answers(stack):
    base = stack.url("monitoring")
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    run = fuzz(schema, OFFICIAL, base_url=base, examples=20)
    assert run.operations >= 3  # health, readiness and at least one of the service's own
    assert run.operations == len(list(schema.get_all_operations()))  # every operation was exercised
    assert not run.failures, run.report()
