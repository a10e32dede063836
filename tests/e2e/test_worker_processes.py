"""A worker with two consumer processes (ELIGIBILITY_CONSUMER_PROCESSES=2): the second joins the consumer group,
each effect still happens exactly once, and a consumer process never outlives its SIGKILLed worker."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import wait_for
from tests.e2e.test_backbone_faults import _cases_for, _submit


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return bool(stat) and stat.split(") ")[1][0] != "Z"


async def test_two_consumer_processes_share_the_work_and_die_with_their_worker(stack, http, tokens, db):
    stack.stop("eligibility-worker")
    stack.start_worker("eligibility", {"ELIGIBILITY_CONSUMER_PROCESSES": "2"})
    try:
        parent = stack.procs["eligibility-worker"].pid

        async def forked() -> list[int]:
            return _children(parent)

        children = await wait_for(forked, timeout=20)
        assert len(children) == 1

        submitted = [await _submit(http, stack, tokens) for _ in range(12)]  # keys spread over the 6 partitions

        async def all_opened() -> bool:
            return all([await _cases_for(db, aid) == 1 for _, aid in submitted])

        await wait_for(all_opened, timeout=90, interval=0.5)
        assert "relay=False" in (stack.log_dir / "eligibility-worker.log").read_text()  # the consumer-only one

        stack.kill("eligibility-worker")

        async def gone() -> bool:
            return not _alive(children[0])

        await wait_for(gone, timeout=15)  # else: the consumer process outlived its killed worker
    finally:
        if "eligibility-worker" in stack.procs:
            stack.stop("eligibility-worker")
        stack.start_worker("eligibility")
