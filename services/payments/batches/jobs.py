"""The batch builder: the payments worker's background job that builds requested batches chunk by chunk.

Progress (beneficiaries scanned / in the region) is committed with every chunk, so `GET /batches/{id}` shows it and a
restarted worker carries on from the last committed chunk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.payments.batches import service
from shared.outbox import sleep_or_stop
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def build_all(uow_factory: Callable[[], UnitOfWork], chunk_size: int, stop: asyncio.Event | None = None) -> int:
    """Build every batch waiting to be built; returns how many steps were taken."""
    steps = 0
    async with uow_factory() as uow:
        waiting = await service.pending_builds(uow)
    for batch_id in waiting:
        while stop is None or not stop.is_set():
            async with uow_factory() as uow:
                more = await service.build_step(uow, batch_id, chunk_size)
            steps += 1
            if not more:
                break
    return steps


def batch_builder(chunk_size: int, poll_seconds: float):
    async def run(uow_factory: Callable[[], UnitOfWork], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await build_all(uow_factory, chunk_size, stop)
            except Exception:
                log.exception("batch build round failed; retrying")
            await sleep_or_stop(stop, poll_seconds)

    return run
