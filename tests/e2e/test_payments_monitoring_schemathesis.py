"""Schemathesis over payments' and monitoring's OpenAPI (see tests/conformance.py), against the running service
processes on the real database: generated requests (valid and invalid) never get a 5xx, and every status code and
content type answered is documented. Whatever operations a service has are covered: the kit documents their errors."""

from __future__ import annotations

import httpx
import pytest
import schemathesis

from tests.conformance import fuzz
from tests.conftest import bearer

# Every role in 吴起县, so generated requests get past auth and reach the handlers.
OFFICIAL = bearer("fuzz-official", ["admin", "finance", "county_approver", "auditor"], "610626")


@pytest.mark.parametrize("service", ["payments", "monitoring"])
def test_no_server_errors_and_only_documented_answers(stack, service):
    base = stack.url(service)
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    run = fuzz(schema, OFFICIAL, base_url=base, examples=20)
    assert run.operations == len(list(schema.get_all_operations())) >= 3  # every operation was exercised
    assert not run.failures, run.report()
