"""Event backbone benchmark: outbox → relay → Kafka → consumer/inbox → effect, against raw aiokafka.

    PYTHONPATH=. .venv/bin/python bench/event_backbone.py [--events 100000]

One run brings up a throwaway PostgreSQL 15 and single-node Kafka (deploy/local/infra.py) and measures:

* **pipeline** - N events written through `UnitOfWork.emit` + `commit` by several concurrent writers
  (business transactions of `--per-tx` events each), published by `OutboxRelay`, applied by `EventConsumer`
  with a handler that inserts one effect row per event (inbox + effects in one transaction);
* **ceiling** - the same N CloudEvent payloads produced with raw aiokafka (idempotent, acks=all, as
  `shared.kafka.make_producer`) and consumed with manual offset commits, no database at all.

Both report events/s from the first write (send) to the last effect (offset) committed, and per-event
latency p50/p99 from the event's `time` to the commit that made its effect durable. Offered load is unpaced
(writers go as fast as they can) unless `--rate` is given, so at saturation latency mostly measures backlog.

Process layout mirrors production: writers (the API side) run in this process; the relay and the consumer
run together in one worker subprocess, as `shared.worker.run_worker` runs them. For the ceiling, the producer
runs here and the consumer in a subprocess. PostgreSQL and the Kafka JVM share the same cores, so the CPU
seconds of every participant are reported too.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from aiokafka import AIOKafkaConsumer
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.measure import infra_module, percentile, process_cpu, tree_cpu
from shared.consumer import EventConsumer
from shared.db import PlatformTables, create_engine, service_metadata, session_factory
from shared.events.catalogue import CATALOGUE, PREFIX, EventData, EventSpec, Topic
from shared.events.envelope import CloudEvent, DomainEvent
from shared.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "event_backbone.json"

SCHEMA = "bench"
PIPELINE_TOPIC = "bench.events"
CEILING_TOPIC = "bench.ceiling"
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


def bench_tables() -> tuple[MetaData, PlatformTables, Table]:
    metadata = service_metadata(SCHEMA)
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


METADATA, TABLES, EFFECTS = bench_tables()
INSERT_EFFECT = insert(EFFECTS)


class EventFactory:
    """Realistic event data without paying for snapshot construction in the timed loop: a service emitting a
    payment already holds the household it pays, so a pool of households is built up front."""

    SURNAMES = "王李张刘陈杨黄赵吴周"
    GIVEN = ("秀英", "桂兰", "建国", "志强", "海燕", "玉兰", "德明", "春梅")

    def __init__(self, households: int = 2000, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.snapshots: list[HouseholdSnapshot] = []
        for _ in range(households):
            member_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            self.snapshots.append(HouseholdSnapshot(
                household_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                region_code=f"5301{rng.randrange(10, 30)}{rng.randrange(1, 20):03d}{rng.randrange(100, 300)}",
                hukou_type=rng.choice(("urban", "rural")),
                members=[MemberFacts(
                    member_id=member_id,
                    name=rng.choice(self.SURNAMES) + rng.choice(self.GIVEN),
                    birth_date=date(rng.randrange(1940, 2005), rng.randrange(1, 13), rng.randrange(1, 29)),
                    sex=rng.choice(("male", "female")),
                    relation="head",
                )],
                incomes=[IncomeItem(member_id=member_id, kind="transfer", subkind="basic_pension",
                                    monthly_amount_fen=rng.randrange(10000, 30000))],
            ))

    def make(self, i: int) -> BenchPaymentIssued:
        snap = self.snapshots[i % len(self.snapshots)]
        return BenchPaymentIssued(household_id=snap.household_id, region_code=snap.region_code,
                                  amount_fen=50000 + i % 997, period="2025-06", snapshot=snap)


# --- measurement helpers -----------------------------------------------------------------------------------




@dataclass
class Sink:
    """Collects per-event latencies as effects commit, and says when all N are in."""

    expected: int
    done: asyncio.Event
    latencies: list[float] = field(default_factory=list)
    last_commit: float = 0.0

    def committed(self, sent_times: Sequence[float]) -> None:
        now = time.time()
        self.latencies.extend(now - t for t in sent_times)
        self.last_commit = now
        if len(self.latencies) >= self.expected:
            self.done.set()

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {"count": len(lat), "last_commit": self.last_commit, "p50_ms": percentile(lat, 0.50) * 1000,
                "p99_ms": percentile(lat, 0.99) * 1000, "max_ms": (lat[-1] if lat else float("nan")) * 1000,
                "cpu_s": process_cpu()}








# --- worker subprocess: relay + consumer (pipeline) --------------------------------------------------------


class TimedUnitOfWork(UnitOfWork):
    """A unit of work that notes, right after commit, when each applied event's effect became durable."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], sink: Sink) -> None:
        super().__init__(sessions, TABLES, SOURCE)
        self.sink = sink
        self.applied: list[float] = []
        self.staged: list[dict[str, Any]] = []

    async def __aenter__(self) -> TimedUnitOfWork:
        await super().__aenter__()
        self.applied = []
        self.staged = []
        return self

    async def commit(self) -> None:
        if self.staged:  # --handler batched: one multi-row INSERT for the batch, still in the transaction
            await self.session.execute(INSERT_EFFECT, self.staged)
        await super().commit()
        self.sink.committed(self.applied)


