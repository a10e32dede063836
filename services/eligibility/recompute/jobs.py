"""The recompute runner: the eligibility worker's background job that runs the 提标 recomputes the
`policy.standard_changed` events queued, chunk by chunk (`service.run_recompute`: each chunk committed with the
recompute's progress, so `GET /recomputes/{id}` shows it and a restarted worker carries on from the last chunk)."""

from __future__ import annotations

import asyncio
import functools

from services.eligibility.recompute import service
from shared.jobs import Job, every


async def _round(chunk_size: int, job: Job, stop: asyncio.Event) -> int:
    return await service.run_recomputes(job, stop, chunk_size)


def recompute_runner(chunk_size: int, poll_seconds: float):
    """The worker's background task: every recompute waiting, every `poll_seconds`."""
    return every(poll_seconds, functools.partial(_round, chunk_size), "standard recompute")
