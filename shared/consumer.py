"""The consumer runner (收件箱): applies each event's effect exactly once.

- auto-commit off, `earliest` for a new group, so nothing is skipped;
- the effect and the `inbox` row (event id) are written in one transaction, so a redelivered event is recognised
  and skipped;
- offsets are committed only after the database commit, so a crash in between means redelivery, never loss;
- a rebalance waits for the batch in hand to be committed before partitions move;
- transient errors (database or broker briefly unreachable, serialization failures) are retried in place;
- a poison message (not a CloudEvent, data not matching the catalogue, or a handler that refuses it) goes to
  `<topic>.dlq` with the error, and the consumer goes on with the next;
- each message is decoded and validated once, envelope and data together (`typed_envelope`);
- a set-based handler (`on_batch`) receives every new event of a run of the types it is registered for at once
  (registered for several, it takes each in its order), so bulk work is a few statements per batch rather than a
  few per event; if the batch fails it is retried event by event, so only the bad event reaches the DLQ.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from pydantic import ValidationError, create_model

from shared.context import correlation_id
from shared.events.catalogue import EventData, spec_for
from shared.events.envelope import CloudEvent
from shared.kafka import start_with_retry
from shared.observability import redact
from shared.transient import is_transient
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

CONSUMED = Counter("events_consumed_total", "Events applied", ["consumer", "type"])
DUPLICATES = Counter("events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
DEAD_LETTERED = Counter("events_dead_lettered_total", "Poison events sent to the DLQ", ["consumer"])
RETRIES = Counter("events_transient_retries_total", "Transient failures retried in place", ["consumer"])

Handler = Callable[[UnitOfWork, CloudEvent, EventData], Awaitable[None]]

# Room for a full batch (500 events of up to ~8 kB) from one partition in one fetch.
PARTITION_FETCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """A new event handed to a set-based handler: its envelope (id, correlation id, region) and its typed data."""

    event: CloudEvent
    data: Any


@dataclass(frozen=True)
class BatchHandler:
    """A set-based handler: called once per run of consecutive new events it is registered for (equal handlers are
    one: `on_batch(f)` for several types takes a run mixing them), in partition order."""

    apply: Callable[[UnitOfWork, Sequence[Delivery]], Awaitable[object]]


Handlers = dict[str, Handler | BatchHandler]


def on_batch(apply: Callable[[UnitOfWork, Sequence[Delivery]], Awaitable[object]]) -> BatchHandler:
    """Register a service function that applies many events with a few set-based statements."""
    return BatchHandler(apply)


def on_data(apply: Callable[[UnitOfWork, Any], Awaitable[object]]) -> Handler:
    """A Handler for a service function that needs only the unit of work and the event's data."""

    async def handler(uow: UnitOfWork, _event: CloudEvent, data: EventData) -> None:
        await apply(uow, data)

    return handler


class PoisonMessage(Exception):
    """A message that can never be applied; it goes to the DLQ."""


@dataclass
class _Parsed:
    record: ConsumerRecord
    event: CloudEvent | None = None
    data: EventData | None = None
    error: str | None = None


@functools.cache
def typed_envelope(event_type: str) -> type[CloudEvent]:
    """The CloudEvent model whose `data` is the catalogue's schema for `event_type`: one validation pass checks
    the envelope and the data together, instead of validating the data a second time as a dict."""
    data = spec_for(event_type).data
    return create_model(f"CloudEvent_{data.__name__}", __base__=CloudEvent, data=(data, ...))


@functools.cache
def _inbox_insert(inbox: str) -> str:
    return (
        f"INSERT INTO {inbox} (event_id, topic, type, consumer) SELECT *, $2::text "
        "FROM unnest($1::uuid[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING RETURNING event_id"
    )


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None