async def apply_effect(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
    """The handler under test: one effect row per event, in the consumer's transaction, like real handlers."""
    assert isinstance(data, BenchPaymentIssued) and isinstance(uow, TimedUnitOfWork)
    # A prebuilt statement plus parameters: building `insert(...).values(...)` per event costs ~0.1 ms more.
    row = {"event_id": event.id, "household_id": data.household_id, "amount_fen": data.amount_fen}
    await uow.session.execute(INSERT_EFFECT, row)
    uow.applied.append(event.time.timestamp())


async def stage_effect(uow: UnitOfWork, event: CloudEvent, data: EventData) -> None:
    """Diagnostic handler: stages the row for one INSERT per batch, to show the backbone's own cost without a
    database round trip per event. Same effect, same transaction."""
    assert isinstance(data, BenchPaymentIssued) and isinstance(uow, TimedUnitOfWork)
    uow.staged.append(
        {"event_id": event.id, "household_id": data.household_id, "amount_fen": data.amount_fen}
    )
    uow.applied.append(event.time.timestamp())


class ObservableConsumer(EventConsumer):
    """EventConsumer exposing its Kafka client, so the worker can say 'ready' once partitions are assigned."""

    client: AIOKafkaConsumer | None = None

    def _make_consumer(self) -> AIOKafkaConsumer:
        self.client = super()._make_consumer()
        return self.client

    async def assigned(self) -> None:
        # aiokafka has no awaitable for "partitions assigned"; polling briefly at startup is fine.
        while self.client is None or not self.client.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def run_pipeline_worker(args: argparse.Namespace) -> dict[str, Any]:
    event_type = register_bench_event()
    engine = create_engine(args.db, pool_size=4)
    sessions = session_factory(engine)
    done = asyncio.Event()
    sink = Sink(args.events, done)
    producer = make_producer(args.bootstrap, "bench-worker")
    await producer.start()
    relay = OutboxRelay(engine, TABLES, producer, service="bench", batch_size=args.relay_batch,
                        poll_seconds=args.relay_poll)
    handler = stage_effect if args.handler == "batched" else apply_effect
    consumer = ObservableConsumer(
        name="bench-effects", topics=[PIPELINE_TOPIC], handlers={event_type: handler},
        uow_factory=lambda: TimedUnitOfWork(sessions, sink), bootstrap=args.bootstrap, producer=producer,
        batch_size=args.consumer_batch,
    )
    tasks = [asyncio.create_task(relay.run(done)), asyncio.create_task(consumer.run(done))]
    try:
        await asyncio.wait_for(consumer.assigned(), timeout=60)
        await asyncio.to_thread(Path(args.ready).touch)
        await _until_done_or_signal(done, args.timeout)
    finally:
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await engine.dispose()
    return sink.summary()


# --- worker subprocess: raw consumer (ceiling) -------------------------------------------------------------


async def run_ceiling_consumer(args: argparse.Namespace) -> dict[str, Any]:
    done = asyncio.Event()
    sink = Sink(args.events, done)
    # Client settings as EventConsumer._make_consumer: manual commit, read_committed, same batch size.
    consumer = AIOKafkaConsumer(
        CEILING_TOPIC, bootstrap_servers=args.bootstrap, group_id="bench-ceiling", client_id="bench-ceiling",
        enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
        max_poll_records=args.consumer_batch,
    )
    await consumer.start()

    async def consume() -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=args.consumer_batch)
            # Committed per partition, like EventConsumer, so both pay the same number of commit round trips.
            for tp, records in batches.items():
                await consumer.commit({tp: records[-1].offset + 1})
                sink.committed([
                    struct.unpack("!d", dict(r.headers)[SENT_AT_HEADER])[0] for r in records
                ])

    task = asyncio.create_task(consume())
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - no awaitable for "assigned" in aiokafka
            await asyncio.sleep(0.05)
        await asyncio.to_thread(Path(args.ready).touch)
        await _until_done_or_signal(done, args.timeout)
    finally:
        done.set()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
    return sink.summary()


