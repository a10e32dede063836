"""Issue 12, with the services as processes on real PostgreSQL and Kafka: a withdrawal that crosses the decision
ends with intake and eligibility agreeing (eligibility owns the case), and terminating the one-off payment that
was decided is applied by payments as a no-op, never dead-lettered."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from infra import PARTITIONS

from tests.conftest import wait_for
from tests.helpers import household_body, idem, walk

DECISIONS = "eligibility.decisions"


async def _emergency_case(stack, http, tokens) -> tuple[str, str]:
    """急难型 temporary assistance of 5,000 yuan (within the township's limit), its case opened: (application, case)."""
    intake = stack.url("intake")
    r = await http.post(f"{intake}/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    r = await http.post(
        f"{intake}/applications",
        headers=tokens["clerk"],
        json={
            "household_id": r.json()["id"],
            "programme": "temporary",
            "consent_signed": True,
            "temporary": {"type": "emergency", "requested_amount_fen": 500_000, "cause": "窑洞坍塌"},
        },
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]

    async def opened() -> str | None:
        return (await http.get(f"{intake}/applications/{aid}", headers=tokens["clerk"])).json()["case_id"]

    return aid, await wait_for(opened)


async def _approve(stack, http, tokens, case_id: str) -> None:
    r = await http.post(
        f"{stack.url('eligibility')}/cases/{case_id}/emergency-approval",
        json={"opinion": "先行救助"},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text


async def _application(stack, http, tokens, aid: str) -> dict:
    return (await http.get(f"{stack.url('intake')}/applications/{aid}", headers=tokens["clerk"])).json()


async def _case(stack, http, tokens, case_id: str) -> dict:
    return (await http.get(f"{stack.url('eligibility')}/cases/{case_id}", headers=tokens["approver"])).json()


async def test_a_withdrawal_after_approval_is_refused_by_eligibility_and_intake_shows_it(stack, http, tokens):
    aid, case_id = await _emergency_case(stack, http, tokens)
    stack.kill("intake-worker")  # intake hears nothing of the approval until it is back
    try:
        await _approve(stack, http, tokens, case_id)
        r = await http.post(
            f"{stack.url('intake')}/applications/{aid}/withdraw",
            json={"reason": "亲属已资助"},
            headers=idem(tokens["clerk"], "race-" + aid),
        )
        assert r.status_code == 202, r.text
        assert (r.json()["status"], r.json()["withdrawal"]) == ("withdrawal_requested", "requested")
    finally:
        stack.start_worker("intake")

    async def answered() -> dict | None:
        a = await _application(stack, http, tokens, aid)
        return a if a["withdrawal"] != "requested" else None

    app = await wait_for(answered)
    case = await _case(stack, http, tokens, case_id)
    assert case["status"] == "approved" and case["one_off_amount_fen"] == 500_000
    assert (app["status"], app["case_status"], app["withdrawal"]) == ("approved", "approved", "refused")
    assert app["decision"]["one_off_amount_fen"] == 500_000 and "already decided" in app["withdrawal_refused_because"]
    r = await http.post(
        f"{stack.url('intake')}/applications/{aid}/withdraw", json={"reason": "再次撤回"}, headers=tokens["clerk"]
    )
    assert r.status_code == 409  # intake now knows the case is decided


async def test_a_withdrawal_right_after_approval_ends_with_both_services_agreeing(stack, http, tokens):
    aid, case_id = await _emergency_case(stack, http, tokens)
    await _approve(stack, http, tokens, case_id)
    r = await http.post(
        f"{stack.url('intake')}/applications/{aid}/withdraw", json={"reason": "亲属已资助"}, headers=tokens["clerk"]
    )
    assert r.status_code in (202, 409), r.text  # 409 only if intake already heard of the approval

    async def settled() -> dict | None:
        a = await _application(stack, http, tokens, aid)
        return a if a["status"] == "approved" and a["withdrawal"] != "requested" else None

    app = await wait_for(settled)
    assert app["withdrawal"] == ("refused" if r.status_code == 202 else None)
    assert (await _case(stack, http, tokens, case_id))["status"] == app["case_status"] == "approved"


async def _payments_caught_up(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets("payments.roll")
        ends = await consumer.end_offsets([TopicPartition(DECISIONS, p) for p in range(PARTITIONS)])
        return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items() if end)
    finally:
        await consumer.stop()
        await admin.close()


async def _dead_lettered(bootstrap: str, case_id: str) -> int:
    consumer = AIOKafkaConsumer(
        f"{DECISIONS}.dlq",
        bootstrap_servers=bootstrap,
        group_id=f"dlq-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = 0
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            found += sum(case_id.encode() in r.value for records in batch.values() for r in records)
    finally:
        await consumer.stop()
    return found


async def test_a_one_off_payment_has_nothing_to_terminate(stack, http, tokens, infra):
    """An approved 急难型 award is paid once, whatever follows (payments acknowledges an end of a one-off without
    effect): a termination would stop nothing, so it is not offered and is refused (409, the steps allowed), and
    the case, the application and payments stay as they were."""
    aid, case_id = await _emergency_case(stack, http, tokens)
    await _approve(stack, http, tokens, case_id)
    case = (await http.get(f"{stack.url('eligibility')}/cases/{case_id}", headers=tokens["approver"])).json()
    assert "termination" not in case["next_steps"], case["next_steps"]
    r = await http.post(
        f"{stack.url('eligibility')}/cases/{case_id}/termination",
        json={"reason": "other", "opinion": "救助事由已消除"},
        headers=tokens["approver"],
    )
    assert r.status_code == 409 and "termination" not in r.json()["allowed_next"], r.text
    await wait_for(lambda: _payments_caught_up(infra.bootstrap), timeout=60)
    assert await _dead_lettered(infra.bootstrap, case_id) == 0
    roll = await walk(http, f"{stack.url('payments')}/beneficiaries", tokens["finance"])
    assert case_id not in {b["case_id"] for b in roll}
    shown = await _application(stack, http, tokens, aid)
    assert (shown["status"], shown["case_status"]) == ("approved", "approved"), shown
