"""The whole path through the four services as processes, on real PostgreSQL and Kafka:
front desk → intake → Kafka → eligibility opens a case → township and county steps → approval with the amount
吴起县's 2023 standards give → payments enrolls → intake shows the decision."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.core.period import china_today
from shared.core.workdays import add_workdays
from tests.conftest import wait_for
from tests.helpers import household_body

# Paper applications are often entered after they were received; here 20 days ago so the 7-day notice has run.
RECEIVED = china_today() - timedelta(days=20)


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


async def test_dibao_from_the_front_desk_to_the_roll(stack, http, tokens):
    intake, eligibility, payments = stack.url("intake"), stack.url("eligibility"), stack.url("payments")
    # 3 counted members, 200 yuan/month counted income (the pension is exempt) in rural 吴起县.
    r = await http.post(f"{intake}/households", json=household_body(members=3), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    r = await http.post(
        f"{intake}/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True, "received_on": RECEIVED.isoformat()},
        headers={**tokens["clerk"], "X-Correlation-ID": "thin-path-1"},
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]

    async def case_opened() -> dict | None:
        app = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return app if app["case_id"] else None

    app = await wait_for(case_opened)
    case_id = app["case_id"]
    assert app["case_status"] == "accepted"
    assert app["next_deadline"] == add_workdays(RECEIVED, 3).isoformat()  # on the Chinese calendar

    async def step(who: str, path: str, body: dict) -> dict:
        r = await http.post(f"{eligibility}/cases/{case_id}/{path}", json=body, headers=tokens[who])
        assert r.status_code == 200, (path, r.text)
        return r.json()

    await step("clerk", "investigation", {"on": _on(1)})
    await step("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"})
    await step("reviewer", "economic-check", {"on": _on(3), "result": "consistent"})
    await step("reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"})
    notice = await step(
        "reviewer", "appraisal", {"on": _on(5), "result": "agreed", "participants": 11, "opinion": "评议通过"}
    )
    assert notice["status"] == "public_notice"
    xlsx = await http.get(f"{eligibility}/notices/610626101", params={"format": "xlsx"}, headers=tokens["reviewer"])
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    await step("reviewer", "notice/close", {"on": _on(12)})
    done = await step("approver", "decision", {"on": _on(13), "decision": "approve", "opinion": "同意纳入"})
    # 吴起县 2023 tier mode: per-capita 66.67 yuan < 100 → 500 yuan per person per month × 3.
    assert done["monthly_amount_fen"] == 150_000

    async def approved() -> dict | None:
        a = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return a if a["status"] == "approved" else None

    app = await wait_for(approved)
    assert app["decision"]["monthly_amount_fen"] == 150_000

    async def enrolled() -> list:
        return (
            await http.get(f"{payments}/beneficiaries", params={"household_id": hid}, headers=tokens["finance"])
        ).json()["items"]

    roll = await wait_for(enrolled)
    assert len(roll) == 1 and roll[0]["monthly_amount_fen"] == 150_000
    assert roll[0]["start_month"] == app["decision"]["effective_month"] == done["effective_month"]

    # The correlation id of the front-desk request travelled into eligibility's consumer logs.
    assert "thin-path-1" in (stack.log_dir / "eligibility-worker.log").read_text()


async def test_health_readiness_and_metrics(stack, http):
    for service in ("intake", "eligibility", "payments", "monitoring"):
        assert (await http.get(stack.url(service) + "/healthz")).json() == {"status": "ok"}

        # The suite restarts PostgreSQL and Kafka before this (the chaos and fault tests): ready again once the
        # service has reconnected, as an orchestrator's readiness probe would see it.
        async def ready(url: str = stack.url(service) + "/readyz") -> httpx.Response | None:
            r = await http.get(url)
            return r if r.status_code == 200 else None

        checks = (await wait_for(ready, timeout=60, interval=1)).json()["checks"]
        assert checks == {"database": True, "schema": True, "kafka": True}
        metrics = (await http.get(stack.url(service) + "/metrics")).text
        assert "http_requests_total" in metrics