async def _until_done_or_signal(done: asyncio.Event, limit_s: float) -> None:
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), limit_s)


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
    cpu_s: dict[str, float]
    notes: str = ""


class Worker:
    """A role of this script run as a subprocess; its summary comes back as a JSON file."""

    def __init__(self, role: str, tmp: Path) -> None:
        self.role = role
        self.ready = tmp / f"{role}.ready"
        self.out = tmp / f"{role}.json"
        self.proc: asyncio.subprocess.Process | None = None

    @classmethod
    async def start(cls, role: str, args: argparse.Namespace, db: str, bootstrap: str, tmp: Path) -> Worker:
        self = cls(role, tmp)
        cmd = [
            sys.executable, __file__, "--role", role, "--db", db, "--bootstrap", bootstrap,
            "--events", str(args.events), "--relay-batch", str(args.relay_batch),
            "--consumer-batch", str(args.consumer_batch), "--relay-poll", str(args.relay_poll),
            "--timeout", str(args.timeout), "--ready", str(self.ready), "--out", str(self.out),
            "--handler", args.handler,
        ]
        if args.profile:
            cmd.append("--profile")
        self.proc = await asyncio.create_subprocess_exec(*cmd, env={**os.environ, "PYTHONPATH": str(REPO)})
        # Timed runs start only once the worker's consumer holds its partitions: group join is not measured.
        deadline = time.monotonic() + 90
        while not self.ready.exists():
            if self.proc.returncode is not None:
                raise RuntimeError(f"{role} exited early with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{role} not ready after 90s")
            await asyncio.sleep(0.05)
        return self

    async def result(self) -> dict[str, Any]:
        assert self.proc is not None
        if await self.proc.wait() != 0:
            raise RuntimeError(f"{self.role} failed with {self.proc.returncode}")
        return cast(dict[str, Any], json.loads(self.out.read_text()))


