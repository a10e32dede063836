"""The outbox relay (发件箱中继): publishes committed outbox rows to Kafka, then marks them sent.

One relay per service. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so a second relay started by mistake (or
during a rolling deploy) never publishes the same row concurrently. A crash between publishing and marking sends the
batch again on restart: delivery is at least once, and consumers' inboxes make the effect exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import PlatformTables
from shared.uow import outbox_channel

log = logging.getLogger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox events published to Kafka", ["service"])
RELAY_ERRORS = Counter("outbox_relay_errors_total", "Failed relay rounds (retried)", ["service"])


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        tables: PlatformTables,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.outbox = tables.outbox
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()
        # Fault injection for the backbone tests only: die after publishing, before marking rows sent.
        self._failpoint = os.environ.get("RELAY_FAILPOINT")

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        t = self.outbox
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    # The payload goes out as the stored JSON text: decoding and re-encoding it costs CPU for nothing.
                    select(t.c.id, t.c.topic, t.c.key, t.c.type, cast(t.c.payload, Text).label("payload"))
                    .where(t.c.sent_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            deliveries = [
                await self.producer.send(
                    row.topic,
                    value=row.payload.encode(),
                    key=row.key.encode(),
                    headers=[("ce_type", row.type.encode()), ("content-type", b"application/cloudevents+json")],
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
            if self._failpoint == "after_publish":
                log.error("RELAY_FAILPOINT=after_publish: exiting before marking %d rows sent", len(rows))
                os._exit(137)
            await conn.execute(update(t).where(t.c.id.in_([r.id for r in rows])).values(sent_at=func.now()))
        PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._listen()
        try:
            while not stop.is_set():
                try:
                    published = await self.relay_once()
                except Exception:
                    RELAY_ERRORS.labels(self.service).inc()
                    log.exception("outbox relay round failed; retrying")
                    published = 0
                    await sleep_or_stop(stop, 1.0)
                if published >= self.batch_size:
                    continue  # more may be waiting: drain before sleeping
                if published == 0:
                    self._wakeup.clear()
                    # NOTIFY wakes us at once; the poll is a safety net for notifications lost while reconnecting.
                    waiters = [asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())]
                    _, pending = await asyncio.wait(
                        waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
                    for p in pending:
                        p.cancel()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(self.engine.url.render_as_string(hide_password=False)))
            await conn.add_listener(
                outbox_channel(self.outbox.schema or "public"), lambda *_: self._wakeup.set()
            )
            return conn
        except Exception:
            log.warning("outbox relay could not LISTEN; falling back to polling", exc_info=True)
            return None


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
