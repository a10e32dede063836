"""Property-based run over intake's OpenAPI (schemathesis, see tests/conformance.py): whatever a client sends, never
a 5xx, and every status code and content type answered is one the OpenAPI documents.

Runs against a fresh in-process app on the real test database (schemathesis drives it from its own event loop),
with a valid clerk token and a bounded number of cases per operation: schema-valid requests, schema-violating
ones, and valid ones aimed at a real household / member / application so the deeper code runs too."""

from __future__ import annotations

import pytest
import schemathesis

from tests.conformance import fuzz
from tests.helpers import household_body


@pytest.fixture(scope="module")
def schema(infra):
    # Imported here: the module builds its app from the environment, which the infra fixture has just set.
    from services.intake.api import build
    from services.intake.config import Settings

    app = build(Settings(evidence_max_bytes=4096))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
async def real_ids(api, tokens) -> dict[str, str]:
    household = (await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])).json()
    application = (
        await api("intake").post(
            "/applications",
            headers=tokens["clerk"],
            json={"household_id": household["id"], "programme": "dibao", "consent_signed": True},
        )
    ).json()
    return {
        "household_id": household["id"],
        "member_id": household["members"][0]["id"],
        "application_id": application["id"],
        "code": "610626101",
    }


def test_no_server_errors_and_only_documented_answers(schema, tokens, real_ids):
    # 20 a operation: the e2e conformance run fuzzes intake's every phase as well (tests/e2e/test_openapi_conformance)
    run = fuzz(schema, tokens["clerk"], examples=12, path_values=real_ids)
    assert sum(run.statuses.values()) > 300, run.statuses  # every operation was exercised
    assert not run.failures, run.report()
