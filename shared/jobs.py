"""Jobs that own their transactions: background work (a batch build, the re-sealing run) and long loads (a partner
feed) that commit as they go, where a request or an event handler commits once at its end.

A `Job` opens a unit of work of its own for each step and commits it when the step returns (rolls it back when it
raises), so a step's work and its progress are committed together: what the job reports is visible while it runs,
and a job killed at any point resumes from its last committed step. Services never commit: they are the steps.
With `shared/uow.py`, this is the only place that commits (tests/unit/test_layers.py checks it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from shared.outbox import sleep_or_stop
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


class Job:
    """Steps, each in a unit of work of its own (from `units`), committed when it returns."""

    def __init__(self, units: Callable[[], UnitOfWork]) -> None:
        self.units = units

    async def step(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """`work` in a unit of work of its own, committed when it returns, rolled back if it raises."""
        async with self.transaction() as uow:
            return await work(uow)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A step written as a block: a unit of work of its own, committed when the block ends without an error,
        rolled back when it raises (a long load that commits its progress in other steps meanwhile)."""
        async with self.units() as uow:
            yield uow
            await uow.commit()

    async def repeat(self, work: Callable[[UnitOfWork], Awaitable[bool]], stop: asyncio.Event | None = None) -> int:
        """`work` as one committed step after another while it answers that there is more to do and the job is not
        stopped; the number of steps taken."""
        steps = 0
        while stop is None or not stop.is_set():
            more = await self.step(work)
            steps += 1
            if not more:
                break
        return steps


def every(
    seconds: float, round_: Callable[[Job, asyncio.Event], Awaitable[object]], name: str
) -> Callable[[Callable[[], UnitOfWork], asyncio.Event], Awaitable[None]]:
    """A worker's background task (`shared.worker.BackgroundTask`): `round_` of the job every `seconds` until
    stopped; a failed round is logged and the next one tries again."""

    async def run(units: Callable[[], UnitOfWork], stop: asyncio.Event) -> None:
        job = Job(units)
        while not stop.is_set():
            try:
                await round_(job, stop)
            except Exception:
                log.exception("%s round failed; retrying", name)
            await sleep_or_stop(stop, seconds)

    return run


def backfill(
    name: str, work: Callable[[UnitOfWork], Awaitable[int]], chunk: int
) -> Callable[[Callable[[], UnitOfWork], asyncio.Event], Awaitable[None]]:
    """A worker's start-up back-fill after an upgrade (`shared.worker.BackgroundTask`): `work` as committed steps,
    each doing up to `chunk` things and saying how many, until one does fewer; a failed step is logged and tried
    again. Nothing pending: one step, then the task ends."""

    async def run(units: Callable[[], UnitOfWork], stop: asyncio.Event) -> None:
        job, total = Job(units), 0
        while not stop.is_set():
            try:
                done = await job.step(work)
            except Exception:
                log.exception("%s step failed; retrying", name)
                await sleep_or_stop(stop, 5)
                continue
            total += done
            if done < chunk:
                break
        if total:
            log.info("%s: %d done", name, total)

    return run