class _CommitBeforeRevoke(ConsumerRebalanceListener):
    """Partitions are only handed over once the batch in hand is applied and its offsets committed."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self.lock = lock

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        async with self.lock:
            pass

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        pass


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handlers: Handlers,
        uow_factory: Callable[[], UnitOfWork],
        bootstrap: str,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
    ) -> None:
        self.name = name
        self.topics = list(topics)
        self.handlers = handlers
        self.uow_factory = uow_factory
        self.bootstrap = bootstrap
        self.producer = producer
        self.batch_size = batch_size
        self._lock = asyncio.Lock()

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.batch_size,
            # A batch is one partition's records (see run): the default 1 MiB per partition holds ~370 events of
            # intake's ~2.8 kB, so getmany mixed two partitions' leftovers and transactions averaged ~200 events.
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        )

    async def run(self, stop: asyncio.Event) -> None:
        consumer = await start_with_retry(self._make_consumer, stop, f"consumer {self.name}")
        if consumer is None:
            return
        consumer.subscribe(self.topics, listener=_CommitBeforeRevoke(self._lock))
        try:
            while not stop.is_set():
                try:
                    batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                except KafkaError:
                    log.warning("consumer %s: fetch failed; retrying", self.name, exc_info=True)
                    await asyncio.sleep(0.5)
                    continue
                if not batches:
                    continue
                # Every partition's records of one fetch in one transaction and one offset commit: per partition,
                # six small transactions ran one after the other, and the last partition's events waited for all.
                async with self._lock:
                    await self.process([r for records in batches.values() for r in records], stop)
                    await self._commit(consumer, {tp: records[-1].offset + 1 for tp, records in batches.items()}, stop)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int], stop: asyncio.Event
    ) -> None:
        # Bounded: a rebalance waits for this (see _CommitBeforeRevoke), so retrying forever could deadlock it.
        # An offset not committed only means redelivery, which the inbox absorbs.
        for attempt in range(5):
            offsets = {tp: offset for tp, offset in offsets.items() if tp in consumer.assignment()}
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
                return
            except KafkaError as exc:
                if stop.is_set() or attempt == 4:
                    log.warning("consumer %s: offset commit for %s abandoned: %s", self.name, list(offsets), exc)
                    return
                RETRIES.labels(self.name).inc()
                await asyncio.sleep(0.5)

    def _parse(self, record: ConsumerRecord) -> _Parsed:
        # The relay names the type in a header, so the typed model decodes and validates the bytes in one pass;
        # without it (other producers) the JSON is decoded once to read the type.
        declared = _header(record, "ce_type")
        raw: Any = record.value
        if declared is None:
            try:
                raw = orjson.loads(record.value)
            except orjson.JSONDecodeError as exc:
                return _Parsed(record, error=f"not a CloudEvent: not JSON ({exc})")
            declared = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(declared, str):
                return _Parsed(record, error="not a CloudEvent: no type")
        if declared not in self.handlers:
            return _Parsed(record)  # not for us: acknowledged without effect
        try:
            model = typed_envelope(declared)
            event = model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
        except KeyError as exc:
            return _Parsed(record, error=f"data does not match {declared}: {exc}")
        except ValidationError as exc:
            errors = exc.errors()
            if all(e["loc"] and e["loc"][0] == "data" for e in errors):
                return _Parsed(record, error=f"data does not match {declared}: {errors[:3]}")
            return _Parsed(record, error=f"not a CloudEvent: {errors[:3]}")
        if event.type != declared:
            return _Parsed(record, error=f"not a CloudEvent: header type {declared} but type {event.type}")
        return _Parsed(record, event=event, data=event.data)

    async def process(self, records: Sequence[ConsumerRecord], stop: asyncio.Event | None = None) -> None:
        """Apply a fetch's records (each partition's in its order): all in one transaction, or one by one if any
        handler refuses."""
        parsed = [self._parse(r) for r in records]
        for p in parsed:
            if p.error:
                await self._dead_letter(p.record, p.error)
        todo = [p for p in parsed if p.data is not None]
        if not todo:
            return
        try:
            await self._retrying(lambda: self._apply(todo), stop)
        except PoisonMessage:
            for p in todo:
                try:
                    await self._retrying(lambda p=p: self._apply([p]), stop)
                except PoisonMessage as exc:
                    await self._dead_letter(p.record, str(exc.__cause__ or exc))

    async def _retrying(self, attempt: Callable[[], Awaitable[None]], stop: asyncio.Event | None) -> None:
        delay = 0.2
        while True:
            try:
                await attempt()
                return
            except PoisonMessage:
                raise
            except Exception as exc:
                if not is_transient(exc) or (stop is not None and stop.is_set()):
                    raise
                RETRIES.labels(self.name).inc()
                log.warning("consumer %s: transient failure, retrying in %.1fs: %s", self.name, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _apply(self, batch: list[_Parsed]) -> None:
        async with self.uow_factory() as uow:
            ids = {p.event.id: p for p in batch if p.event is not None}
            connection = await uow.session.connection()
            # One statement whatever the batch size, its rows as arrays: nothing for SQLAlchemy to render per batch.
            new_ids = {
                row[0]
                for row in await connection.exec_driver_sql(
                    _inbox_insert(uow.tables.inbox.fullname),
                    (
                        list(ids),
                        self.name,
                        [p.record.topic for p in ids.values()],
                        [p.event.type for p in ids.values()],
                    ),
                )
            }  # type: ignore[union-attr]
            seen: set = set()
            fresh: list[_Parsed] = []
            for p in batch:
                assert p.event is not None and p.data is not None
                if p.event.id not in new_ids or p.event.id in seen:
                    DUPLICATES.labels(self.name).inc()
                    continue
                seen.add(p.event.id)
                fresh.append(p)
            # Consecutive events for one handler form a run (a set-based handler registered for several types, such
            # as a case's opening and approval mirrored on its application, takes them together, each applied in
            # its order); runs are applied in partition order, so one household's events still take effect in the
            # order they happened.
            for handler, run in itertools.groupby(fresh, key=lambda p: self.handlers[p.event.type]):
                await self._handle(uow, handler, list(run))
            try:
                await uow.commit()
            except Exception as exc:
                # A write the handlers deferred to the commit can be refused too (a constraint): the batch is then
                # retried event by event like any refusal, so only the event whose writes break it is dead-lettered.
                if is_transient(exc):
                    raise
                log.warning("consumer %s: commit of %d events refused: %s", self.name, len(batch), exc)
                raise PoisonMessage(str(exc)) from exc

    async def _handle(self, uow: UnitOfWork, handler: Handler | BatchHandler, run: list[_Parsed]) -> None:
        if isinstance(handler, BatchHandler):
            deliveries = [Delivery(p.event, p.data) for p in run]  # type: ignore[arg-type]
            await self._call(run[0], lambda: handler.apply(uow, deliveries), len(run))
        else:
            for p in run:
                await self._call(p, lambda p=p: handler(uow, p.event, p.data), 1)  # type: ignore[misc]
        for etype, count in collections.Counter(p.event.type for p in run).items():  # type: ignore[union-attr]
            CONSUMED.labels(self.name, etype).inc(count)

    async def _call(self, first: _Parsed, call: Callable[[], Awaitable[object]], count: int) -> None:
        assert first.event is not None
        token = correlation_id.set(first.event.correlationid)
        try:
            await call()
        except Exception as exc:
            if is_transient(exc):
                raise
            what = first.event.id if count == 1 else f"(a run of {count} from {first.event.id})"
            log.warning("consumer %s: %s %s refused: %s", self.name, first.event.type, what, exc)
            raise PoisonMessage(str(exc)) from exc
        finally:
            correlation_id.reset(token)

    async def _dead_letter(self, record: ConsumerRecord, error: str) -> None:
        DEAD_LETTERED.labels(self.name).inc()
        log.error(
            "consumer %s: dead-lettering %s[%d]@%d: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            error[:500],
        )
        headers = [
            ("dlq.error", redact(error)[:2000].encode()),
            ("dlq.consumer", self.name.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        ]
        while True:
            try:
                await (
                    await self.producer.send(f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers)
                )
                return
            except KafkaError:
                RETRIES.labels(self.name).inc()
                await asyncio.sleep(0.5)
