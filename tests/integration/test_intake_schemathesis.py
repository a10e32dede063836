"""Property-based run over intake's OpenAPI (schemathesis): whatever a client sends, never a 5xx.

Runs against a fresh in-process app on the real test database (schemathesis drives it from its own event loop),
with a valid clerk token, a bounded number of cases per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.intake.api import build
from services.intake.config import Settings

MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def schema(infra, tmp_path_factory):  # noqa: ANN001, ANN201
    app = build(Settings(evidence_dir=tmp_path_factory.mktemp("fuzz-evidence"), evidence_max_bytes=4096))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors_for_any_generated_request(schema, tokens):  # noqa: ANN001
    failures: list[str] = []
    calls = 0
    statuses: dict = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case) -> None:  # noqa: ANN001
            nonlocal calls
            response = case.call(headers=tokens["clerk"])
            calls += 1
            statuses[f"{operation.label} {response.status_code}"] = statuses.get(f"{operation.label} {response.status_code}", 0) + 1
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} {response.text[:300]}\n"
                                f"{case.as_curl_command()}")

        exercise()
    print(sorted(statuses.items()))
    assert calls > 300  # every operation was exercised
    assert not failures, "\n\n".join(failures[:5])
