"""The event backbone against real PostgreSQL and Kafka: outbox → relay → Kafka → consumer → inbox + effect."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from services.monitoring.models import platform
from shared import audit
from shared.consumer import EventConsumer
from shared.db import session_factory
from shared.events.catalogue import CATALOGUE, EventData, EventSpec
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.uow import UnitOfWork

TOPIC = "test.backbone"
TYPE = "cn.gov.mca.assistance.test.pinged.v1"


class Pinged(EventData):
    household_id: uuid.UUID
    amount_fen: int
    refuse: bool = False


@pytest.fixture(scope="module")
async def kit(infra, db):
    from infra import ensure_topics

    # A test-only event type, in the catalogue only while these tests run.
    CATALOGUE[TYPE] = EventSpec(TYPE, TOPIC, Pinged, "test event")  # type: ignore[arg-type]
    await ensure_topics(infra.bootstrap, (TOPIC,))
    producer = make_producer(infra.bootstrap, "test-backbone")
    await producer.start()
    sessions = session_factory(db)
    yield {"producer": producer, "uow": lambda: UnitOfWork(sessions, platform, "/tests"),
           "bootstrap": infra.bootstrap}
    await producer.stop()
    del CATALOGUE[TYPE]


async def _emit(kit, n: int, *, commit: bool = True, refuse: set[int] = frozenset()) -> list[uuid.UUID]:
    async with kit["uow"]() as uow:
        for i in range(n):
            uow.emit(Pinged(household_id=uuid.uuid4(), amount_fen=100 * i, refuse=i in refuse), key=i)
        ids = [e.id for e in uow.events]
        if commit:
            await uow.commit()
    return ids


async def _topic_event_ids(bootstrap: str, topic: str = TOPIC) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    ids: list[str] = []
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                ids += [orjson.loads(r.value).get("id", "?") if r.value.startswith(b"{") else "?" for r in records]
    finally:
        await consumer.stop()
    return ids


async def test_only_committed_events_are_published_and_each_once_by_two_relays(kit, db):
    committed = await _emit(kit, 300)
    rolled_back = await _emit(kit, 5, commit=False)
    relays = [OutboxRelay(db, platform, kit["producer"], service="t", batch_size=50) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while n := await relay.relay_once():
            total += n
        return total

    await asyncio.gather(*(drain(r) for r in relays))
    on_topic = await _topic_event_ids(kit["bootstrap"])
    for eid in committed:
        assert on_topic.count(str(eid)) == 1
    assert not set(map(str, rolled_back)) & set(on_topic)
    async with db.connect() as conn:
        unsent = (await conn.execute(text("SELECT count(*) FROM monitoring.outbox WHERE sent_at IS NULL"))).scalar()
    assert unsent == 0


def _records(bootstrap: str):
    async def read() -> list:
        consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"r-{uuid.uuid4()}",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        out = []
        try:
            while batch := await consumer.getmany(timeout_ms=1500):
                for records in batch.values():
                    out += records
        finally:
            await consumer.stop()
        return out
    return read()


async def _effects(db, ids) -> dict[str, int]:
    async with db.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT resource_id, count(*) FROM monitoring.audit_log WHERE action = 'test.effect' "
            "AND resource_id = ANY(:ids) GROUP BY resource_id"), {"ids": [str(i) for i in ids]})).all()
    return {r[0]: r[1] for r in rows}


def _consumer(kit, name: str) -> EventConsumer:
    async def effect(uow: UnitOfWork, event, data: Pinged) -> None:
        if data.refuse:
            raise ValueError("this household cannot be pinged")
        await audit.record(uow, "test", "test.effect", "ping", event.id)

    return EventConsumer(name=name, topics=[TOPIC], handlers={TYPE: effect}, uow_factory=kit["uow"],
                         bootstrap=kit["bootstrap"], producer=kit["producer"])


async def test_redelivered_events_are_applied_once(kit, db):
    ids = await _emit(kit, 20)
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    records = [r for r in await _records(kit["bootstrap"]) if orjson.loads(r.value)["id"] in set(map(str, ids))]
    consumer = _consumer(kit, f"test-once-{uuid.uuid4()}")
    await consumer.process(records)
    await consumer.process(records)  # the same batch again, as after a crash before the offset commit
    await consumer.process(records[:7])
    assert await _effects(db, ids) == {str(i): 1 for i in ids}


async def test_poison_and_refused_messages_go_to_the_dlq_and_the_rest_are_applied(kit, db):
    ids = await _emit(kit, 6, refuse={2})
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    await (await kit["producer"].send(TOPIC, value=b"not json at all", key=b"x"))
    bad_data = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/x", "type": TYPE,
                "time": "2026-01-01T00:00:00Z", "data": {"household_id": "nope", "amount_fen": "lots"}}
    await (await kit["producer"].send(TOPIC, value=orjson.dumps(bad_data), key=b"y"))
    wanted = set(map(str, ids)) | {bad_data["id"]}
    records = [r for r in await _records(kit["bootstrap"])
               if r.value == b"not json at all" or orjson.loads(r.value)["id"] in wanted]
    name = f"test-dlq-{uuid.uuid4()}"
    await _consumer(kit, name).process(records)
    effects = await _effects(db, ids)
    assert effects == {str(i): 1 for n, i in enumerate(ids) if n != 2}

    dlq = AIOKafkaConsumer(f"{TOPIC}.dlq", bootstrap_servers=kit["bootstrap"], group_id=f"d-{uuid.uuid4()}",
                           auto_offset_reset="earliest")
    await dlq.start()
    mine = []
    try:
        while batch := await dlq.getmany(timeout_ms=1500):
            for rs in batch.values():
                mine += [r for r in rs if dict(r.headers).get("dlq.consumer") == name.encode()]
    finally:
        await dlq.stop()
    errors = sorted(dict(r.headers)["dlq.error"].decode()[:20] for r in mine)
    assert len(mine) == 3, errors
    assert any(r.value == b"not json at all" for r in mine)
    assert any(b"cannot be pinged" in dict(r.headers)["dlq.error"] for r in mine)
    assert all(dict(r.headers)["dlq.topic"] == TOPIC.encode() for r in mine)


async def test_a_commit_wakes_the_relay_at_once_without_waiting_for_its_poll(kit, db):
    relay = OutboxRelay(db, platform, kit["producer"], service="t", poll_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(1)  # the relay drains what is there, then waits on LISTEN (or its 60 s poll)
        ids = await _emit(kit, 3)

        async def sent() -> bool:
            async with db.connect() as conn:
                unsent = (await conn.execute(text(
                    "SELECT count(*) FROM monitoring.outbox WHERE sent_at IS NULL AND event_id = ANY(:ids)"),
                    {"ids": ids})).scalar()
            return unsent == 0

        from tests.conftest import wait_for

        await wait_for(sent, timeout=10)
    finally:
        stop.set()
        await running
