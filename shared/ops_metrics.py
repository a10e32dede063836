"""Operations signals (运维指标) for the event flow, computed when Prometheus scrapes an API's `/metrics`
(mounted by `shared/app.py`).

Workers have no HTTP server, and their state is in PostgreSQL and Kafka anyway, so each API reports its service's
flow from there at scrape time:

- `outbox_unsent_events`, `outbox_oldest_unsent_age_seconds`: the service's outbox backlog (rows not yet relayed);
- `consumer_lag_events{group, topic, partition}`: for each consumer group of the service (groups are named
  `<service>.<name>`), the events on the topic not yet committed by the group;
- `dead_letter_messages{topic}`: messages held in the `<topic>.dlq` of each topic the service consumes;
- the service's own gauges, registered with `shared.app.add_database_gauges` (e.g. payments' unreconciled batches);
- `ops_metrics_source_up{source}`: 1 if the source (`database`, `kafka`, or a gauge's name) answered this scrape.

A scrape never hangs nor fails on an outage: each source gets `metrics_timeout_seconds`, queries are bounded by a
statement timeout, and a source that does not answer is reported as down (its figures left out) with a 200."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Executable, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"
# The names the alert rules and the Grafana dashboard (deploy/k8s/base) are written against.
OUTBOX_UNSENT = "outbox_unsent_events"
OUTBOX_OLDEST_AGE = "outbox_oldest_unsent_age_seconds"
CONSUMER_LAG = "consumer_lag_events"
DEAD_LETTERS = "dead_letter_messages"
SOURCE_UP = "ops_metrics_source_up"
FLOW_METRICS = (OUTBOX_UNSENT, OUTBOX_OLDEST_AGE, CONSUMER_LAG, DEAD_LETTERS, SOURCE_UP)


@dataclass(frozen=True)
class DatabaseGauge:
    """A service's own gauge, read from its database at each scrape.

    `query` returns one row per series: one column per name in `labels` and a numeric `value` column. Keep it
    cheap (an indexed aggregate): it runs on every scrape of every API replica, under the statement timeout."""

    name: str
    documentation: str
    query: Executable
    labels: tuple[str, ...] = ()


@dataclass(eq=False)  # hashable by identity: the registry keys collectors by it
class _Scrape(Collector):
    """The families of one scrape, gathered from the sources before the text is rendered."""

    service: str
    families: list[Metric] = field(default_factory=list)
    up: dict[str, bool] = field(default_factory=dict)

    def gauge(
        self, name: str, documentation: str, labels: Sequence[str], samples: Iterable[tuple[Sequence[str], float]]
    ) -> None:
        family = GaugeMetricFamily(name, documentation, labels=["service", *labels])
        for values, value in samples:
            family.add_metric([self.service, *(str(v) for v in values)], float(value))
        self.families.append(family)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(SOURCE_UP, "1 if the source answered this scrape in time", labels=["service", "source"])
        for source, ok in sorted(self.up.items()):
            up.add_metric([self.service, source], 1.0 if ok else 0.0)
        return [*self.families, up]


class FlowMetrics:
    """One API's scrape-time view of its service's event flow. The Kafka clients are kept between scrapes
    (connecting costs more than the queries) and dropped after any failure, so the next scrape starts afresh."""

    def __init__(self, *, service: str, outbox: Table, bootstrap: str, timeout: float) -> None:
        self.service = service
        self.outbox = outbox
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._kafka: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None
        self._lock = asyncio.Lock()

    async def scrape(self, engine: AsyncEngine, gauges: Sequence[DatabaseGauge]) -> bytes:
        scrape = _Scrape(self.service)
        await asyncio.gather(
            self._bounded("database", self._database(scrape, engine, gauges), scrape),
            self._bounded("kafka", self._kafka_flow(scrape), scrape),
        )
        registry = CollectorRegistry(auto_describe=False)
        registry.register(scrape)
        return generate_latest(registry)

    async def close(self) -> None:
        async with self._lock:
            await self._drop_kafka()

    async def _bounded(self, source: str, work: Coroutine[object, object, None], scrape: _Scrape) -> None:
        try:
            await asyncio.wait_for(work, self.timeout)
            scrape.up[source] = True
        except Exception as exc:
            log.warning("metrics: %s did not answer in time: %r", source, exc)
            scrape.up[source] = False
            if source == "kafka":
                await self._drop_kafka()

    # --- PostgreSQL ---------------------------------------------------------------------------------

    async def _database(self, scrape: _Scrape, engine: AsyncEngine, gauges: Sequence[DatabaseGauge]) -> None:
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(int(self.timeout * 1000))}
            )
            t = self.outbox
            # Only unsent rows are read, through the partial index the relay itself uses.
            unsent, oldest = (
                await conn.execute(
                    select(
                        func.count(),
                        func.coalesce(func.extract("epoch", func.clock_timestamp() - func.min(t.c.created_at)), 0),
                    ).where(t.c.sent_at.is_(None))
                )
            ).one()
            scrape.gauge(OUTBOX_UNSENT, "Outbox rows committed but not yet published to Kafka", (), [((), unsent)])
            scrape.gauge(OUTBOX_OLDEST_AGE, "Age of the oldest unpublished outbox row (0 if none)", (), [((), oldest)])
            for gauge in gauges:
                scrape.up[gauge.name] = await self._database_gauge(conn, scrape, gauge)

    async def _database_gauge(self, conn: AsyncConnection, scrape: _Scrape, gauge: DatabaseGauge) -> bool:
        # A savepoint per gauge: one broken query must not take the others (or the outbox figures) with it.
        try:
            async with conn.begin_nested():
                rows = (await conn.execute(gauge.query)).mappings().all()
        except Exception as exc:
            log.warning("metrics: gauge %s failed: %s", gauge.name, exc)
            return False
        scrape.gauge(
            gauge.name,
            gauge.documentation,
            gauge.labels,
            [([row[label] for label in gauge.labels], row["value"] or 0) for row in rows],
        )
        return True

    # --- Kafka --------------------------------------------------------------------------------------

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        async with self._lock:
            if self._kafka is None:
                timeout_ms = int(self.timeout * 1000)
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.bootstrap, client_id=f"{self.service}-metrics", request_timeout_ms=timeout_ms
                )
                # No group: this consumer only reads partition metadata and offsets, it never fetches.
                offsets = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap,
                    client_id=f"{self.service}-metrics",
                    enable_auto_commit=False,
                    isolation_level="read_committed",
                    request_timeout_ms=timeout_ms,
                )
                self._kafka = (admin, offsets)  # set first, so a failed start is still closed
                await admin.start()
                await offsets.start()
            return self._kafka

    async def _drop_kafka(self) -> None:
        clients, self._kafka = self._kafka, None
        for client in clients or ():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close() if isinstance(client, AIOKafkaAdminClient) else client.stop(), 2)

    async def _kafka_flow(self, scrape: _Scrape) -> None:
        admin, offsets = await self._clients()
        groups = sorted(
            g[0]
            for g in await admin.list_consumer_groups()
            if isinstance(g[0], str) and g[0].startswith(f"{self.service}.")
        )
        committed = dict(
            zip(groups, await asyncio.gather(*(admin.list_consumer_group_offsets(g) for g in groups)), strict=True)
        )
        consumed = sorted({tp.topic for offsets_of in committed.values() for tp in offsets_of})
        described = await admin.describe_topics([*consumed, *(t + DLQ_SUFFIX for t in consumed)]) if consumed else []
        # A topic that does not exist (a DLQ not created yet) comes back with an error code and no partitions.
        partitions = {
            d["topic"]: [
                TopicPartition(d["topic"], p["partition"])
                for p in sorted(d["partitions"], key=lambda p: p["partition"])
            ]
            for d in described
        }
        every = [tp for tps in partitions.values() for tp in tps]
        ends = await offsets.end_offsets(every) if every else {}
        starts = await offsets.beginning_offsets(every) if every else {}

        lag = []
        for group, offsets_of in committed.items():
            for topic in sorted({tp.topic for tp in offsets_of}):
                for tp in partitions.get(topic, ()):
                    # A partition the group never committed is read from its start (auto_offset_reset=earliest).
                    position = offsets_of[tp].offset if tp in offsets_of and offsets_of[tp].offset >= 0 else starts[tp]
                    lag.append(((group, topic, tp.partition), max(ends[tp] - position, 0)))
        scrape.gauge(
            CONSUMER_LAG,
            "Events on the topic the consumer group has not yet committed",
            ("group", "topic", "partition"),
            lag,
        )
        dead = [
            ((topic,), sum(ends[tp] - starts[tp] for tp in partitions[topic]))
            for topic in sorted(partitions)
            if topic.endswith(DLQ_SUFFIX) and partitions[topic]
        ]
        scrape.gauge(
            DEAD_LETTERS, "Messages held in a dead-letter topic of a topic the service consumes", ("topic",), dead
        )
