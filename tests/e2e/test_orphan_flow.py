"""A recognised orphan through the four services as processes, on real PostgreSQL and Kafka: the front desk records
the 孤儿认定 and its basis → intake → Kafka → eligibility assesses the child alone → township and county steps →
approval at 吴起县's 2023 rate for a scattered orphan → payments enrolls → intake shows the decision."""

from __future__ import annotations

from datetime import timedelta

from shared.core.period import china_today
from tests.conftest import wait_for
from tests.helpers import household_body, resident_id

RECEIVED = china_today() - timedelta(days=20)


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


async def test_recognised_scattered_orphan_from_the_front_desk_to_the_roll(stack, http, tokens):
    intake, eligibility, payments = stack.url("intake"), stack.url("eligibility"), stack.url("payments")
    born = china_today().replace(year=china_today().year - 9) - timedelta(days=40)  # 9 years old
    members = [
        {
            "name": "刘秀英",
            "id_number": resident_id("19520611", False),
            "relation": "head",
            "labour_capacity": "partial",
        },
        {
            "name": "刘小东",
            "id_number": resident_id(born.strftime("%Y%m%d"), True),
            "relation": "grandchild",
            "student": True,
        },
    ]
    body = {**household_body(), "members": members, "incomes": []}
    r = await http.post(f"{intake}/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    household = r.json()
    child = next(m["id"] for m in household["members"] if m["name"] == "刘小东")
    r = await http.post(
        f"{intake}/applications",
        headers=tokens["clerk"],
        json={
            "household_id": household["id"],
            "programme": "orphan",
            "applicant_member_id": child,
            "consent_signed": False,
            "received_on": RECEIVED.isoformat(),
            "recognitions": [{"member_id": child, "kind": "orphan", "basis": "父亲死亡、母亲宣告失踪"}],
        },
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]

    async def case_opened() -> dict | None:
        app = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return app if app["case_id"] else None

    case_id = (await wait_for(case_opened))["case_id"]
    case = (await http.get(f"{eligibility}/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["eligible"] is True and case["assessed_monthly_amount_fen"] == 140_000, case["assessment_reasons"]

    async def step(who: str, path: str, body: dict) -> dict:
        r = await http.post(f"{eligibility}/cases/{case_id}/{path}", json=body, headers=tokens[who])
        assert r.status_code == 200, (path, r.text)
        return r.json()

    await step("clerk", "investigation", {"on": _on(1)})
    await step("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "祖母抚养"})
    await step("reviewer", "economic-check", {"on": _on(3), "result": "consistent"})
    notice = await step(
        "reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "符合孤儿认定条件"}
    )
    assert notice["status"] == "public_notice"
    await step("reviewer", "notice/close", {"on": _on(12)})
    done = await step("approver", "decision", {"on": _on(13), "decision": "approve", "opinion": "同意"})
    # seed 000: 社会散居孤儿基本生活最低养育标准为每人每月1400元.
    assert done["monthly_amount_fen"] == 140_000

    async def approved() -> dict | None:
        a = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return a if a["status"] == "approved" else None

    assert (await wait_for(approved))["decision"]["monthly_amount_fen"] == 140_000

    async def enrolled() -> list:
        return (
            await http.get(
                f"{payments}/beneficiaries", params={"household_id": household["id"]}, headers=tokens["finance"]
            )
        ).json()["items"]

    roll = await wait_for(enrolled)
    assert len(roll) == 1 and roll[0]["programme"] == "orphan" and roll[0]["monthly_amount_fen"] == 140_000
