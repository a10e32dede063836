"""A clerk's day through the API alone, with intake, eligibility and payments as processes on real PostgreSQL and
Kafka: register a household from the 吴起县 report, apply for 低保, see what is missing, upload evidence, retry
safely on a flaky network, and watch the status follow eligibility's case."""

from __future__ import annotations

import uuid

from tests.conftest import wait_for
from tests.helpers import PDF, PNG, household_body, idem


async def test_front_desk_flow_with_retries_evidence_and_status(stack, http, tokens):
    intake, eligibility = stack.url("intake"), stack.url("eligibility")
    body = household_body(members=3)
    body["bank_account"] = {
        "bank_name": "吴起农村商业银行",
        "account_holder": "李建国",
        "account_number": "6228480123456789012",
    }
    key = str(uuid.uuid4())
    first = await http.post(f"{intake}/households", json=body, headers=idem(tokens["clerk"], key))
    retry = await http.post(f"{intake}/households", json=body, headers=idem(tokens["clerk"], key))
    assert first.status_code == retry.status_code == 201, first.text
    assert retry.json()["id"] == first.json()["id"] and retry.headers["idempotent-replayed"] == "true"
    hid = first.json()["id"]
    assert "6228480123456789012" not in first.text

    application = {"household_id": hid, "programme": "dibao", "consent_signed": True}
    key = str(uuid.uuid4())
    r = await http.post(f"{intake}/applications", json=application, headers=idem(tokens["clerk"], key))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    missing = [d["kind"] for d in r.json()["missing_documents"]]
    assert {"consent_form", "income_proof", "id_card"} <= set(missing)
    again = await http.post(f"{intake}/applications", json=application, headers=idem(tokens["clerk"], key))
    assert again.json()["id"] == aid
    second = await http.post(f"{intake}/applications", json=application, headers=tokens["clerk"])
    assert second.status_code == 409

    for kind, data in (("consent_form", PDF), ("id_card", PNG)):
        up = await http.post(
            f"{intake}/applications/{aid}/evidence",
            data={"kind": kind},
            files={"file": (f"{kind}.bin", data)},
            headers=idem(tokens["clerk"], kind + aid),
        )
        assert up.status_code == 201, up.text
    now = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
    assert not {"consent_form", "id_card"} & {d["kind"] for d in now["missing_documents"]}

    async def case_opened() -> dict | None:
        a = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return a if a["case_id"] else None

    opened = await wait_for(case_opened)
    assert opened["status"] == "in_review" and opened["next_deadline"] is not None
    case = (await http.get(f"{eligibility}/cases/{opened['case_id']}", headers=tokens["approver"])).json()
    assert case["status"] == opened["case_status"]

    # The household withdraws; eligibility closes the case and intake shows what eligibility decided.
    r = await http.post(
        f"{intake}/applications/{aid}/withdraw",
        json={"reason": "家庭收入已好转"},
        headers=idem(tokens["clerk"], "withdraw-" + aid),
    )
    assert r.status_code == 202 and r.json()["status"] == "withdrawal_requested"

    async def case_closed() -> dict | None:
        a = (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()
        return a if a["case_status"] != opened["case_status"] else None

    closed = await wait_for(case_closed)
    assert closed["status"] == "withdrawn" and closed["case_status"] == "withdrawn"
    assert closed["withdrawal"] == "accepted"
