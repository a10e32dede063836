"""The what-if (试算) tells the truth: `POST /parameters/what-if` reports, per person and month, the balance the next
batch would pay under a proposed rise, and the batch built after the rise pays exactly that. Both services' real
code on the real PostgreSQL and Kafka: cases approved through eligibility's API, its decisions through its outbox,
relay and Kafka to payments' consumer; the rise added by an admin and recomputed by eligibility's consumer; the
what-if asking payments' API (in process) what holds money for the months; batches built by payments' job.

Two 吴起县 cases, on the roll from June 2023: an urban 低保 household on 补差 and an urban 特困 person. The months up
to April 2030 are paid at today's standard, except the household's April line, which the bank returns failed; May
is not paid yet. A rise of the urban standard from March 2030 (a value no other test reads) is tried, then decided:
the what-if's balances for March–May are what May's regular batch pays, person by person and month by month —
the difference for March (and April for the 特困 person), the whole new amount where nothing holds money."""

from __future__ import annotations

import importlib
import uuid
from datetime import date

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from services.eligibility.models import platform
from services.eligibility.worker import STANDARD_HANDLERS
from shared.consumer import EventConsumer
from shared.core.period import Period
from shared.db import session_factory
from shared.events.catalogue import Topic
from shared.kafka import make_producer
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import run_recomputes, walk
from tests.integration.test_eligibility_recompute import FINANCE, _approve, _household, _member, _relay
from tests.integration.test_payments_balance import OTHER_FINANCE
from tests.payments_kit import PaymentsKit, bank_rows, return_file

START, APRIL, MAY = Period(2030, 3), Period(2030, 4), Period(2030, 5)


@pytest.fixture(autouse=True)
def in_may_2030(monkeypatch):
    """Payments asked for batches as in May 2030 (a batch is asked for at most the coming month): the months of a
    rise no other test reads."""
    from services.payments.batches import service

    monkeypatch.setattr(service, "china_today", lambda: date(2030, 5, 10))


VILLAGE = "610626001001"
RISE = {
    "region": "610626",
    "key": "dibao.standard.urban",
    "start": "2030-03-01",
    "value": {"per": "month", "fen": 75_000},
    "reference": "吴起县 2030 城市低保提标 (test: → 750元/月 from March)",
}


