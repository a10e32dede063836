"""Event backbone benchmark: outbox → relay → Kafka → consumer/inbox → effect, against two baselines.

    PYTHONPATH=. .venv/bin/python bench/event_backbone.py [--events 100000] [--consumer-processes 1]

One run brings up a throwaway PostgreSQL 15 and single-node Kafka (deploy/local/infra.py) and measures, on the
same broker and database:

* **pipeline** - N events written through `UnitOfWork.emit` + `commit` by several concurrent writers
  (business transactions of `--per-tx` events each), published by the kit's `OutboxRelay`, applied by the kit's
  `EventConsumer` with a handler that inserts one effect row per event (inbox + effects in one transaction per
  fetch). The worker is `shared.worker.main` itself: relay plus `--consumer-processes` consumer
  processes forked by the kit (`BENCH_CONSUMER_PROCESSES`), as a service's worker runs in production.
* **bare** - the same database work with no framework: bare asyncpg + aiokafka. Writers insert the same outbox
  rows (same CloudEvent JSON, same transactions of `--per-tx` by `--writers`), a relay claims and marks unsent
  rows in one `UPDATE … RETURNING` (`FOR UPDATE SKIP LOCKED`) and produces them as the kit's relay does (aiokafka's
  batch API, one batch per partition; idempotent, acks=all), consumers (manual offset commit, read_committed)
  insert the inbox rows and the effect rows in one transaction per fetch. The ceiling of *this work*
  on this machine, by the same techniques as the kit: pipeline / bare is the kit's own overhead.
* **ceiling** - the same N CloudEvent payloads produced with raw aiokafka (`send` per message, as when the issue
  first measured it, so the ratio stays comparable) and consumed with manual offset commits, no database at all:
  the physical limit of the broker and client on this machine.
* **paced** - pipeline and bare again at an offered `--paced-rate` (default 1,000 events/s) for
  `--paced-events`: latency when the backbone is not saturated.

All report events/s from the first write (send) to the last effect (offset) committed, and per-event latency
p50/p99 from the event's `time` to just after the commit that made its effect durable. The saturated runs are
unpaced (writers go as fast as they can) unless `--rate` is given, so there latency mostly measures backlog.

Writers (the API side) run in this process; relays and consumers in subprocesses, each of which appends
(event time, commit time) pairs to its own file, so any number of consumer processes can be measured alike.
PostgreSQL and the Kafka JVM share the same cores, so the CPU seconds of every participant are reported too.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import struct
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, event, func, insert, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.measure import infra_module, percentile, process_cpu, tree_cpu
from shared.consumer import Delivery, on_batch
from shared.core.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.db import PlatformTables, create_engine, platform_triggers_sql, service_metadata, session_factory
from shared.events.catalogue import CATALOGUE, PREFIX, EventData, EventSpec, Topic
from shared.events.envelope import CloudEvent, DomainEvent
from shared.kafka import make_producer, partition_for
from shared.outbox import asyncpg_dsn
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork, outbox_channel

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "event_backbone.json"
LOG_DIR = REPO / ".local" / "bench-logs" / "event_backbone"

SCHEMA = "bench"  # the pipeline's tables (outbox, inbox, audit_log, effects)
BARE_SCHEMA = "bench_bare"  # the same tables for the bare baseline
PIPELINE_TOPIC = "bench.events"
BARE_TOPIC = "bench.bare"
CEILING_TOPIC = "bench.ceiling"
PIPELINE_GROUP, BARE_GROUP, CEILING_GROUP = "bench-effects", "bench-bare", "bench-ceiling"
SOURCE = "/services/bench"
SENT_AT_HEADER = "bench.sent_at"

log = logging.getLogger("bench")


# --- the bench event, registered in the catalogue at runtime -----------------------------------------------


class BenchPaymentIssued(EventData):
    """Benchmark only: a monthly payment to a household, carrying the snapshot it was computed from."""

    household_id: uuid.UUID
    region_code: str
    amount_fen: int
    period: str
    snapshot: HouseholdSnapshot


def register_bench_event() -> str:
    """Add the bench type to the catalogue (in every process): `UnitOfWork.emit` and the consumer need it."""
    spec = EventSpec(
        type=f"{PREFIX}.bench.payment_issued.v1",
        # The catalogue's topics are an enum of real topics; the bench topic is deliberately not one of them.
        topic=cast(Topic, PIPELINE_TOPIC),
        data=BenchPaymentIssued,
        description="benchmark event",
    )
    CATALOGUE.setdefault(spec.type, spec)
    return spec.type


def bench_tables(schema: str) -> tuple[MetaData, PlatformTables, Table]:
    metadata = service_metadata(schema)
    tables = PlatformTables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("household_id", UUID(as_uuid=True), nullable=False),
        Column("amount_fen", Integer, nullable=False),
        # Insert time, for eyeballing only: the latency figures use the time after commit, measured in Python.
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    )
    return metadata, tables, effects


METADATA, TABLES, EFFECTS = bench_tables(SCHEMA)
BARE_METADATA, BARE_TABLES, BARE_EFFECTS = bench_tables(BARE_SCHEMA)
INSERT_EFFECT = insert(EFFECTS)


class EventFactory:
    """Realistic event data without paying for snapshot construction in the timed loop: a service emitting a
    payment already holds the household it pays, so a pool of households is built up front."""

    SURNAMES = "王李张刘陈杨黄赵吴周"
    GIVEN = ("秀英", "桂兰", "建国", "志强", "海燕", "玉兰", "德明", "春梅")

    def __init__(self, households: int = 2000, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.snapshots: list[HouseholdSnapshot] = []
        for _ in range(households):
            member_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            self.snapshots.append(
                HouseholdSnapshot(
                    household_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    region_code=f"5301{rng.randrange(10, 30)}{rng.randrange(1, 20):03d}{rng.randrange(100, 300)}",
                    hukou_type=rng.choice(("urban", "rural")),
                    members=[
                        MemberFacts(
                            member_id=member_id,
                            name=rng.choice(self.SURNAMES) + rng.choice(self.GIVEN),
                            birth_date=date(rng.randrange(1940, 2005), rng.randrange(1, 13), rng.randrange(1, 29)),
                            sex=rng.choice(("male", "female")),
                            relation="head",
                        )
                    ],
                    incomes=[
                        IncomeItem(
                            member_id=member_id,
                            kind="transfer",
                            subkind="basic_pension",
                            monthly_amount_fen=rng.randrange(10000, 30000),
                        )
                    ],
                )
            )
        # What a hand-written service holds for the same households: plain JSON-ready dicts.
        self.snapshot_dicts = [s.model_dump(mode="json") for s in self.snapshots]

    def make(self, i: int) -> BenchPaymentIssued:
        snap = self.snapshots[i % len(self.snapshots)]
        return BenchPaymentIssued(
            household_id=snap.household_id,
            region_code=snap.region_code,
            amount_fen=50000 + i % 997,
            period="2025-06",
            snapshot=snap,
        )

    def make_bare(self, i: int, event_type: str, correlation_id: str) -> tuple[str, str, str]:
        """(event id, key, CloudEvent JSON) built by hand: the bytes `UnitOfWork.flush_events` stores, with no
        model in between."""
        snap = self.snapshot_dicts[i % len(self.snapshot_dicts)]
        event_id, key = str(uuid.uuid4()), snap["household_id"]
        payload = {
            "specversion": "1.0",
            "id": event_id,
            "source": SOURCE,
            "type": event_type,
            "subject": key,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "dataschema": f"urn:cn.gov.mca.assistance:schema:{event_type}",
            "region": snap["region_code"],
            "correlationid": correlation_id,
            "data": {
                "household_id": key,
                "region_code": snap["region_code"],
                "amount_fen": 50000 + i % 997,
                "period": "2025-06",
                "snapshot": snap,
            },
        }
        return event_id, key, orjson.dumps(payload).decode()


# --- latency log: every consumer process appends (event time, commit time) pairs ---------------------------


class LatencyLog:
    """One file per process (`lat-<pid>.bin`, native doubles), appended once per committed batch: the driver
    counts progress from file sizes and reads the figures at the end, whatever the number of processes."""

    PAIR = struct.calcsize("dd")

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self._pid = -1
        self._file: Any = None

    def committed(self, event_times: Sequence[float]) -> None:
        now = time.time()
        if self._pid != os.getpid():  # forked consumer processes each open their own file
            self._pid = os.getpid()
            self._file = open(self.directory / f"lat-{self._pid}.bin", "ab", buffering=0)  # noqa: SIM115
        pairs = array.array("d")
        for t in event_times:
            pairs.append(t)
            pairs.append(now)
        self._file.write(pairs.tobytes())

    @classmethod
    def count(cls, directory: Path) -> int:
        return sum(p.stat().st_size for p in directory.glob("lat-*.bin")) // cls.PAIR

    @classmethod
    def read(cls, directory: Path) -> tuple[list[float], float]:
        """Latencies (s), sorted, and the last commit time."""
        pairs = array.array("d")
        for p in directory.glob("lat-*.bin"):
            pairs.frombytes(p.read_bytes())
        latencies = sorted(pairs[i + 1] - pairs[i] for i in range(0, len(pairs), 2))
        return latencies, max(pairs[1::2], default=0.0)


# --- pipeline worker: the kit's worker (relay + N consumer processes) --------------------------------------


class BenchSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BENCH_", extra="ignore", env_file=None)
    service_name: str = "bench"


LATENCY: LatencyLog | None = None


def _note_durable(uow: UnitOfWork, event_times: Sequence[float]) -> None:
    """Record the events' latency once the consumer's transaction has committed (the handler cannot see the
    commit, so it hooks the session's after_commit): a rolled-back batch records nothing."""
    info = uow.session.info
    pending = info.get("bench.times")
    if pending is None:
        pending = info["bench.times"] = []
        event.listen(
            uow.session.sync_session, "after_commit", lambda _session: LATENCY.committed(pending) if LATENCY else None
        )
    pending.extend(event_times)


async def apply_effect(uow: UnitOfWork, event_: CloudEvent, data: EventData) -> None:
    """`--handler row`: one effect row per event, one statement per event, as one-by-one handlers do."""
    assert isinstance(data, BenchPaymentIssued)
    # A prebuilt statement plus parameters: building `insert(...).values(...)` per event costs ~0.1 ms more.
    await uow.session.execute(
        INSERT_EFFECT, {"event_id": event_.id, "household_id": data.household_id, "amount_fen": data.amount_fen}
    )
    _note_durable(uow, [event_.time.timestamp()])


async def apply_effects(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """`--handler set` (default): the kit's `on_batch`, one INSERT of every effect of the run, as the hot
    handlers of the services now work."""
    await uow.session.execute(
        INSERT_EFFECT,
        [
            {"event_id": d.event.id, "household_id": d.data.household_id, "amount_fen": d.data.amount_fen}
            for d in deliveries
        ],
    )
    _note_durable(uow, [d.event.time.timestamp() for d in deliveries])


def run_pipeline_worker(args: argparse.Namespace) -> int:
    global LATENCY
    from shared.worker import main as worker_main

    event_type = register_bench_event()
    LATENCY = LatencyLog(args.latency_dir)
    handler = on_batch(apply_effects) if args.handler == "set" else apply_effect
    consumers = {PIPELINE_GROUP: ([PIPELINE_TOPIC], {event_type: handler})}
    settings = BenchSettings()  # BENCH_* and DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS from the driver
    profiler = None
    if args.profile:
        from pyinstrument import Profiler  # optional: pip install pyinstrument into .venv

        profiler = Profiler(async_mode="enabled")
        profiler.start()
    worker_main(settings, TABLES, consumers)
    if profiler is not None:
        profiler.stop()
        out = RESULTS.parent / "profile-pipeline-worker.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=True, show_all=False))
    return 0


# --- bare worker: asyncpg + aiokafka, no kit -----------------------------------------------------------------


async def bare_relay(pool: asyncpg.Pool, dsn: str, args: argparse.Namespace, stop: asyncio.Event) -> None:
    """The outbox relay's work by hand, with the kit's technique: claim + mark unsent rows in one statement,
    produce them with aiokafka's batch API (one batch per partition, key-partitioned as `send` would), commit."""
    batch, poll_s = args.relay_batch, args.relay_poll
    producer = make_producer(args.bootstrap, "bench-bare-relay")  # idempotent, acks=all
    await producer.start()
    wakeup = asyncio.Event()
    listener = await asyncpg.connect(dsn)
    await listener.add_listener(outbox_channel(BARE_SCHEMA), lambda *_: wakeup.set())
    claim = (
        f"UPDATE {BARE_SCHEMA}.outbox SET sent_at = now() WHERE id IN (SELECT id FROM {BARE_SCHEMA}.outbox "
        "WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, topic, key, type, payload::text"
    )
    headers_of: dict[str, list[tuple[str, bytes]]] = {}
    try:
        while not stop.is_set():
            async with pool.acquire() as conn, conn.transaction():
                rows = sorted(await conn.fetch(claim, batch), key=lambda r: r[0])
                builders: dict[tuple[str, int], Any] = {}
                acks = []
                partitions_of: dict[str, list[int]] = {}
                for _, topic, key, type_, payload in rows:
                    partitions = partitions_of.get(topic) or partitions_of.setdefault(
                        topic, sorted(await producer.partitions_for(topic))
                    )
                    target = (topic, partition_for(key.encode(), partitions))  # the same hash as the kit's
                    headers = headers_of.get(type_) or headers_of.setdefault(
                        type_, [("ce_type", type_.encode()), ("content-type", b"application/cloudevents+json")]
                    )
                    record = {"key": key.encode(), "value": payload.encode(), "timestamp": None, "headers": headers}
                    if target not in builders or builders[target].append(**record) is None:
                        if target in builders:
                            acks.append(await producer.send_batch(builders[target], topic, partition=target[1]))
                        builders[target] = producer.create_batch()
                        builders[target].append(**record)
                for (topic, partition), builder in builders.items():
                    builder.close()
                    acks.append(await producer.send_batch(builder, topic, partition=partition))
                await asyncio.gather(*acks)
            if not rows:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), poll_s)
    finally:
        await listener.close()
        await producer.stop()


