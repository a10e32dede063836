"""The batch builder: the payments worker's background job that builds requested batches chunk by chunk.

Each chunk is a step of the job (`shared.jobs.Job`), committed with the batch's progress (beneficiaries scanned / in
the region), so `GET /batches/{id}` shows it and a restarted worker carries on from the last committed chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.payments.batches import service
from shared.jobs import Job, every
from shared.uow import UnitOfWork


class BatchBuild:
    """Builds every batch waiting to be built, a chunk of `chunk_size` households per committed step."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size

    async def __call__(self, job: Job, stop: asyncio.Event | None = None) -> int:
        """One round: every batch waiting now, built to its end (or until stopped); returns how many steps."""
        steps = 0
        for batch_id in await job.step(service.pending_builds):
            steps += await job.repeat(lambda uow, b=batch_id: service.build_step(uow, b, self.chunk_size), stop)
        return steps


async def build_all(uow_factory: Callable[[], UnitOfWork], chunk_size: int, stop: asyncio.Event | None = None) -> int:
    """Build every batch waiting to be built; returns how many steps were taken."""
    return await BatchBuild(chunk_size)(Job(uow_factory), stop)


def batch_builder(chunk_size: int, poll_seconds: float):
    """The worker's background task: a round of `BatchBuild` every `poll_seconds`."""
    return every(poll_seconds, BatchBuild(chunk_size), "batch build")