async def _decisions(bootstrap: str, households: set[str]) -> list:
    """Every record on eligibility.decisions about these households, in each one's order."""
    reader = AIOKafkaConsumer(
        Topic.ELIGIBILITY_DECISIONS.value,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    found = []
    try:
        while batch := await reader.getmany(timeout_ms=1500):
            for records in batch.values():
                found += [r for r in records if r.key and r.key.decode() in households]
    finally:
        await reader.stop()
    return found


@pytest.fixture(scope="module")
async def stage(api, tokens, db, infra):
    """Eligibility's relay and its standards consumer, payments' roll consumer, and eligibility's what-if wired to
    payments' API in process (as ELIGIBILITY_PAYMENTS_URL wires it between processes)."""
    producer = make_producer(infra.bootstrap, "test-what-if")
    await producer.start()
    sessions = session_factory(db)
    standards = EventConsumer(
        name=f"eligibility.standards-{uuid.uuid4()}",
        topics=[Topic.ELIGIBILITY_DECISIONS.value],
        handlers=STANDARD_HANDLERS,
        bootstrap=infra.bootstrap,
        producer=producer,
        uow_factory=lambda: UnitOfWork(sessions, platform, "/services/eligibility"),
    )
    app = importlib.import_module("services.eligibility.api").app
    app.state.payments = api("payments")
    try:
        yield {
            "producer": producer,
            "standards": standards,
            "payments": PaymentsKit(db, f"payments.what-if-{uuid.uuid4()}"),
            "sessions": sessions,
        }
    finally:
        del app.state.payments
        await producer.stop()


async def _to_payments(db, infra, stage, households: set[str]) -> None:
    """Eligibility's outbox → Kafka → payments' consumer, for these households' decisions not yet applied."""
    await _relay(db, stage["producer"])
    await stage["payments"].consumer.process(await _decisions(infra.bootstrap, households))


async def _batch(api, tokens, kit: PaymentsKit, period: Period) -> dict:
    pay = api("payments")
    r = await pay.post("/batches", json={"region_code": VILLAGE, "period": str(period)}, headers=tokens["finance"])
    assert r.status_code in (200, 202), r.text
    await kit.build()
    return (await pay.get(f"/batches/{r.json()['id']}", headers=tokens["finance"])).json()


async def _lines(api, tokens, batch: dict, households: set[str]) -> dict[tuple[str, str, str], int]:
    """(household, member, month) → the month's money in the batch (what the bank pays plus any 扣回)."""
    lines = await walk(api("payments"), f"/batches/{batch['id']}/lines", tokens["finance"])
    return {
        (x["household_id"], x["member_id"], x["period"]): x["amount_fen"] + x["deducted_fen"]
        for x in lines
        if x["status"] != "cancelled" and x["household_id"] in households
    }


async def test_the_what_if_reports_the_balances_the_batch_built_after_the_rise_pays(api, tokens, db, infra, stage):
    sessions = stage["sessions"]
    gap = _household(
        VILLAGE, "urban", [_member("陈建国", "1969-01-01", "head"), _member("周丽", "1971-02-02", "spouse")], 60_000
    )
    alone = _household(
        VILLAGE,
        "urban",
        [_member("马大爷", "1948-03-03", "head", labour_capacity="none", has_capable_supporter=False)],
        0,
    )
    cases = {
        "gap": await _approve(api, tokens, sessions, gap, "dibao"),
        "tekun": await _approve(api, tokens, sessions, alone, "tekun"),
    }
    households = {str(gap.household_id), str(alone.household_id)}
    kit: PaymentsKit = stage["payments"]
    for snapshot in (gap, alone):
        await kit.payee(snapshot.household_id, VILLAGE, "6217000012345678901")
    await _to_payments(db, infra, stage, households)

    # Every month up to April 2030 paid at today's standard; the household's April line comes back failed.
    april = await _batch(api, tokens, kit, APRIL)
    pay = api("payments")
    assert (await pay.post(f"/batches/{april['id']}/approve", headers=OTHER_FINANCE)).status_code == 200
    assert (await pay.post(f"/batches/{april['id']}/export", headers=tokens["finance"])).status_code == 200
    rows = bank_rows((await pay.get(f"/batches/{april['id']}/bank-file", headers=tokens["finance"])).content)
    ids = {
        (x["household_id"], x["period"]): x["payment_id"]
        for x in await walk(pay, f"/batches/{april['id']}/lines", tokens["finance"])
    }
    failed = ids[(str(gap.household_id), str(APRIL))]
    returned = [
        (x["payment_id"], x["amount_yuan"], *(("failed", "账户冻结") if x["payment_id"] == failed else ("paid", "")))
        for x in rows
    ]
    r = await pay.post(
        f"/batches/{april['id']}/returns", headers=tokens["finance"], files={"file": ("r.csv", return_file(returned))}
    )
    assert r.status_code == 200, r.text

    # The what-if, through May (not paid yet): per person and month, owed under the rise, what holds money, balance.
    r = await api("eligibility").post("/parameters/what-if", headers=FINANCE, json={**RISE, "paid_through": str(MAY)})
    assert r.status_code == 200, r.text
    what_if = r.json()
    assert what_if["balances_from_payments"] is True
    mine = {c["case_id"]: c for c in what_if["cases"] if c["case_id"] in cases.values()}
    assert set(mine) == set(cases.values())
    gap_march = next(b for b in mine[cases["gap"]]["balances"] if b["period"] == str(START))
    held = gap_march["held_fen"]  # what March was paid at today's standard
    # 补差: 750 × 2 − 600 = 900 yuan a month under the rise.
    assert [(b["period"], b["owed_fen"], b["held_fen"], b["balance_fen"]) for b in mine[cases["gap"]]["balances"]] == [
        (str(START), 90_000, held, 90_000 - held),
        (str(APRIL), 90_000, 0, 90_000),  # the failed line holds nothing
        (str(MAY), 90_000, 0, 90_000),
    ]
    tekun = mine[cases["tekun"]]["balances"]
    assert [b["period"] for b in tekun] == [str(START), str(APRIL), str(MAY)]
    assert tekun[0]["held_fen"] == tekun[1]["held_fen"] > 0 and tekun[2]["held_fen"] == 0
    assert all(b["overpaid_fen"] == 0 for c in mine.values() for b in c["balances"])

    # The rise decided: eligibility's consumer recomputes, its decisions reach payments through Kafka.
    r = await api("eligibility").post("/parameters", json=RISE, headers=tokens["admin"])
    assert r.status_code == 201, r.text
    await _relay(db, stage["producer"])
    reader = AIOKafkaConsumer(
        Topic.ELIGIBILITY_DECISIONS.value,
        bootstrap_servers=infra.bootstrap,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        records = []
        while batch := await reader.getmany(timeout_ms=1500):
            records += [
                r
                for rs in batch.values()
                for r in rs
                if orjson.loads(r.value)["type"].endswith("policy.standard_changed.v1")
                and orjson.loads(r.value)["data"]["start"] == RISE["start"]
                and orjson.loads(r.value)["data"]["key"] == RISE["key"]
            ]
    finally:
        await reader.stop()
    [record] = records
    await stage["standards"].process([record])  # queues the recompute
    assert await run_recomputes(db) >= 1  # the worker runs it
    await _to_payments(db, infra, stage, households)

    # May's regular batch, built after the rise, pays per person and month exactly the what-if's balances.
    may = await _batch(api, tokens, kit, MAY)
    paid = await _lines(api, tokens, may, households)
    household_of = {cases["gap"]: str(gap.household_id), cases["tekun"]: str(alone.household_id)}
    nil = str(uuid.UUID(int=0))
    expected = {
        (household_of[case_id], b["member_id"] or nil, b["period"]): b["balance_fen"]
        for case_id, c in mine.items()
        for b in c["balances"]
        if b["balance_fen"]
    }
    assert all(b["member_id"] for b in tekun)  # a 特困 person's months are their own
    assert paid == expected

    # Payments answers what holds money only within the caller's region.
    body = {
        "persons": [{"household_id": str(gap.household_id), "programme": "dibao", "member_id": str(uuid.UUID(int=0))}],
        "from_month": str(START),
        "through": str(MAY),
    }
    mine_held = await pay.post("/balances/held", json=body, headers=FINANCE)
    # (May's batch, not exported yet, holds what it pays: every month now holds what it is owed.)
    assert [(x["period"], x["held_fen"]) for x in mine_held.json()] == [(str(m), 90_000) for m in (START, APRIL, MAY)]
    elsewhere = await pay.post("/balances/held", json=body, headers=bearer("finance-zhidan", ["finance"], "610625"))
    assert (elsewhere.status_code, elsewhere.json()) == (200, [])
    assert what_if["next_batch_fen"] >= sum(expected.values())  # (other cases of the county are in it too)
