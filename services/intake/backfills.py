"""The intake worker's start-up back-fills: bank accounts put on file before intake announced accounts to payments
(releases up to 2026-11-24; marked by migration 0010_intake_payee_backfill) are announced once, in chunks, so the
first batch pays those households instead of failing their lines with "no bank account on file"; village lists
loaded before `villages.loaded` existed (marked by migration 0016) are announced once, so eligibility prints the
villages' names. Nothing pending: one query each, then the job ends."""

from __future__ import annotations

from services.intake.config import Settings
from services.intake.households.service import announce_unannounced_payees
from services.intake.regions.service import announce_unannounced_villages
from shared.jobs import backfill
from shared.worker import BackgroundTask


def payee_backfill(settings: Settings, chunk: int = 1000) -> BackgroundTask:
    return backfill("payee back-fill", lambda uow: announce_unannounced_payees(uow, settings, chunk), chunk)


def villages_backfill() -> BackgroundTask:
    # A province has about a hundred counties: one step announces them all.
    return backfill("village list back-fill (counties)", announce_unannounced_villages, chunk=10**6)
