"""The job runner: each step in a unit of work of its own, committed when it returns, rolled back when it raises."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from shared.jobs import Job


class _Uow:
    """What a step's unit of work is asked: entered, committed or not, left (leaving rolls back what is left)."""

    log: ClassVar[list[str]] = []

    async def __aenter__(self) -> _Uow:
        self.log.append("begin")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.log.append("end")

    async def commit(self) -> None:
        self.log.append("commit")


@pytest.fixture
def job():
    _Uow.log = []
    return Job(_Uow)  # type: ignore[arg-type]


async def test_a_step_commits_its_own_unit_of_work(job):
    async def work(uow):
        uow.log.append("work")
        return 7

    assert await job.step(work) == 7
    assert _Uow.log == ["begin", "work", "commit", "end"]


async def test_a_failed_step_is_not_committed(job):
    async def work(uow):
        raise ValueError("bad chunk")

    with pytest.raises(ValueError):
        await job.step(work)
    assert _Uow.log == ["begin", "end"]


async def test_repeat_commits_each_step_until_nothing_is_left_or_stopped(job):
    left = [3]

    async def chunk(uow):
        left[0] -= 1
        return left[0] > 0

    assert await job.repeat(chunk) == 3
    assert _Uow.log.count("commit") == 3
    stop = asyncio.Event()
    stop.set()
    assert await job.repeat(chunk, stop) == 0
