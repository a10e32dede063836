"""A service's worker process: its outbox relay and its event consumers, with graceful shutdown.

Shutdown order on SIGTERM/SIGINT: stop fetching, finish and commit the batch in hand, flush the producer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from shared.consumer import EventConsumer, Handler
from shared.db import PlatformTables, create_engine, session_factory
from shared.kafka import make_producer, start_with_retry
from shared.observability import configure_logging
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# A service's own background job run beside its consumers (e.g. payments' batch builder): given a fresh unit of work
# on demand and the stop signal, it returns when stopped.
BackgroundTask = Callable[[Callable[[], UnitOfWork], asyncio.Event], Awaitable[None]]


async def run_worker(
    settings: ServiceSettings,
    tables: PlatformTables,
    consumers: dict[str, tuple[list[str], dict[str, Handler]]],
    *,
    relay: bool = True,
    stop: asyncio.Event | None = None,
    background: Sequence[BackgroundTask] = (),
) -> None:
    """Run the relay and each consumer (name → (topics, handlers)) until stopped."""
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
        return
    tasks = []
    if relay:
        tasks.append(OutboxRelay(engine, tables, producer, service=settings.service_name,
                                 batch_size=settings.relay_batch_size,
                                 poll_seconds=settings.relay_poll_seconds).run(stop))
    for name, (topics, handlers) in consumers.items():
        tasks.append(EventConsumer(
            name=name, topics=topics, handlers=handlers, uow_factory=uow_factory,
            bootstrap=settings.kafka_bootstrap_servers, producer=producer, batch_size=settings.consumer_batch_size,
        ).run(stop))
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


def main(settings: ServiceSettings, tables: PlatformTables,
         consumers: dict[str, tuple[list[str], dict[str, Handler]]], background: Sequence[BackgroundTask] = ()) -> None:
    configure_logging(settings.service_name + "-worker", settings.log_level)
    asyncio.run(run_worker(settings, tables, consumers, background=background))