async def bare_consume(pool: asyncpg.Pool, args: argparse.Namespace, latency: LatencyLog, stop: asyncio.Event) -> None:
    """The consumer's work by hand: decode, inbox + effects in one transaction per fetch, then one offset
    commit."""
    consumer = AIOKafkaConsumer(
        BARE_TOPIC,
        bootstrap_servers=args.bootstrap,
        group_id=BARE_GROUP,
        client_id=BARE_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=args.consumer_batch,
    )
    await consumer.start()
    inbox = (
        f"INSERT INTO {BARE_SCHEMA}.inbox (event_id, consumer, topic, type) "
        "SELECT e, $2, tp, t FROM unnest($1::uuid[], $3::text[], $4::text[]) AS u(e, tp, t) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    effects = (
        f"INSERT INTO {BARE_SCHEMA}.effects (event_id, household_id, amount_fen) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[])"
    )
    effect = f"INSERT INTO {BARE_SCHEMA}.effects (event_id, household_id, amount_fen) VALUES ($1, $2, $3)"
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=args.consumer_batch)
            if not batches:
                continue
            # As the kit: every partition's records of one fetch in one transaction, one offset commit.
            records = [r for rs in batches.values() for r in rs]
            events = [orjson.loads(r.value) for r in records]
            async with pool.acquire() as conn, conn.transaction():
                new = {
                    str(r[0])
                    for r in await conn.fetch(
                        inbox,
                        [e["id"] for e in events],
                        BARE_GROUP,
                        [r.topic for r in records],
                        [e["type"] for e in events],
                    )
                }
                fresh = [e for e in events if e["id"] in new]
                if args.handler == "row":
                    for e in fresh:
                        await conn.execute(effect, e["id"], e["data"]["household_id"], e["data"]["amount_fen"])
                elif fresh:
                    await conn.execute(
                        effects,
                        [e["id"] for e in fresh],
                        [e["data"]["household_id"] for e in fresh],
                        [e["data"]["amount_fen"] for e in fresh],
                    )
            latency.committed([datetime.fromisoformat(e["time"]).timestamp() for e in fresh])
            await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
    finally:
        await consumer.stop()


