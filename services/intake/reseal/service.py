"""重新加密 (re-sealing): after a key rotation or a change of crypto profile, every sealed ID number and bank account
is opened with the key that sealed it and sealed again with the current one; under another profile the members'
fingerprints are recomputed too (HMAC-SHA256 ↔ HMAC-SM3), and each household whose fingerprints changed is
announced again (`household.updated.v1` with its identities), so monitoring's read model matches on the new ones.

Chunked: each chunk (members: those of the next N households, so a household is announced once; accounts: the next
N households; keyset by id, locked) is opened and sealed in memory, written back with one UPDATE,
audited (one record per value opened, one statement) and committed, progress logged. What is done is done: rows
already under the current key and profile are not selected again, so a killed run resumes where it stopped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.intake.config import Settings
from services.intake.households.service import announce_updated, emit_payee
from services.intake.reseal.repository import ResealRepository
from services.intake.sealed import open_account, open_id_number, seal_account, seal_id_number
from shared import audit
from shared.core.identity import fingerprinter
from shared.jobs import Job
from shared.sealing import Keyring
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
ACTOR = "intake.reseal"


@dataclass
class Progress:
    """What a run did: values re-sealed, fingerprints recomputed, households announced, chunks committed."""

    members: int = 0
    fingerprints: int = 0
    households_announced: int = 0
    accounts: int = 0
    payees_announced: int = 0
    chunks: int = 0
    log: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.log.append(message)
        log.info(message)


async def _members_chunk(
    uow: UnitOfWork,
    settings: Settings,
    ring: Keyring,
    fingerprint: Callable[[str], str],
    after: uuid.UUID | None,
    chunk: int,
    progress: Progress,
) -> uuid.UUID | None:
    repo = ResealRepository(uow.session)
    rows = await repo.members_chunk(ring.current, settings.crypto_profile, after, chunk)
    if not rows:
        return None
    updates, refingerprinted = [], set()
    for r in rows:
        number = open_id_number(ring, r.id, r.id_number_key_id, r.id_number_sealed)
        sealed = seal_id_number(ring, r.id, number)
        updates.append(
            {
                "id": r.id,
                "sealed": sealed["id_number_sealed"],
                "key_id": sealed["id_number_key_id"],
                "fingerprint": fingerprint(number),
                "profile": settings.crypto_profile,
            }
        )
        if r.fingerprint_profile != settings.crypto_profile and r.active:
            refingerprinted.add(r.household_id)
    await repo.update_members(updates)
    await audit.record(
        uow,
        ACTOR,
        "member.id_number.reseal",
        "member",
        [
            {"resource_id": r.id, "household_id": r.household_id, "details": {"from_key": r.id_number_key_id}}
            for r in rows
        ],
    )
    if refingerprinted:
        # The members' identities changed: monitoring matches partner rows on them.
        for household, members in await repo.with_members(refingerprinted):
            announce_updated(uow, household, members)
            progress.households_announced += 1
    progress.members += len(rows)
    progress.fingerprints += sum(r.fingerprint_profile != settings.crypto_profile for r in rows)
    return rows[-1].household_id


async def _households_chunk(
    uow: UnitOfWork, ring: Keyring, announce: bool, after: uuid.UUID | None, chunk: int, progress: Progress
) -> uuid.UUID | None:
    repo = ResealRepository(uow.session)
    rows = await repo.households_chunk(ring.current, announce, after, chunk)
    if not rows:
        return None
    now, updates = datetime.now(UTC), []
    for r in rows:
        number = open_account(ring, r.id, r.bank_account_changed_at, r.bank_account_key_id, r.bank_account_sealed)
        # Announced again: a new version of the payee, which payments makes current (and binds to its changed_at).
        changed_at = now if announce else r.bank_account_changed_at
        sealed = seal_account(ring, r.id, changed_at, number)
        updates.append(
            {
                "id": r.id,
                "sealed": sealed["bank_account_sealed"],
                "key_id": sealed["bank_account_key_id"],
                "changed_at": changed_at,
            }
        )
        if announce:
            account = {"bank_name": r.bank_name, "account_holder": r.bank_account_holder, "account_number": number}
            emit_payee(uow, r.id, r.region_code, changed_at, account, ring)
    await repo.update_households(updates)
    await audit.record(
        uow,
        ACTOR,
        "household.bank_account.reseal",
        "household",
        [
            {
                "resource_id": r.id,
                "household_id": r.id,
                "region_code": r.region_code,
                "details": {"from_key": r.bank_account_key_id, "announced": announce},
            }
            for r in rows
        ],
    )
    progress.accounts += len(rows)
    progress.payees_announced += len(rows) if announce else 0
    return rows[-1].id


async def reseal(
    uow_factory: Callable[[], UnitOfWork],
    settings: Settings,
    *,
    chunk: int = 2000,
    max_chunks: int | None = None,
    announce_payees: bool = False,
) -> Progress:
    """Re-seal every member's ID number and every household's account not yet under the current key (and profile);
    `announce_payees` also announces every account to payments again (after its keys rotate, or to bind payees
    stored before the associated data named the payee version). `max_chunks` stops early (the next run resumes)."""
    ring = settings.keyring()
    fingerprint = fingerprinter(settings.pii_hmac_key.encode(), settings.crypto_profile)
    progress = Progress()
    async with uow_factory() as uow:
        repo = ResealRepository(uow.session)
        members_total = await repo.members_left(ring.current, settings.crypto_profile)
        households_total = await repo.households_left(ring.current, announce_payees)
    progress.note(
        f"re-sealing under key {ring.current!r} ({ring.algorithm()}), profile {settings.crypto_profile!r}: "
        f"{members_total} members, {households_total} bank accounts to do"
    )
    job = Job(uow_factory)  # one committed step per chunk: a stopped run resumes where it was
    after: uuid.UUID | None = None
    while max_chunks is None or progress.chunks < max_chunks:
        after = await job.step(
            lambda uow, a=after: _members_chunk(uow, settings, ring, fingerprint, a, chunk, progress)
        )
        if after is None:
            break
        progress.chunks += 1
        progress.note(f"members: {progress.members} of {members_total} re-sealed (last household {after})")
    after = None
    while max_chunks is None or progress.chunks < max_chunks:
        after = await job.step(lambda uow, a=after: _households_chunk(uow, ring, announce_payees, a, chunk, progress))
        if after is None:
            break
        progress.chunks += 1
        progress.note(f"bank accounts: {progress.accounts} of {households_total} re-sealed (last id {after})")
    progress.note(
        f"done: {progress.members} ID numbers ({progress.fingerprints} fingerprints recomputed, "
        f"{progress.households_announced} households announced), {progress.accounts} bank accounts "
        f"({progress.payees_announced} payees announced), {progress.chunks} chunks"
    )
    return progress
