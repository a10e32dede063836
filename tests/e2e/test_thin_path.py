"""The thin path through all four services as processes, on real PostgreSQL and Kafka:
front desk → intake → Kafka → eligibility opens a case → county approves → payments enrolls → intake shows it."""

from __future__ import annotations

from tests.conftest import wait_for
from tests.helpers import household_body


async def test_application_to_approval_to_roll(stack, http, tokens):
    intake, eligibility, payments = stack.url("intake"), stack.url("eligibility"), stack.url("payments")
    r = await http.post(f"{intake}/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    r = await http.post(f"{intake}/applications", json={"household_id": hid, "programme": "dibao",
                                                        "consent_signed": True},
                        headers={**tokens["clerk"], "X-Correlation-ID": "thin-path-1"})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]

    async def case_opened() -> dict | None:
        app = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return app if app["case_id"] else None

    app = await wait_for(case_opened)
    assert app["case_status"] == "investigation" and app["next_deadline"] is not None
    case = (await http.get(f"{eligibility}/cases/{app['case_id']}", headers=tokens["approver"])).json()
    assert case["application_id"] == aid and case["household_id"] == hid

    r = await http.post(f"{eligibility}/cases/{app['case_id']}/decision", headers=tokens["approver"],
                        json={"decision": "approve", "monthly_amount_fen": 80_000, "opinion": "同意纳入低保"})
    assert r.status_code == 200, r.text

    async def approved() -> dict | None:
        a = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return a if a["status"] == "approved" else None

    app = await wait_for(approved)
    assert app["decision"]["monthly_amount_fen"] == 80_000

    async def enrolled() -> list:
        return (await http.get(f"{payments}/beneficiaries", params={"household_id": hid},
                               headers=tokens["finance"])).json()

    roll = await wait_for(enrolled)
    assert len(roll) == 1 and roll[0]["monthly_amount_fen"] == 80_000
    assert roll[0]["start_month"] == app["decision"]["effective_month"]

    # The correlation id of the front-desk request travelled into eligibility's consumer logs.
    log = (stack.log_dir / "eligibility-worker.log").read_text()
    assert "thin-path-1" in log


async def test_health_readiness_and_metrics(stack, http):
    for service in ("intake", "eligibility", "payments", "monitoring"):
        assert (await http.get(stack.url(service) + "/healthz")).json() == {"status": "ok"}
        ready = await http.get(stack.url(service) + "/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "kafka": True}
        metrics = (await http.get(stack.url(service) + "/metrics")).text
        assert "http_requests_total" in metrics
