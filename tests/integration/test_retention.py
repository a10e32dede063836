"""Retention: each worker purges expired idempotency keys, sent outbox rows and inbox rows, in chunks, on a
schedule; nothing younger than its period and no unsent outbox row goes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from services.intake.models import idempotency_keys, platform
from shared.retention import Purger
from shared.settings import ServiceSettings
from shared.worker import run_worker
from tests.conftest import wait_for

NOW = datetime.now(UTC)
CONSUMER = "test-retention"


def _settings(**overrides) -> ServiceSettings:
    return ServiceSettings(service_name="intake", purge_batch_size=2, **overrides)  # chunks of 2: several rounds


async def _outbox(db, *, sent: datetime | None, created: datetime) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with db.begin() as conn:
        await conn.execute(
            insert(platform.outbox).values(
                event_id=event_id,
                topic="intake.applications",
                key="retention-test",
                type="test.retention",
                payload={},
                created_at=created,
                sent_at=sent,
            )
        )
    return event_id


async def _inbox(db, received: datetime) -> uuid.UUID:
    event_id = uuid.uuid4()
    async with db.begin() as conn:
        await conn.execute(
            insert(platform.inbox).values(
                event_id=event_id,
                consumer=CONSUMER,
                type="test.retention",
                topic="intake.applications",
                received_at=received,
            )
        )
    return event_id


async def _key(db, created: datetime) -> str:
    key = f"retention-{uuid.uuid4()}"
    async with db.begin() as conn:
        await conn.execute(
            insert(idempotency_keys).values(
                principal="clerk-retention",
                key=key,
                method="POST",
                path="/households",
                fingerprint="0" * 64,
                status_code=201,
                response_body='{"name": "李建国"}',
                created_at=created,
            )
        )
    return key


async def _left(db, column, ids) -> set:
    async with db.connect() as conn:
        return set((await conn.execute(select(column).where(column.in_(list(ids))))).scalars())


async def test_sent_outbox_rows_go_after_their_period_and_unsent_ones_never(db):
    old_sent = {await _outbox(db, sent=NOW - timedelta(days=50), created=NOW - timedelta(days=50)) for _ in range(5)}
    recent_sent = await _outbox(db, sent=NOW - timedelta(days=40), created=NOW - timedelta(days=40))
    old_unsent = await _outbox(db, sent=None, created=NOW - timedelta(days=50))
    try:
        counts = await Purger(db, platform, _settings()).purge_once()
        assert counts["outbox"] == 5
        assert await _left(db, platform.outbox.c.event_id, [*old_sent, recent_sent, old_unsent]) == {
            recent_sent,
            old_unsent,
        }  # 40 days < the 45 kept; unsent rows are the relay's work
    finally:
        async with db.begin() as conn:  # no relay of another test should ever see this fake event
            await conn.execute(platform.outbox.delete().where(platform.outbox.c.event_id == old_unsent))


async def test_inbox_rows_outlive_the_topics_retention_then_go(db):
    old = {await _inbox(db, NOW - timedelta(days=46)) for _ in range(3)}
    older_than_topics = await _inbox(db, NOW - timedelta(days=31))  # Kafka no longer has it, the inbox still does
    counts = await Purger(db, platform, _settings()).purge_once()
    assert counts["inbox"] == 3
    assert await _left(db, platform.inbox.c.event_id, [*old, older_than_topics]) == {older_than_topics}
    counts = await Purger(db, platform, _settings(inbox_retention_days=31.5, topic_retention_days=31)).purge_once()
    assert counts["inbox"] == 0  # 31 days is still inside even that shorter period


async def test_idempotency_keys_and_their_stored_bodies_go_after_a_day(db):
    old = {await _key(db, NOW - timedelta(hours=25)) for _ in range(3)}
    fresh = await _key(db, NOW - timedelta(hours=1))
    counts = await Purger(db, platform, _settings()).purge_once()
    assert counts["idempotency_keys"] == 3
    assert await _left(db, idempotency_keys.c.key, [*old, fresh]) == {fresh}


async def test_the_worker_purges_on_its_schedule(infra, db):
    expired = await _inbox(db, NOW - timedelta(days=60))
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(_settings(purge_interval_seconds=0.2), platform, {}, relay=False, purge=True, stop=stop)
    )
    try:

        async def gone() -> bool:
            return not await _left(db, platform.inbox.c.event_id, [expired])

        await wait_for(gone, timeout=30)
        again = await _inbox(db, NOW - timedelta(days=60))  # a later round takes rows that expired since

        async def gone_again() -> bool:
            return not await _left(db, platform.inbox.c.event_id, [again])

        await wait_for(gone_again, timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
