"""A service's worker process: its outbox relay, its event consumers and its retention purge, with graceful
shutdown.

Shutdown order on SIGTERM/SIGINT: stop fetching, finish and commit the batch in hand, flush the producer.

`<PREFIX>CONSUMER_PROCESSES=N` runs the consumers in N processes of one consumer group, so Kafka spreads the topics'
partitions over them and the work over N cores. The relay runs in the first process only: one relay per service
keeps each key's events in the order they were written."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.process import BaseProcess

from shared.consumer import EventConsumer, Handlers
from shared.db import PlatformTables, create_engine, session_factory
from shared.kafka import make_producer, start_with_retry
from shared.observability import configure_logging, freeze_startup_objects
from shared.outbox import OutboxRelay, sleep_or_stop
from shared.retention import Purger
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# A service's own background job run beside its consumers (e.g. payments' batch builder): given a fresh unit of work
# on demand and the stop signal, it returns when stopped.
BackgroundTask = Callable[[Callable[[], UnitOfWork], asyncio.Event], Awaitable[None]]


async def run_worker(
    settings: ServiceSettings,
    tables: PlatformTables,
    consumers: dict[str, tuple[list[str], Handlers]],
    *,
    relay: bool = True,
    stop: asyncio.Event | None = None,
    children: Sequence[BaseProcess] = (),
    purge: bool | None = None,
    background: Sequence[BackgroundTask] = (),
) -> bool:
    """Run the relay, each consumer (name → (topics, handlers)), the retention purge and the service's background
    tasks until stopped. False if a child consumer process died, so the supervisor (Kubernetes, `make run`)
    restarts the whole worker. The purge runs where the relay does (once per service) unless `purge` says
    otherwise; background tasks run in the process they are given to (the first, in `main`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    engine = create_engine(settings.database_url, settings.db_pool_size)
    sessions = session_factory(engine)
    source = f"/services/{settings.service_name}"
    uow_factory: Callable[[], UnitOfWork] = lambda: UnitOfWork(sessions, tables, source)  # noqa: E731
    producer = await start_with_retry(
        lambda: make_producer(settings.kafka_bootstrap_servers, f"{settings.service_name}-worker"),
        stop,
        f"{settings.service_name} producer",
    )
    if producer is None:
        await engine.dispose()
        return True
    tasks = []
    if relay:
        tasks.append(
            OutboxRelay(
                engine,
                tables,
                producer,
                service=settings.service_name,
                batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds,
            ).run(stop)
        )
    if relay if purge is None else purge:
        tasks.append(Purger(engine, tables, settings).run(stop))
    for name, (topics, handlers) in consumers.items():
        tasks.append(
            EventConsumer(
                name=name,
                topics=topics,
                handlers=handlers,
                uow_factory=uow_factory,
                bootstrap=settings.kafka_bootstrap_servers,
                producer=producer,
                batch_size=settings.consumer_batch_size,
            ).run(stop)
        )
    children_ok = True
    if children:

        async def watch_children() -> None:
            nonlocal children_ok
            while not stop.is_set():
                if dead := [c for c in children if not c.is_alive()]:
                    log.error("consumer process %s exited with %s; stopping the worker", dead[0].pid, dead[0].exitcode)
                    children_ok = False
                    stop.set()
                await sleep_or_stop(stop, 1.0)

        tasks.append(watch_children())
    tasks.extend(task(uow_factory, stop) for task in background)
    log.info("%s worker started: relay=%s consumers=%s", settings.service_name, relay, list(consumers))
    try:
        await asyncio.gather(*tasks)
    finally:
        with contextlib.suppress(Exception):
            await producer.flush()
            await producer.stop()
        await engine.dispose()
        log.info("%s worker stopped", settings.service_name)
    return children_ok


def _die_with_parent() -> None:
    """A consumer process must not outlive its worker (a SIGKILLed parent cannot stop it): Linux sends it SIGTERM
    when the parent dies, which it handles like any shutdown."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _consumer_process(
    settings: ServiceSettings, tables: PlatformTables, consumers: dict[str, tuple[list[str], Handlers]]
) -> None:
    _die_with_parent()
    asyncio.run(run_worker(settings, tables, consumers, relay=False))


def main(
    settings: ServiceSettings,
    tables: PlatformTables,
    consumers: dict[str, tuple[list[str], Handlers]],
    background: Sequence[BackgroundTask] = (),
) -> None:
    configure_logging(settings.service_name + "-worker", settings.log_level)
    freeze_startup_objects()  # before the fork, so the consumer processes share these pages too
    # A batch keeps ~100k objects alive (parsed events, cases, rows) while it allocates more: at the default 700
    # allocations per young collection they are traversed again and again (figures in bench/README.md).
    gc.set_threshold(10_000, 10, 10)
    # Forked before any event loop, engine or thread exists, so the children start from a clean state (and the
    # handlers, closures as they are, need no pickling).
    fork = multiprocessing.get_context("fork")
    children = [
        fork.Process(
            target=_consumer_process,
            args=(settings, tables, consumers),
            daemon=True,
            name=f"{settings.service_name}-consumer-{i}",
        )
        for i in range(1, max(settings.consumer_processes, 1))
    ]
    for child in children:
        child.start()
    ok = asyncio.run(run_worker(settings, tables, consumers, children=children, background=background))
    for child in children:
        if child.is_alive():
            child.terminate()
        child.join(30)
    if not ok:
        sys.exit(1)
