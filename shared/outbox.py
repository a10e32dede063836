"""The outbox relay (发件箱中继): publishes committed outbox rows to Kafka, then marks them sent.

One relay per service. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so a second relay started by mistake (or
during a rolling deploy) never publishes the same row concurrently. A crash between publishing and marking sends the
batch again on restart: delivery is at least once, and consumers' inboxes make the effect exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Sequence
from operator import itemgetter

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Counter
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import PlatformTables
from shared.kafka import partition_for
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
        self._headers: dict[str, list[tuple[str, bytes]]] = {}
        # Fault injection for the backbone tests only: die after publishing, before the claim (the mark) commits.
        self._failpoint = os.environ.get("RELAY_FAILPOINT")

    @functools.cached_property
    def _claim(self) -> str:
        # Claim, mark and read a batch in one statement: the mark only holds if the transaction commits, which it
        # does after Kafka has acknowledged every row, so a failed publish leaves the rows unsent. The payload
        # goes out as the stored JSON text: decoding and re-encoding it would cost CPU for nothing.
        outbox = self.outbox.fullname
        return (
            f"UPDATE {outbox} SET sent_at = now() WHERE id IN (SELECT id FROM {outbox} WHERE sent_at IS NULL "
            "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, topic, key, type, payload::text"
        )

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        async with self.engine.begin() as conn:
            # RETURNING comes in no particular order; Kafka must see each key's events in the order written.
            rows = sorted((await conn.exec_driver_sql(self._claim, (self.batch_size,))).all(), key=itemgetter(0))
            if not rows:
                return 0
            await self._publish(rows)
            if self._failpoint == "after_publish":
                log.error("RELAY_FAILPOINT=after_publish: exiting before the claim of %d rows commits", len(rows))
                os._exit(137)
        PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _publish(self, rows: Sequence[Row]) -> None:
        """Produce the rows and wait until Kafka has acknowledged all of them.

        Records are appended to one batch per partition (aiokafka's batch API: half the CPU of a `send` per record)
        and partitioned by key exactly as `send` would, so a key's events stay on one partition, in order."""
        builders: dict[tuple[str, int], BatchBuilder] = {}
        partitions_of: dict[str, list[int]] = {}
        # An aggregate's events of one batch share its key (a bulk step writes several per household): hashed once.
        targets: dict[tuple[str, str], tuple[str, int]] = {}
        acks = []
        for _, topic, key, type_, payload in rows:
            key_bytes = key.encode()
            target = targets.get((topic, key))
            if target is None:
                partitions = partitions_of.get(topic) or partitions_of.setdefault(
                    topic, sorted(await self.producer.partitions_for(topic))
                )
                target = targets[(topic, key)] = (topic, partition_for(key_bytes, partitions))
            headers = self._headers.get(type_) or self._headers.setdefault(
                type_, [("ce_type", type_.encode()), ("content-type", b"application/cloudevents+json")]
            )
            record = {"key": key_bytes, "value": payload.encode(), "timestamp": None, "headers": headers}
            builder = builders.get(target)
            if builder is None or builder.append(**record) is None:  # a full batch goes out, a new one starts
                if builder is not None:
                    acks.append(await self.producer.send_batch(builder, target[0], partition=target[1]))
                # A new batch always takes its first record, whatever its size (the broker judges that).
                builders[target] = self.producer.create_batch()
                builders[target].append(**record)
        for (topic, partition), builder in builders.items():
            builder.close()  # complete (a full one closed itself): sent at once, without the producer's linger
            acks.append(await self.producer.send_batch(builder, topic, partition=partition))
        await asyncio.gather(*acks)

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
            await conn.add_listener(outbox_channel(self.outbox.schema or "public"), lambda *_: self._wakeup.set())
            return conn
        except Exception:
            log.warning("outbox relay could not LISTEN; falling back to polling", exc_info=True)
            return None


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
