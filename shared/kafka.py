"""Kafka client settings shared by relays, consumers and tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaProducer

log = logging.getLogger(__name__)
C = TypeVar("C")


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    # Idempotent + acks=all: a retried send never duplicates or reorders within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def start_with_retry(factory: Callable[[], C], stop: asyncio.Event, what: str) -> C | None:
    """Create and start a producer or consumer, waiting out a broker that is not up yet.

    A client whose start failed is discarded (aiokafka clients are not restartable). None if asked to stop first."""
    delay = 0.5
    while not stop.is_set():
        client = factory()
        try:
            await client.start()  # type: ignore[attr-defined]
            return client
        except Exception as exc:
            log.warning("%s cannot reach Kafka yet: %s", what, exc)
            with contextlib.suppress(Exception):
                await client.stop()  # type: ignore[attr-defined]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 5.0)
    return None