async def run_bare_worker(args: argparse.Namespace) -> None:
    dsn = asyncpg_dsn(args.db)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [bare_consume(pool, args, LatencyLog(args.latency_dir), stop)]
    if args.with_relay:  # one relay per service, in the first process, as the kit's worker does
        tasks.append(bare_relay(pool, dsn, args, stop))
    try:
        await asyncio.gather(*tasks)
    finally:
        await pool.close()


# --- ceiling consumer: raw aiokafka, no database -----------------------------------------------------------


async def run_ceiling_consumer(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    latency = LatencyLog(args.latency_dir)
    # Client settings as EventConsumer._make_consumer: manual commit, read_committed, same batch size.
    consumer = AIOKafkaConsumer(
        CEILING_TOPIC,
        bootstrap_servers=args.bootstrap,
        group_id=CEILING_GROUP,
        client_id=CEILING_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=args.consumer_batch,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=args.consumer_batch)
            # One offset commit per fetch, like EventConsumer, so both pay the same number of commit round trips.
            if batches:
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                latency.committed(
                    [
                        struct.unpack("!d", dict(r.headers)[SENT_AT_HEADER])[0]
                        for records in batches.values()
                        for r in records
                    ]
                )
    finally:
        await consumer.stop()


# --- the driver --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    events: int
    seconds: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    offered_rate: float | None
    cpu_s: dict[str, float]
    notes: str = ""


Check = tuple[str, bool, str]


class Pacer:
    """Optional open-loop pacing of the offered load (events/s); unpaced when rate is None."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.monotonic()

    async def wait(self, offered: int) -> None:
        if self.rate:
            delay = self.start + offered / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def group_size(bootstrap: str, group: str) -> int:
    """Members of a consumer group once it is Stable (assignment done), else 0."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = (await admin.describe_consumer_groups([group]))[0].groups[0]
        # (error_code, group_id, state, protocol_type, protocol, members, ...)
        return len(described[5]) if described[2] == "Stable" else 0
    except KafkaError:  # no coordinator yet: the group is still forming
        return 0
    finally:
        await admin.close()


class Consumers:
    """The consuming side of one run: subprocesses of this script appending to one latency folder."""

    started: ClassVar[list[Consumers]] = []  # every instance, so a failed run leaves no process behind

    def __init__(self, run: str, tmp: Path) -> None:
        self.run = run
        self.latency_dir = tmp / f"{run}-latency"
        self.latency_dir.mkdir(parents=True, exist_ok=True)
        self.procs: list[asyncio.subprocess.Process] = []
        self.cpu_s = 0.0
        Consumers.started.append(self)

    @classmethod
    async def kill_all(cls) -> None:
        for p in (p for c in cls.started for p in c.procs if p.returncode is None):
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            await p.wait()

    async def start(
        self,
        role: str,
        args: argparse.Namespace,
        count: int,
        group: str,
        env: dict[str, str],
        extra: Callable[[int], list[str]] = lambda _i: [],
    ) -> None:
        """Start `count` processes of `role` and wait until the group holds `count` members with partitions
        assigned: group joins are not measured."""
        for i in range(count):
            cmd = [
                sys.executable,
                __file__,
                "--role",
                role,
                "--db",
                args.db,
                "--bootstrap",
                args.bootstrap,
                "--relay-batch",
                str(args.relay_batch),
                "--consumer-batch",
                str(args.consumer_batch),
                "--relay-poll",
                str(args.relay_poll),
                "--handler",
                args.handler,
                "--latency-dir",
                str(self.latency_dir),
                *extra(i),
            ]
            if args.profile:
                cmd.append("--profile")
            # Worker logs (rebalance notices and the like) go to a file, not into the figures' printout.
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            with open(LOG_DIR / f"{self.run.replace(' ', '-')}-{i}.log", "wb") as log_file:  # noqa: ASYNC230
                self.procs.append(
                    await asyncio.create_subprocess_exec(
                        *cmd,
                        env={**os.environ, "PYTHONPATH": str(REPO), **env},
                        stdout=log_file,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        members = args.consumer_processes if role == "pipeline-worker" else count
        deadline = time.monotonic() + 120
        while await group_size(args.bootstrap, group) != members:
            if dead := [p for p in self.procs if p.returncode is not None]:
                raise RuntimeError(f"{role} exited early with {dead[0].returncode}; see {LOG_DIR}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group}: {members} members not assigned after 120s")
            await asyncio.sleep(0.2)

    async def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while LatencyLog.count(self.latency_dir) < n:
            if dead := [p for p in self.procs if p.returncode is not None]:
                raise RuntimeError(f"a consumer process exited early with {dead[0].returncode}; see {LOG_DIR}")
            if time.monotonic() > deadline:
                log.error("gave up after %.0fs with %d of %d effects", timeout, LatencyLog.count(self.latency_dir), n)
                return
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        # CPU read while they still run: a process's children (the kit's forked consumers) are counted live.
        self.cpu_s = sum(tree_cpu(p.pid) for p in self.procs)
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        codes = [await p.wait() for p in self.procs]
        if any(codes):
            raise RuntimeError(f"consumer processes exited with {codes}")


@dataclass
class Context:
    args: argparse.Namespace
    servers: dict[str, int | None]
    tmp: Path
    factory: EventFactory
    event_type: str


async def measured(
    ctx: Context,
    name: str,
    n: int,
    rate: float | None,
    consumers: Consumers,
    produce: Callable[[Pacer], Awaitable[str]],
    cpu_name: str,
) -> Figures:
    """Offer n events through `produce`, wait for n effects, and report throughput, latency and CPU."""
    cpu0 = {k: tree_cpu(pid) for k, pid in ctx.servers.items()} | {cpu_name: process_cpu()}
    first = time.time()
    notes = await produce(Pacer(rate))
    offered_s = time.time() - first
    await consumers.wait_for(n, ctx.args.timeout)
    cpu = {k: tree_cpu(pid) - cpu0[k] for k, pid in ctx.servers.items()}
    cpu[cpu_name] = process_cpu() - cpu0[cpu_name]
    await consumers.stop()
    cpu["consumers" if name.startswith("ceiling") else "relay+consumers"] = consumers.cpu_s
    latencies, last = LatencyLog.read(consumers.latency_dir)
    elapsed = last - first
    return Figures(
        name,
        len(latencies),
        elapsed,
        len(latencies) / elapsed if elapsed > 0 else 0.0,
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.99) * 1000,
        (latencies[-1] if latencies else float("nan")) * 1000,
        rate,
        cpu,
        f"{notes}; offered in {offered_s:.1f}s",
    )


async def count_rows(engine: AsyncEngine, tables: PlatformTables, effects: Table) -> dict[str, int]:
    async with engine.connect() as conn:

        async def count(table: Table, *where: Any) -> int:
            return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()

        return {
            "effects": await count(effects),
            "inbox": await count(tables.inbox),
            "outbox": await count(tables.outbox),
            "unsent": await count(tables.outbox, tables.outbox.c.sent_at.is_(None)),
        }


def db_checks(run: str, n: int, rows: dict[str, int], figures: Figures) -> list[Check]:
    return [
        (f"{run}: effect rows == {n}", rows["effects"] == n, str(rows["effects"])),
        (f"{run}: inbox rows == {n}", rows["inbox"] == n, str(rows["inbox"])),
        (f"{run}: outbox rows == {n}", rows["outbox"] == n, str(rows["outbox"])),
        (f"{run}: unsent outbox rows == 0", rows["unsent"] == 0, str(rows["unsent"])),
        (f"{run}: latencies recorded == {n}", figures.events == n, str(figures.events)),
    ]


async def write_all(
    args: argparse.Namespace, n: int, pacer: Pacer, transaction: Callable[[int, int], Awaitable[None]]
) -> str:
    """`--writers` concurrent writers, each committing business transactions of `--per-tx` events (indexes
    start..end) until n are written."""
    next_index = 0
    started = time.time()

    async def writer() -> None:
        nonlocal next_index
        while next_index < n:
            start = next_index
            end = next_index = min(n, start + args.per_tx)
            await pacer.wait(start)
            await transaction(start, end)

    await asyncio.gather(*(writer() for _ in range(args.writers)))
    return (
        f"{args.consumer_processes} consumer process(es); {args.writers} writers x {args.per_tx} events/tx; "
        f"writes alone took {time.time() - started:.1f}s"
    )


async def pipeline(ctx: Context, name: str, n: int, rate: float | None) -> tuple[Figures, list[Check]]:
    args = ctx.args
    engine = create_engine(args.db, pool_size=args.writers)
    sessions = session_factory(engine)
    consumers = Consumers(name, ctx.tmp)
    await consumers.start(
        "pipeline-worker",
        args,
        1,
        PIPELINE_GROUP,
        {
            "DATABASE_URL": args.db,
            "KAFKA_BOOTSTRAP_SERVERS": args.bootstrap,
            "ENVIRONMENT": "test",
            "BENCH_LOG_LEVEL": "WARNING",
            "BENCH_RELAY_BATCH_SIZE": str(args.relay_batch),
            "BENCH_RELAY_POLL_SECONDS": str(args.relay_poll),
            "BENCH_CONSUMER_BATCH_SIZE": str(args.consumer_batch),
            "BENCH_CONSUMER_PROCESSES": str(args.consumer_processes),
        },
    )

    async def transaction(start: int, end: int) -> None:
        async with UnitOfWork(sessions, TABLES, SOURCE) as uow:
            for i in range(start, end):
                data = ctx.factory.make(i)
                uow.emit(data, key=data.household_id, region=data.region_code)
            await uow.commit()

    async def produce(pacer: Pacer) -> str:
        return f"{args.handler} handler; " + await write_all(args, n, pacer, transaction)

    figures = await measured(ctx, name, n, rate, consumers, produce, "writers")
    rows = await count_rows(engine, TABLES, EFFECTS)
    await engine.dispose()
    return figures, db_checks(name, n, rows, figures)


async def bare(ctx: Context, name: str, n: int, rate: float | None) -> tuple[Figures, list[Check]]:
    args = ctx.args
    consumers = Consumers(name, ctx.tmp)
    await consumers.start(
        "bare-worker", args, args.consumer_processes, BARE_GROUP, {}, lambda i: ["--with-relay"] if i == 0 else []
    )
    pool = await asyncpg.create_pool(asyncpg_dsn(args.db), min_size=args.writers, max_size=args.writers)
    statement = f"INSERT INTO {BARE_SCHEMA}.outbox (event_id, topic, key, type, payload) VALUES ($1, $2, $3, $4, $5)"

    async def transaction(start: int, end: int) -> None:
        correlation_id = uuid.uuid4().hex
        rows = []
        for i in range(start, end):
            event_id, key, payload = ctx.factory.make_bare(i, ctx.event_type, correlation_id)
            rows.append((event_id, BARE_TOPIC, key, ctx.event_type, payload))
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(statement, rows)

    async def produce(pacer: Pacer) -> str:
        return f"{args.handler} effects; " + await write_all(args, n, pacer, transaction)

    try:
        figures = await measured(ctx, name, n, rate, consumers, produce, "writers")
    finally:
        await pool.close()
    engine = create_engine(args.db, pool_size=1)
    rows = await count_rows(engine, BARE_TABLES, BARE_EFFECTS)
    await engine.dispose()
    return figures, db_checks(name, n, rows, figures)


async def ceiling(ctx: Context, name: str, n: int, rate: float | None) -> tuple[Figures, list[Check]]:
    args = ctx.args
    # The very bytes the relay publishes: CloudEvent JSON of the same data (a pool; the broker does not care).
    payloads = [
        DomainEvent(type=ctx.event_type, key=str(d.household_id), data=d, region=d.region_code)
        .to_cloudevent(SOURCE, None)
        .to_json()
        for d in (ctx.factory.make(i) for i in range(1000))
    ]
    keys = [str(ctx.factory.make(i).household_id).encode() for i in range(1000)]
    consumers = Consumers(name, ctx.tmp)
    await consumers.start("ceiling-consumer", args, args.consumer_processes, CEILING_GROUP, {})
    producer = make_producer(args.bootstrap, "bench-ceiling")
    await producer.start()
    ce_headers = [("ce_type", ctx.event_type.encode()), ("content-type", b"application/cloudevents+json")]

    async def produce(pacer: Pacer) -> str:
        started = time.time()
        # Sent in chunks of the relay batch size, awaiting each send() then gathering, as OutboxRelay.relay_once.
        for start in range(0, n, args.relay_batch):
            await pacer.wait(start)
            deliveries = [
                await producer.send(
                    CEILING_TOPIC,
                    value=payloads[i % 1000],
                    key=keys[i % 1000],
                    headers=[*ce_headers, (SENT_AT_HEADER, struct.pack("!d", time.time()))],
                )
                for i in range(start, min(n, start + args.relay_batch))
            ]
            await asyncio.gather(*deliveries)
        return f"payload {len(payloads[0])} B CloudEvent JSON; sends alone took {time.time() - started:.1f}s"

    try:
        figures = await measured(ctx, name, n, rate, consumers, produce, "producer")
    finally:
        await producer.stop()
    return figures, [(f"{name}: messages consumed == {n}", figures.events == n, str(figures.events))]


async def setup(db: str, bootstrap: str, ensure_topics: Callable[..., Any]) -> None:
    engine = create_engine(db, pool_size=1)
    async with engine.begin() as conn:
        for schema, metadata in ((SCHEMA, METADATA), (BARE_SCHEMA, BARE_METADATA)):
            await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            await conn.run_sync(metadata.create_all)
            # As the services' migrations do: the outbox insert trigger wakes the relay (LISTEN/NOTIFY).
            for statement in platform_triggers_sql(schema):
                await conn.execute(text(statement))
    await engine.dispose()
    await ensure_topics(bootstrap, (PIPELINE_TOPIC, BARE_TOPIC, CEILING_TOPIC))


async def truncate(db: str) -> None:
    """Empty the tables between runs, so each run's checks count its own rows (the topics and the groups'
    committed offsets carry on)."""
    engine = create_engine(db, pool_size=1)
    async with engine.begin() as conn:
        for schema in (SCHEMA, BARE_SCHEMA):
            await conn.execute(text(f"TRUNCATE {schema}.outbox, {schema}.inbox, {schema}.effects"))
    await engine.dispose()


def check_payload_shape(factory: EventFactory, event_type: str) -> Check:
    """The bare writers must store what the kit stores: same CloudEvent attributes, same data fields."""
    kit = DomainEvent(type=event_type, key="k", data=factory.make(0), region="r").to_cloudevent(SOURCE, "c")
    kit_dict = kit.model_dump(mode="json", exclude_none=True)
    bare_dict = orjson.loads(factory.make_bare(0, event_type, "c")[2])
    same = sorted(kit_dict) == sorted(bare_dict) and kit_dict["data"] == bare_dict["data"]
    return (
        "bare payload has the kit's CloudEvent attributes and data",
        same,
        f"{len(bare_dict)} attributes, {len(orjson.dumps(bare_dict))} B",
    )


def print_table(figures: Sequence[Figures], ratios: dict[str, float]) -> None:
    print()
    heads = ("events", "seconds", "events/s", "p50 ms", "p99 ms", "max ms")
    print(f"{'run':<16}" + "".join(f"{h:>10}" for h in heads))
    for f in figures:
        print(
            f"{f.name:<16}{f.events:>10}{f.seconds:>10.1f}{f.events_per_s:>10.0f}{f.p50_ms:>10.0f}"
            f"{f.p99_ms:>10.0f}{f.max_ms:>10.0f}"
        )
    print()
    for label, value in ratios.items():
        print(f"{label}: {value:.3f}" if label.startswith("ratio") else f"{label}: {value:.1f}")
    for f in figures:
        cpu = ", ".join(f"{k} {v:.1f}s" for k, v in f.cpu_s.items())
        print(f"{f.name}: {f.notes}\n  CPU: {cpu} (wall {f.seconds:.1f}s x {os.cpu_count()} cores)")


def drive(args: argparse.Namespace) -> int:
    infra = infra_module()
    with infra.throwaway("bench-") as (pg, kafka):
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        servers: dict[str, int | None] = {"postgres": pg_pid, "kafka": kafka.pid()}
        args.db, args.bootstrap = pg.url, kafka.bootstrap
        ctx = Context(args, servers, Path(pg.root).parent, EventFactory(), register_bench_event())

        async def all_runs() -> tuple[list[Figures], list[Check]]:
            await setup(pg.url, kafka.bootstrap, infra.ensure_topics)
            figures, checks = [], [check_payload_shape(ctx.factory, ctx.event_type)]
            plan: list[tuple[str, Callable[..., Awaitable[tuple[Figures, list[Check]]]], int, float | None]] = [
                ("pipeline", pipeline, args.events, args.rate),
                ("bare", bare, args.events, args.rate),
                ("ceiling", ceiling, args.events, args.rate),
            ]
            if args.paced_rate:
                plan += [
                    ("pipeline paced", pipeline, args.paced_events, args.paced_rate),
                    ("bare paced", bare, args.paced_events, args.paced_rate),
                ]
            if args.only:
                plan = [step for step in plan if step[0] in args.only]
            try:
                for name, run, n, rate in plan:
                    print(f"{name}: {n} events" + (f" at {rate:.0f}/s" if rate else "") + " ...", flush=True)
                    f, c = await run(ctx, name, n, rate)
                    figures.append(f)
                    checks += c
                    await truncate(pg.url)
            finally:
                await Consumers.kill_all()
            return figures, checks

        figures, checks = asyncio.run(all_runs())

    by_name = {f.name: f for f in figures}
    ratios = {}
    if {"pipeline", "ceiling"} <= by_name.keys():
        ratios["ratio pipeline/ceiling (events/s; the physical limit)"] = (
            by_name["pipeline"].events_per_s / by_name["ceiling"].events_per_s
        )
    if {"pipeline", "bare"} <= by_name.keys():
        ratios["ratio pipeline/bare (events/s; the same work without the kit)"] = (
            by_name["pipeline"].events_per_s / by_name["bare"].events_per_s
        )
    if {"pipeline paced", "bare paced"} <= by_name.keys():
        ratios[f"pipeline p99 ms at a paced {args.paced_rate:.0f} events/s"] = by_name["pipeline paced"].p99_ms
        ratios[f"bare p99 ms at a paced {args.paced_rate:.0f} events/s"] = by_name["bare paced"].p99_ms
    print_table(figures, ratios)
    print("\nchecks:")
    for name, ok, actual in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name} (got {actual})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "load_average": os.getloadavg(),
                "handler": args.handler,
                "consumer_processes": args.consumer_processes,
                "runs": [asdict(f) for f in figures],
                "ratios": ratios,
                "checks": [{"check": c, "ok": ok, "actual": a} for c, ok, a in checks],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"\nwritten {RESULTS.relative_to(REPO)}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def run_role(args: argparse.Namespace) -> int:
    if args.role == "pipeline-worker":
        return run_pipeline_worker(args)
    role = {"bare-worker": run_bare_worker, "ceiling-consumer": run_ceiling_consumer}[args.role]
    asyncio.run(role(args))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    settings = ServiceSettings()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--writers", type=int, default=4, help="concurrent writer tasks (business transactions)")
    p.add_argument("--per-tx", type=int, default=100, help="events per business transaction")
    p.add_argument("--relay-batch", type=int, default=settings.relay_batch_size)
    p.add_argument("--relay-poll", type=float, default=settings.relay_poll_seconds)
    p.add_argument("--consumer-batch", type=int, default=settings.consumer_batch_size)
    p.add_argument(
        "--consumer-processes",
        type=int,
        default=1,
        choices=range(1, 7),
        metavar="1-6",
        help="consumer processes per run (the kit forks them: BENCH_CONSUMER_PROCESSES; the bare "
        "and ceiling runs start as many)",
    )
    p.add_argument(
        "--rate", type=float, default=None, help="pace the saturated runs' offered load (events/s); default unpaced"
    )
    p.add_argument(
        "--paced-rate",
        type=float,
        default=1000.0,
        help="offered events/s of the paced runs (pipeline and bare); 0 skips them",
    )
    p.add_argument("--paced-events", type=int, default=20_000, help="events in each paced run")
    p.add_argument(
        "--handler",
        choices=("set", "row"),
        default="set",
        help="set: the kit's on_batch, one INSERT per run of events (default, as the hot handlers); "
        "row: one INSERT per event",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="give up on a run after this many seconds")
    p.add_argument(
        "--only",
        nargs="+",
        choices=("pipeline", "bare", "ceiling", "pipeline paced", "bare paced"),
        help="run only these (for profiling one side; the ratios need their pair)",
    )
    p.add_argument("--profile", action="store_true", help="pyinstrument the pipeline worker's first process")
    # Internal: the same script run as a worker subprocess.
    p.add_argument("--role", default="driver", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--bootstrap", help=argparse.SUPPRESS)
    p.add_argument("--latency-dir", help=argparse.SUPPRESS)
    p.add_argument("--with-relay", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role != "driver":
        return run_role(args)
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
