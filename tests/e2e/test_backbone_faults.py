"""Backbone faults with the services as processes on real PostgreSQL and Kafka. Each asserts that the effect
(eligibility opening a case for an application) happened exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from infra import PARTITIONS
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.conftest import wait_for
from tests.helpers import household_body

APPLICATIONS = "intake.applications"
GROUP = "eligibility.cases"


async def _submit(http, stack, tokens) -> tuple[str, str]:
    """A new household with a 低保 application; returns (household id, application id)."""
    r = await http.post(stack.url("intake") + "/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    r = await http.post(
        stack.url("intake") + "/applications",
        headers=tokens["clerk"],
        json={"household_id": hid, "programme": "dibao", "consent_signed": True},
    )
    assert r.status_code == 201, r.text
    return hid, r.json()["id"]


async def _scalar(db, sql: str, **params):
    async with db.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def _cases_for(db, application_id: str) -> int:
    return await _scalar(db, "SELECT count(*) FROM eligibility.cases WHERE application_id = :a", a=application_id)


async def _opened_events(db, application_id: str) -> tuple[int, int]:
    """(case.opened events in eligibility's outbox, `case.open` audit records) for the application's case."""
    events = await _scalar(
        db,
        "SELECT count(*) FROM eligibility.outbox WHERE type LIKE '%case.opened%' "
        "AND payload->'data'->>'application_id' = :a",
        a=str(application_id),
    )
    audits = await _scalar(
        db,
        "SELECT count(*) FROM eligibility.audit_log a JOIN eligibility.cases c ON a.resource_id = c.id::text "
        "WHERE a.action = 'case.open' AND c.application_id = :a",
        a=application_id,
    )
    return events, audits


async def _wait_case(db, application_id: str, timeout: float = 60) -> None:
    async def opened() -> bool:
        return await _cases_for(db, application_id) > 0

    await wait_for(opened, timeout)


async def _submission_event(db, application_id: str) -> tuple[str, object]:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT event_id, sent_at FROM intake.outbox WHERE type LIKE '%application.submitted%' "
                    "AND payload->'data'->>'application_id' = :a"
                ),
                {"a": application_id},
            )
        ).one()
    return str(row.event_id), row.sent_at


async def _copies_on_topic(bootstrap: str, event_id: str) -> int:
    consumer = AIOKafkaConsumer(
        APPLICATIONS,
        bootstrap_servers=bootstrap,
        group_id=f"audit-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    copies = 0
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            for records in batch.values():
                copies += sum(1 for r in records if event_id.encode() in r.value)
    finally:
        await consumer.stop()
    return copies


async def test_a_relay_killed_after_commit_before_publishing(stack, http, tokens, db, infra):
    stack.kill("intake-worker")  # SIGKILL: nothing flushed, nothing marked
    _, aid = await _submit(http, stack, tokens)
    await asyncio.sleep(2)
    _, sent_at = await _submission_event(db, aid)
    assert sent_at is None and await _cases_for(db, aid) == 0  # committed, not yet published

    stack.start_worker("intake")
    await _wait_case(db, aid)
    await asyncio.sleep(2)  # time for any (wrong) second application to show
    assert await _cases_for(db, aid) == 1
    assert (await _submission_event(db, aid))[1] is not None
    # Applied once: one case.opened event and one audit record of the opening (eligibility.cases.application_id is
    # unique, so counting cases could not tell; these rows have no such guard).
    assert await _opened_events(db, aid) == (1, 1)


async def test_a_relay_killed_after_publishing_before_marking_sent(stack, http, tokens, db, infra):
    stack.stop("intake-worker")
    stack.start_worker("intake", {"RELAY_FAILPOINT": "after_publish"})
    _, aid = await _submit(http, stack, tokens)
    proc = stack.procs["intake-worker"]

    async def exited() -> bool:
        return proc.poll() is not None

    await wait_for(exited, timeout=30)
    assert proc.returncode == 137
    stack.procs.pop("intake-worker")
    event_id, sent_at = await _submission_event(db, aid)
    assert sent_at is None  # published, but the relay died before it could say so

    stack.start_worker("intake")
    await _wait_case(db, aid)
    await wait_for(lambda: _published_twice(infra, event_id), timeout=30)
    await asyncio.sleep(2)
    assert await _cases_for(db, aid) == 1


async def _published_twice(infra, event_id: str) -> bool:
    return await _copies_on_topic(infra.bootstrap, event_id) >= 2


async def _group_lag(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(GROUP)
        partitions = [TopicPartition(APPLICATIONS, p) for p in range(PARTITIONS)]
        ends = await consumer.end_offsets(partitions)
        return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def test_b_replay_from_offset_zero_applies_nothing_twice(stack, http, tokens, db, infra):
    _, aid = await _submit(http, stack, tokens)
    await _wait_case(db, aid)
    stack.stop("eligibility-worker")
    cases = await _scalar(db, "SELECT count(*) FROM eligibility.cases")
    opened = await _scalar(db, "SELECT count(*) FROM eligibility.audit_log WHERE action = 'case.open'")
    # This group's own inbox rows: eligibility's other consumer (monitoring's alerts) shares the table.
    events = await _scalar(db, "SELECT count(*) FROM eligibility.inbox WHERE consumer = :g", g=GROUP)

    rewind = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, group_id=GROUP, enable_auto_commit=False)
    await rewind.start()
    try:
        partitions = [TopicPartition(APPLICATIONS, p) for p in range(PARTITIONS)]
        rewind.assign(partitions)
        await rewind.commit({tp: 0 for tp in partitions})
    finally:
        await rewind.stop()
    assert await _group_lag(infra.bootstrap) >= events  # everything is to be delivered again

    stack.start_worker("eligibility")
    await wait_for(lambda: _lag_zero(infra.bootstrap), timeout=60)
    assert await _scalar(db, "SELECT count(*) FROM eligibility.cases") == cases
    assert await _scalar(db, "SELECT count(*) FROM eligibility.audit_log WHERE action = 'case.open'") == opened
    assert await _scalar(db, "SELECT count(*) FROM eligibility.inbox WHERE consumer = :g", g=GROUP) == events


async def _lag_zero(bootstrap: str) -> bool:
    return await _group_lag(bootstrap) == 0


async def test_d_poison_message_goes_to_dlq_and_the_consumer_goes_on(stack, http, tokens, db, infra):
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    marker = uuid.uuid4().hex
    try:
        await (await producer.send(APPLICATIONS, value=f"garbage {marker}".encode(), key=b"poison"))
        bad = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/elsewhere",
            "type": "cn.gov.mca.assistance.application.submitted.v1",
            "time": "2026-11-01T00:00:00Z",
            "data": {"application_id": marker},
        }
        await (await producer.send(APPLICATIONS, value=orjson.dumps(bad), key=b"poison"))
    finally:
        await producer.stop()
    _, aid = await _submit(http, stack, tokens)
    await _wait_case(db, aid)

    async def dead_lettered() -> list:
        consumer = AIOKafkaConsumer(
            f"{APPLICATIONS}.dlq",
            bootstrap_servers=infra.bootstrap,
            group_id=f"dlq-{uuid.uuid4()}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        found = []
        try:
            while batch := await consumer.getmany(timeout_ms=1500):
                for records in batch.values():
                    # Every consumer group of the topic dead-letters what it cannot read (payments' payee consumer
                    # reads intake.applications too): eligibility's copies are the ones under test.
                    found += [
                        r
                        for r in records
                        if marker.encode() in r.value and dict(r.headers).get("dlq.consumer") == GROUP.encode()
                    ]
        finally:
            await consumer.stop()
        return found if len(found) == 2 else []

    found = await wait_for(dead_lettered, timeout=90)
    headers = [dict(r.headers) for r in found]
    assert all(h["dlq.consumer"] == GROUP.encode() and h["dlq.topic"] == APPLICATIONS.encode() for h in headers)
    assert any(b"not a CloudEvent" in h["dlq.error"] for h in headers)
    assert any(b"does not match" in h["dlq.error"] for h in headers)


async def test_c_kafka_down_30s_intake_keeps_answering_and_every_event_arrives(stack, http, tokens, db, infra):
    infra.kafka.kill()
    submitted: list[str] = []
    statuses: list[int] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < 30:
            r = await http.post(stack.url("intake") + "/households", json=household_body(), headers=tokens["clerk"])
            statuses.append(r.status_code)
            if r.status_code == 201:
                a = await http.post(
                    stack.url("intake") + "/applications",
                    headers=tokens["clerk"],
                    json={"household_id": r.json()["id"], "programme": "dibao", "consent_signed": True},
                )
                statuses.append(a.status_code)
                submitted.append(a.json()["id"])
            await asyncio.sleep(1)
        # Ops see it: /metrics still answers, says Kafka is unreachable, and shows the outbox backing up.
        outage = await _intake_metrics(http, stack)
    finally:
        await asyncio.to_thread(infra.kafka.start)
    assert statuses and all(s == 201 for s in statuses), statuses
    assert len(submitted) >= 10
    assert outage[("ops_metrics_source_up", "kafka")] == 0
    assert outage[("ops_metrics_source_up", "database")] == 1
    assert outage[("outbox_unsent_events", None)] >= 2 * len(submitted)

    async def all_opened() -> bool:
        return await _scalar(
            db,
            "SELECT count(*) FROM eligibility.cases WHERE application_id = ANY(:ids)",
            ids=[uuid.UUID(a) for a in submitted],
        ) == len(submitted)

    await wait_for(all_opened, timeout=180, interval=1)
    for aid in submitted:
        assert await _cases_for(db, aid) == 1

    async def drained() -> bool:
        return (await _intake_metrics(http, stack)).get(("outbox_unsent_events", None)) == 0

    await wait_for(drained, timeout=30)


async def _intake_metrics(http, stack) -> dict[tuple[str, str | None], float]:
    """Intake's flow figures from its /metrics: (name, source) → value."""
    r = await http.get(stack.url("intake") + "/metrics")
    assert r.status_code == 200
    return {
        (s.name, s.labels.get("source")): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name in ("ops_metrics_source_up", "outbox_unsent_events")
    }
