"""Kafka client settings shared by relays, consumers and tools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Sequence
from typing import TypeVar

from aiokafka import AIOKafkaProducer

log = logging.getLogger(__name__)
C = TypeVar("C")

_M, _MASK = 0x5BD1E995, 0xFFFFFFFF


def murmur2(key: bytes) -> int:
    """Kafka's key hash (the Java client's `Utils.murmur2`, which aiokafka's default partitioner also follows),
    a word at a time: aiokafka's byte-at-a-time version was the relay's largest cost."""
    length = len(key)
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{length >> 2}I", key):
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ (((k ^ (k >> 24)) * _M) & _MASK)
    if tail := length & 3:
        at = length & ~3
        if tail == 3:
            h ^= key[at + 2] << 16
        if tail >= 2:
            h ^= key[at + 1] << 8
        h = ((h ^ key[at]) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the producer's default partitioner puts `key` on (`partitions` sorted, as aiokafka's)."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


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