async def setup(engine: AsyncEngine, bootstrap: str, ensure_topics: Callable[..., Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(METADATA.create_all)
    await ensure_topics(bootstrap, (PIPELINE_TOPIC, CEILING_TOPIC))


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


async def pipeline(args: argparse.Namespace, db: str, bootstrap: str, servers: dict[str, int | None],
                   tmp: Path) -> tuple[Figures, list[tuple[str, bool, str]]]:
    register_bench_event()
    factory = EventFactory()
    engine = create_engine(db, pool_size=args.writers)
    sessions = session_factory(engine)
    worker = await Worker.start("pipeline-worker", args, db, bootstrap, tmp)

    cpu0 = {name: tree_cpu(pid) for name, pid in servers.items()} | {"writers": process_cpu()}
    next_index = 0
    first_write = time.time()
    pacer = Pacer(args.rate)

    async def writer() -> None:
        nonlocal next_index
        while next_index < args.events:
            start, next_index = next_index, min(args.events, next_index + args.per_tx)
            await pacer.wait(start)
            async with UnitOfWork(sessions, TABLES, SOURCE) as uow:
                for i in range(start, next_index):
                    data = factory.make(i)
                    uow.emit(data, key=data.household_id, region=data.region_code)
                await uow.commit()

    await asyncio.gather(*(writer() for _ in range(args.writers)))
    writes_done = time.time()
    summary = await worker.result()
    elapsed = summary["last_commit"] - first_write

    async with engine.connect() as conn:
        effects = (await conn.execute(select(func.count()).select_from(EFFECTS))).scalar_one()
        inbox = (await conn.execute(select(func.count()).select_from(TABLES.inbox))).scalar_one()
        unsent = (await conn.execute(
            select(func.count()).select_from(TABLES.outbox).where(TABLES.outbox.c.sent_at.is_(None))
        )).scalar_one()
        outbox = (await conn.execute(select(func.count()).select_from(TABLES.outbox))).scalar_one()
    await engine.dispose()
    await asyncio.sleep(0.2)  # let the postmaster reap the backends so their CPU lands in its cutime

    cpu = {name: tree_cpu(pid) - cpu0[name] for name, pid in servers.items()}
    cpu["writers"] = process_cpu() - cpu0["writers"]
    cpu["relay+consumer"] = summary["cpu_s"]
    n = args.events
    checks = [
        (f"effect rows == {n}", effects == n, str(effects)),
        (f"inbox rows == {n}", inbox == n, str(inbox)),
        (f"outbox rows == {n}", outbox == n, str(outbox)),
        ("unsent outbox rows == 0", unsent == 0, str(unsent)),
        (f"latencies recorded == {n}", summary["count"] == n, str(summary["count"])),
    ]
    notes = (f"{args.handler} handler; {args.writers} writers x {args.per_tx} events/tx; "
             f"relay batch {args.relay_batch}, "
             f"consumer batch {args.consumer_batch}; writes alone took {writes_done - first_write:.1f}s")
    figures = Figures("pipeline", n, elapsed, n / elapsed, summary["p50_ms"], summary["p99_ms"],
                      summary["max_ms"], cpu, notes)
    return figures, checks


async def ceiling(args: argparse.Namespace, db: str, bootstrap: str, servers: dict[str, int | None],
                  tmp: Path) -> tuple[Figures, list[tuple[str, bool, str]]]:
    event_type = register_bench_event()
    factory = EventFactory()
    # The very bytes the relay publishes: CloudEvent JSON of the same data (a pool; the broker does not care).
    payloads = [
        DomainEvent(type=event_type, key=str(d.household_id), data=d, region=d.region_code)
        .to_cloudevent(SOURCE, None).to_json()
        for d in (factory.make(i) for i in range(1000))
    ]
    keys = [str(factory.make(i).household_id).encode() for i in range(1000)]
    worker = await Worker.start("ceiling-consumer", args, db, bootstrap, tmp)
    producer = make_producer(bootstrap, "bench-ceiling")
    await producer.start()

    cpu0 = {name: tree_cpu(pid) for name, pid in servers.items()} | {"producer": process_cpu()}
    first_send = time.time()
    pacer = Pacer(args.rate)
    ce_headers = [("ce_type", event_type.encode()), ("content-type", b"application/cloudevents+json")]
    # Sent in chunks of the relay batch size, awaiting each send() then gathering, as OutboxRelay.relay_once.
    for start in range(0, args.events, args.relay_batch):
        await pacer.wait(start)
        deliveries = [
            await producer.send(
                CEILING_TOPIC, value=payloads[i % 1000], key=keys[i % 1000],
                headers=[*ce_headers, (SENT_AT_HEADER, struct.pack("!d", time.time()))],
            )
            for i in range(start, min(args.events, start + args.relay_batch))
        ]
        await asyncio.gather(*deliveries)
    sends_done = time.time()
    summary = await worker.result()
    await producer.stop()
    elapsed = summary["last_commit"] - first_send
    cpu = {name: tree_cpu(pid) - cpu0[name] for name, pid in servers.items()}
    cpu["producer"] = process_cpu() - cpu0["producer"]
    cpu["consumer"] = summary["cpu_s"]
    n = args.events
    checks = [(f"messages consumed == {n}", summary["count"] == n, str(summary["count"]))]
    notes = f"payload {len(payloads[0])} B CloudEvent JSON; sends alone took {sends_done - first_send:.1f}s"
    figures = Figures("ceiling", n, elapsed, n / elapsed, summary["p50_ms"], summary["p99_ms"],
                      summary["max_ms"], cpu, notes)
    return figures, checks


def print_table(figures: Sequence[Figures], ratio: float) -> None:
    print()
    heads = ("events", "seconds", "events/s", "p50 ms", "p99 ms", "max ms")
    print(f"{'run':<10}" + "".join(f"{h:>10}" for h in heads))
    for f in figures:
        print(f"{f.name:<10}{f.events:>10}{f.seconds:>10.1f}{f.events_per_s:>10.0f}{f.p50_ms:>10.0f}"
              f"{f.p99_ms:>10.0f}{f.max_ms:>10.0f}")
    print(f"\nratio pipeline/ceiling (events/s): {ratio:.3f}")
    for f in figures:
        cpu = ", ".join(f"{k} {v:.1f}s" for k, v in f.cpu_s.items())
        print(f"{f.name}: {f.notes}\n  CPU: {cpu} (wall {f.seconds:.1f}s x {os.cpu_count()} cores)")




def drive(args: argparse.Namespace) -> int:
    infra = infra_module()
    with infra.throwaway("bench-") as (pg, kafka):
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        servers: dict[str, int | None] = {"postgres": pg_pid, "kafka": kafka.pid()}
        tmp = Path(pg.root).parent

        async def both() -> tuple[list[Figures], list[tuple[str, bool, str]]]:
            engine = create_engine(pg.url, pool_size=1)
            await setup(engine, kafka.bootstrap, infra.ensure_topics)
            await engine.dispose()
            print(f"pipeline: {args.events} events ...", flush=True)
            pipe, pipe_checks = await pipeline(args, pg.url, kafka.bootstrap, servers, tmp)
            print(f"ceiling: {args.events} events ...", flush=True)
            ceil, ceil_checks = await ceiling(args, pg.url, kafka.bootstrap, servers, tmp)
            return [pipe, ceil], pipe_checks + ceil_checks

        figures, checks = asyncio.run(both())

    ratio = figures[0].events_per_s / figures[1].events_per_s
    print_table(figures, ratio)
    print("\nchecks:")
    for name, ok, actual in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name} (got {actual})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "rate": args.rate,
        "handler": args.handler,
        "runs": [asdict(f) for f in figures],
        "ratio": ratio,
        "checks": [{"check": c, "ok": ok, "actual": a} for c, ok, a in checks],
    }, indent=2, ensure_ascii=False))
    print(f"\nwritten {RESULTS.relative_to(REPO)}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def run_role(args: argparse.Namespace) -> int:
    role = {"pipeline-worker": run_pipeline_worker, "ceiling-consumer": run_ceiling_consumer}[args.role]
    profiler = None
    if args.profile:
        from pyinstrument import Profiler  # optional: pip install pyinstrument into .venv

        profiler = Profiler(async_mode="enabled")
        profiler.start()
    summary = asyncio.run(role(args))
    if profiler is not None:
        profiler.stop()
        out = RESULTS.parent / f"profile-{args.role}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=True, show_all=False))
    Path(args.out).write_text(json.dumps(summary))
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
    p.add_argument("--rate", type=float, default=None, help="pace offered load (events/s); default unpaced")
    p.add_argument("--handler", choices=("row", "batched"), default="row",
                   help="row: one INSERT per event (realistic); batched: one INSERT per consumer batch")
    p.add_argument("--timeout", type=float, default=900.0, help="give up on a run after this many seconds")
    p.add_argument("--profile", action="store_true", help="pyinstrument the worker subprocesses")
    # Internal: the same script run as a worker subprocess.
    p.add_argument("--role", default="driver", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--bootstrap", help=argparse.SUPPRESS)
    p.add_argument("--ready", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.role != "driver":
        return run_role(args)
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
