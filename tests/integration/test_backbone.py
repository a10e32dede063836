"""The event backbone against real PostgreSQL and Kafka: outbox → relay → Kafka → consumer → inbox + effect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy import text

from services.monitoring.models import platform
from shared import audit
from shared.consumer import Delivery, EventConsumer, on_batch
from shared.context import current_correlation_id
from shared.db import session_factory
from shared.events.catalogue import CATALOGUE, EventData, EventSpec
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.uow import _ONE_STATEMENT_ROWS, UnitOfWork

TOPIC = "test.backbone"
TYPE = "cn.gov.mca.assistance.test.pinged.v1"
PONGED = "cn.gov.mca.assistance.test.ponged.v1"


class Pinged(EventData):
    household_id: uuid.UUID
    amount_fen: int
    refuse: bool = False


class Ponged(EventData):
    household_id: uuid.UUID


@pytest.fixture(scope="module")
async def kit(infra, db):
    from infra import ensure_topics

    # A test-only event type, in the catalogue only while these tests run.
    CATALOGUE[TYPE] = EventSpec(TYPE, TOPIC, Pinged, "test event")  # type: ignore[arg-type]
    CATALOGUE[PONGED] = EventSpec(PONGED, TOPIC, Ponged, "test event")  # type: ignore[arg-type]
    await ensure_topics(infra.bootstrap, (TOPIC,))
    producer = make_producer(infra.bootstrap, "test-backbone")
    await producer.start()
    sessions = session_factory(db)
    yield {"producer": producer, "uow": lambda: UnitOfWork(sessions, platform, "/tests"), "bootstrap": infra.bootstrap}
    await producer.stop()
    del CATALOGUE[TYPE], CATALOGUE[PONGED]


async def _emit(kit, n: int, *, commit: bool = True, refuse: set[int] = frozenset()) -> list[uuid.UUID]:
    async with kit["uow"]() as uow:
        for i in range(n):
            uow.emit(Pinged(household_id=uuid.uuid4(), amount_fen=100 * i, refuse=i in refuse), key=i)
        ids = [e.id for e in uow.events]
        if commit:
            await uow.commit()
    return ids


async def _topic_event_ids(bootstrap: str, topic: str = TOPIC) -> list[str]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
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
        consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=f"r-{uuid.uuid4()}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
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
        rows = (
            await conn.execute(
                text(
                    "SELECT resource_id, count(*) FROM monitoring.audit_log WHERE action = 'test.effect' "
                    "AND resource_id = ANY(:ids) GROUP BY resource_id"
                ),
                {"ids": [str(i) for i in ids]},
            )
        ).all()
    return {r[0]: r[1] for r in rows}


def _consumer(kit, name: str) -> EventConsumer:
    async def effect(uow: UnitOfWork, event, data: Pinged) -> None:
        if data.refuse:
            raise ValueError("this household cannot be pinged")
        await audit.record(uow, "test", "test.effect", "ping", event.id)

    return EventConsumer(
        name=name,
        topics=[TOPIC],
        handlers={TYPE: effect},
        uow_factory=kit["uow"],
        bootstrap=kit["bootstrap"],
        producer=kit["producer"],
    )


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
    async with db.connect() as conn:
        inbox = (
            await conn.execute(
                text("SELECT topic, type, count(*) FROM monitoring.inbox WHERE consumer = :c GROUP BY topic, type"),
                {"c": consumer.name},
            )
        ).all()
    assert [tuple(row) for row in inbox] == [(TOPIC, TYPE, 20)]


async def test_poison_and_refused_messages_go_to_the_dlq_and_the_rest_are_applied(kit, db):
    ids = await _emit(kit, 6, refuse={2})
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    await (await kit["producer"].send(TOPIC, value=b"not json at all", key=b"x"))
    bad_data = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/x",
        "type": TYPE,
        "time": "2026-01-01T00:00:00Z",
        "data": {"household_id": "nope", "amount_fen": "lots"},
    }
    await (await kit["producer"].send(TOPIC, value=orjson.dumps(bad_data), key=b"y"))
    wanted = set(map(str, ids)) | {bad_data["id"]}
    records = [
        r
        for r in await _records(kit["bootstrap"])
        if r.value == b"not json at all" or orjson.loads(r.value)["id"] in wanted
    ]
    name = f"test-dlq-{uuid.uuid4()}"
    await _consumer(kit, name).process(records)
    effects = await _effects(db, ids)
    assert effects == {str(i): 1 for n, i in enumerate(ids) if n != 2}

    dlq = AIOKafkaConsumer(
        f"{TOPIC}.dlq", bootstrap_servers=kit["bootstrap"], group_id=f"d-{uuid.uuid4()}", auto_offset_reset="earliest"
    )
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


async def test_a_write_refused_at_commit_dead_letters_only_its_event_and_the_consumer_goes_on(kit, db):
    """A handler's deferred write is only sent at commit: when a constraint refuses it there, the batch is retried
    event by event like any refusal, instead of the consumer (and its worker) dying on the error."""

    async def effect(uow: UnitOfWork, event, data: Pinged) -> None:
        await audit.record(uow, "test", "test.effect", "ping", event.id)
        if data.refuse:  # two outbox rows with one event id: refused by the unique index, at commit
            row = {"event_id": uuid.uuid4(), "topic": "t", "key": "k", "type": "x", "payload": {}}
            uow.add_rows(uow.tables.outbox, [row, row])

    ids = await _emit(kit, 6, refuse={2})
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    wanted = set(map(str, ids))
    records = [
        r for r in await _records(kit["bootstrap"]) if r.value[:1] == b"{" and orjson.loads(r.value)["id"] in wanted
    ]
    name = f"test-commit-dlq-{uuid.uuid4()}"
    consumer = EventConsumer(
        name=name,
        topics=[TOPIC],
        handlers={TYPE: effect},
        uow_factory=kit["uow"],
        bootstrap=kit["bootstrap"],
        producer=kit["producer"],
    )
    await consumer.process(records)
    assert await _effects(db, ids) == {str(i): 1 for n, i in enumerate(ids) if n != 2}
    dlq = AIOKafkaConsumer(
        f"{TOPIC}.dlq", bootstrap_servers=kit["bootstrap"], group_id=f"d-{uuid.uuid4()}", auto_offset_reset="earliest"
    )
    await dlq.start()
    mine = []
    try:
        while batch := await dlq.getmany(timeout_ms=1500):
            for rs in batch.values():
                mine += [r for r in rs if dict(r.headers).get("dlq.consumer") == name.encode()]
    finally:
        await dlq.stop()
    assert [orjson.loads(r.value)["id"] for r in mine] == [str(ids[2])]
    assert (
        b"uq_outbox_event_id" in dict(mine[0].headers)["dlq.error"]
        or b"duplicate" in dict(mine[0].headers)["dlq.error"]
    )


async def test_a_commit_wakes_the_relay_at_once_without_waiting_for_its_poll(kit, db):
    relay = OutboxRelay(db, platform, kit["producer"], service="t", poll_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(1)  # the relay drains what is there, then waits on LISTEN (or its 60 s poll)
        ids = await _emit(kit, 3)

        async def sent() -> bool:
            async with db.connect() as conn:
                unsent = (
                    await conn.execute(
                        text("SELECT count(*) FROM monitoring.outbox WHERE sent_at IS NULL AND event_id = ANY(:ids)"),
                        {"ids": ids},
                    )
                ).scalar()
            return unsent == 0

        from tests.conftest import wait_for

        await wait_for(sent, timeout=10)
    finally:
        stop.set()
        await running


def _batch_consumer(kit, name: str, calls: list[int]) -> EventConsumer:
    async def effects(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
        calls.append(len(deliveries))
        if any(d.data.refuse for d in deliveries):
            raise ValueError("this household cannot be pinged")
        # One statement for the whole run, as a set-based handler should.
        await audit.record(uow, "test", "test.effect", "ping", [{"resource_id": d.event.id} for d in deliveries])

    return EventConsumer(
        name=name,
        topics=[TOPIC],
        handlers={TYPE: on_batch(effects)},
        uow_factory=kit["uow"],
        bootstrap=kit["bootstrap"],
        producer=kit["producer"],
    )


async def _published(kit, db, ids) -> list:
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    wanted = set(map(str, ids))
    return [
        r
        for r in await _records(kit["bootstrap"])
        if r.value.startswith(b"{") and orjson.loads(r.value)["id"] in wanted
    ]


async def test_a_set_based_handler_gets_the_whole_run_once_and_redelivery_changes_nothing(kit, db):
    ids = await _emit(kit, 40)
    records = await _published(kit, db, ids)
    records.sort(key=lambda r: (r.partition, r.offset))
    calls: list[int] = []
    consumer = _batch_consumer(kit, f"test-batch-{uuid.uuid4()}", calls)
    by_partition: dict[int, list] = {}
    for r in records:
        by_partition.setdefault(r.partition, []).append(r)
    for part in by_partition.values():
        await consumer.process(part)
        await consumer.process(part)  # redelivered: the inbox filters every event, the handler is not called
    assert sorted(calls) == sorted(len(p) for p in by_partition.values())
    assert await _effects(db, ids) == {str(i): 1 for i in ids}


async def test_a_handler_registered_for_two_types_takes_a_run_mixing_them_once_in_order(kit, db):
    """A case's opening and approval are mirrored by one set-based handler: consecutive events for it are one run
    whatever their types (one read and one write of each application, not one per type); a different handler
    between them splits the run."""
    household = uuid.uuid4()
    async with kit["uow"]() as uow:
        for i in range(6):
            uow.emit(
                Pinged(household_id=household, amount_fen=i) if i % 2 == 0 else Ponged(household_id=household), key=0
            )
        ids = [e.id for e in uow.events]
        await uow.commit()
    records = sorted(await _published(kit, db, ids), key=lambda r: r.offset)
    assert len({r.partition for r in records}) == 1 and len(records) == 6
    seen: list[list[str]] = []

    async def effects(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
        seen.append([type(d.data).__name__ for d in deliveries])

    async def other(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
        seen.append([f"other {type(d.data).__name__}" for d in deliveries])

    for handlers in (
        {TYPE: on_batch(effects), PONGED: on_batch(effects)},
        {TYPE: on_batch(effects), PONGED: on_batch(other)},
    ):
        consumer = EventConsumer(
            name=f"test-mixed-{uuid.uuid4()}",
            topics=[TOPIC],
            handlers=handlers,
            uow_factory=kit["uow"],
            bootstrap=kit["bootstrap"],
            producer=kit["producer"],
        )
        await consumer.process(records)
    assert seen == [
        ["Pinged", "Ponged"] * 3,
        *[["Pinged"], ["other Ponged"]] * 3,
    ]


async def test_a_failing_run_is_retried_event_by_event_so_only_the_bad_event_is_dead_lettered(kit, db):
    ids = await _emit(kit, 8, refuse={5})
    records = await _published(kit, db, ids)
    bad = next(r for r in records if orjson.loads(r.value)["id"] == str(ids[5]))
    part = sorted((r for r in records if r.partition == bad.partition), key=lambda r: r.offset)
    calls: list[int] = []
    await _batch_consumer(kit, f"test-batch-dlq-{uuid.uuid4()}", calls).process(part)
    assert calls[0] == len(part) and calls[1:] == [1] * len(part)  # the run, then each event alone
    effects = await _effects(db, [orjson.loads(r.value)["id"] for r in part])
    assert effects == {orjson.loads(r.value)["id"]: 1 for r in part if r is not bad}


async def test_each_message_is_validated_once_with_envelope_and_data_typed_together(kit):
    (eid,) = await _emit(kit, 1, commit=False)
    consumer = _consumer(kit, "parse-only")
    good = {
        "specversion": "1.0",
        "id": str(eid),
        "source": "/x",
        "type": TYPE,
        "time": "2026-01-01T00:00:00Z",
        "data": {"household_id": str(uuid.uuid4()), "amount_fen": 5},
    }

    def record(payload: dict, headers: list) -> ConsumerRecord:
        return ConsumerRecord(TOPIC, 0, 0, 0, 0, b"k", orjson.dumps(payload), None, 1, 1, headers)

    for headers in ([], [("ce_type", TYPE.encode())]):  # other producers' messages, and the relay's
        parsed = consumer._parse(record(good, headers))
        assert parsed.error is None and isinstance(parsed.data, Pinged) and parsed.data.amount_fen == 5
        assert parsed.event is not None and parsed.event.data is parsed.data
        bad = consumer._parse(record({**good, "data": {"household_id": "x", "amount_fen": 5}}, headers))
        assert bad.error and bad.error.startswith(f"data does not match {TYPE}")
        no_time = consumer._parse(record({k: v for k, v in good.items() if k != "time"}, headers))
        assert no_time.error and no_time.error.startswith("not a CloudEvent")
    lying = consumer._parse(record(good, [("ce_type", b"cn.gov.mca.assistance.case.opened.v1")]))
    assert lying.data is None  # a type we do not handle: acknowledged without effect
    other = consumer._parse(record({**good, "type": "cn.gov.mca.assistance.case.opened.v1"}, []))
    assert other.error is None and other.data is None


async def test_the_relay_sends_each_event_as_the_unit_of_work_wrote_it_byte_for_byte(kit, db):
    async with kit["uow"]() as uow:
        for i in range(3):
            uow.emit(Pinged(household_id=uuid.uuid4(), amount_fen=7 * i), key=f"exact-{i}")
        written = {str(e.id): e.to_json("/tests", e.correlation_id or current_correlation_id()) for e in uow.events}
        # The set-based path builds its envelope in SQL: its text goes out as PostgreSQL built it.
        statement, params = uow.events_from_rows(
            Pinged,
            "(SELECT gen_random_uuid() AS household_id, 5 AS amount_fen, false AS refuse)",
            key="'sql'",
            region="CAST(NULL AS text)",
        )
        await uow.session.execute(text(statement), params)
        await uow.commit()
    relay = OutboxRelay(db, platform, kit["producer"], service="t")
    while await relay.relay_once():
        pass
    # Other tests of this module put poison (not JSON, no id) on the topic.
    sent = {
        orjson.loads(r.value).get("id"): r.value for r in await _records(kit["bootstrap"]) if r.value.startswith(b"{")
    }
    for event_id, payload in written.items():
        assert sent[event_id] == payload  # the stored text, not a re-serialisation of a parsed copy
    from_sql = [orjson.loads(v) for v in sent.values() if orjson.loads(v).get("subject") == "sql"]
    assert from_sql and all(e["data"]["amount_fen"] == 5 and e["type"] == TYPE for e in from_sql)


async def test_a_flush_of_more_rows_than_one_statement_takes_writes_every_row_and_event(kit, db):
    """Above the one-statement bound the deferred rows go in slices of JSON-parameter inserts: every audit row and
    every event of the transaction is written, once, with the outbox text the events would have had (three slices
    of audit rows: two full, one short)."""
    rows = 2 * _ONE_STATEMENT_ROWS + 95
    marker = f"bulk-{uuid.uuid4()}"
    async with kit["uow"]() as uow:
        uow.add_rows(
            platform.audit_log,
            [
                {"actor": "tests", "roles": [], "action": marker, "resource_type": "t", "resource_id": str(i)}
                for i in range(rows)
            ],
        )
        for i in range(7):
            uow.emit(Pinged(household_id=uuid.uuid4(), amount_fen=i), key=marker)
        written = {str(e.id): e.to_json("/tests", e.correlation_id or current_correlation_id()) for e in uow.events}
        await uow.commit()
    async with db.connect() as conn:
        audits = await conn.scalars(
            text("SELECT resource_id FROM monitoring.audit_log WHERE action = :m"), {"m": marker}
        )
        stored = dict(
            (
                await conn.execute(
                    text("SELECT event_id::text, payload::text FROM monitoring.outbox WHERE key = :m"), {"m": marker}
                )
            ).all()
        )
    assert sorted(int(r) for r in audits) == list(range(rows))
    assert {k: v.encode() for k, v in stored.items()} == written
