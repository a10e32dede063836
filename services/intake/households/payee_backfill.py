"""The intake worker's payee back-fill: bank accounts put on file before intake announced accounts to payments
(releases up to 2026-11-24; marked by migration 0010_intake_payee_backfill) are announced once, in chunks, when
the worker starts after an upgrade, so the first batch pays those households instead of failing their lines
with "no bank account on file". Nothing pending: one query, then the job ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.intake.config import Settings
from services.intake.households.service import announce_unannounced_payees
from shared.jobs import Job
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def payee_backfill(settings: Settings, chunk: int = 1000):
    async def run(uow_factory: Callable[[], UnitOfWork], stop: asyncio.Event) -> None:
        job = Job(uow_factory)  # one committed step per chunk
        total = 0
        while not stop.is_set():
            try:
                done = await job.step(lambda uow: announce_unannounced_payees(uow, settings, chunk))
            except Exception:
                log.exception("payee back-fill chunk failed; retrying")
                await asyncio.sleep(5)
                continue
            total += done
            if done < chunk:
                break
        if total:
            log.info("payee back-fill: announced the accounts of %d households to payments", total)

    return run
