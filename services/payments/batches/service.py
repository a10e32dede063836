"""Disbursement batches: the service loads a `DisbursementBatch`, calls its step, saves it, audits the actor and
hands the events it raised to the outbox. Building lines runs as a background job (`build`), chunk by chunk."""

from __future__ import annotations

import logging
import uuid
from typing import IO

from services.payments.batches import files
from services.payments.batches.domain import BatchKind, BatchStatus, DisbursementBatch, Settlement
from services.payments.batches.repository import BatchRepository, file_envelope, file_households, stream_file_rows
from services.payments.batches.schemas import (
    BatchIn,
    BatchOut,
    BatchPage,
    BatchQuery,
    LineOut,
    LinePage,
    LineQuery,
    Progress,
    Reconciliation,
)
from services.payments.models import PaymentLine, village_names
from services.payments.recovery import service as recovery
from shared import audit
from shared.auth import Principal
from shared.core.period import Period, china_today
from shared.core.regions import InvalidRegionCode, RegionTable, UnknownRegionCode
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.pagination import Rows, narrowed
from shared.places import PlaceNames
from shared.sealing import Keyring
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def create(
    uow: UnitOfWork, principal: Principal, body: BatchIn, recovery_percent: int = 0
) -> tuple[DisbursementBatch, bool]:
    """(batch, created). A regular batch already requested for the region and month is answered as it is. A regular
    batch withholds at most `recovery_percent` % of each line to recover the person's open overpayments (扣回)."""
    if not principal.covers(body.region_code):
        raise Forbidden(
            f"region {body.region_code} is outside your region {principal.region or '(national)'}",
            errors=[{"field": "region_code", "message": "outside your region"}],
        )
    if (body.case_ids is not None) != (body.kind == "urgent"):
        raise InvalidInput("case_ids", "required for urgent batches, and only for them")
    # Months not yet due are not paid ahead: a batch is prepared at most in the month before its own (China time).
    coming = Period.of(china_today()).next()
    if body.period > coming:
        raise InvalidInput("period", f"at most the coming month ({coming}): months not yet due are not paid ahead")
    batch = DisbursementBatch.request(
        BatchKind(body.kind), body.region_code, body.period, principal.sub, body.case_ids, recovery_percent
    )
    existing = await BatchRepository(uow.session).add_unless_regular_exists(batch)
    if existing is not None:
        await audit.record(
            uow,
            principal,
            "batch.request_existing",
            "batch",
            existing.id,
            region_code=existing.region_code,
            details=existing.described,
        )
        return existing, False
    uow.track(batch)
    await audit.record(
        uow, principal, "batch.create", "batch", batch.id, region_code=batch.region_code, details=batch.described
    )
    return batch, True


async def visible(
    uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, *, for_update: bool = False
) -> DisbursementBatch:
    """The batch, if the caller's region holds it; tracked by the unit of work, which collects the events its steps
    raise."""
    batch = principal.sees(await BatchRepository(uow.session).get(batch_id, for_update=for_update), f"batch {batch_id}")
    uow.track(batch)
    return batch


async def approve(uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID) -> DisbursementBatch:
    batch = await visible(uow, principal, batch_id, for_update=True)
    batch.approve(principal.sub)
    await BatchRepository(uow.session).save(batch)
    await audit.record(
        uow,
        principal,
        "batch.approve",
        "batch",
        batch.id,
        region_code=batch.region_code,
        details={**batch.described, "line_count": batch.line_count, "total_fen": batch.total_fen},
    )
    return batch


async def cancel(uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, reason: str) -> DisbursementBatch:
    batch = await visible(uow, principal, batch_id, for_update=True)
    batch.cancel(principal.sub)
    repo = BatchRepository(uow.session)
    await repo.save(batch)
    await repo.cancel_lines(batch.id)  # their slots are free again: the month can be paid in another batch
    await recovery.deductions_returned(uow, batch.id)  # and what they deducted (扣回) is to recover again
    await audit.record(
        uow,
        principal,
        "batch.cancel",
        "batch",
        batch.id,
        region_code=batch.region_code,
        reason=reason,
        details={"kind": batch.kind.value, "period": str(batch.period)},
    )
    return batch


async def export(uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID) -> DisbursementBatch:
    batch = await visible(uow, principal, batch_id, for_update=True)
    first = batch.export()
    await BatchRepository(uow.session).save(batch)
    await audit.record(
        uow,
        principal,
        "batch.export" if first else "batch.export_again",
        "batch",
        batch.id,
        region_code=batch.region_code,
        details=batch.described,
    )
    return batch


async def in_region(uow: UnitOfWork, principal: Principal, query: BatchQuery, period: Period | None) -> BatchPage:
    prefix = narrowed(principal.region, query.region)
    page = await BatchRepository(uow.session).page(prefix, query, period) if prefix is not None else Rows([], None, 0)
    return BatchPage(items=[await to_out(uow, b) for b in page.rows], next=page.next, total=page.total)


async def lines(uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, query: LineQuery) -> LinePage:
    batch = await visible(uow, principal, batch_id)
    page = await BatchRepository(uow.session).lines(batch.id, query)
    # Each line shown is a read of its household's payment (and account's last digits).
    await audit.record(
        uow, principal, "batch.lines", "payment_line", [r[0] for r in page.rows], details={"batch_id": str(batch.id)}
    )
    items = [line_out(r[0], account_last4=r.account_last4, account_changed=r.account_changed) for r in page.rows]
    return LinePage(items=items, next=page.next, total=page.total)


async def bank_file(
    uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, keyring: Keyring, encoding: str
) -> tuple[DisbursementBatch, IO[bytes]]:
    """The bank file, whole, read audited: its count and total are read first and the file must hold exactly them,
    or it is refused (409), never sent in part. The request commits its audit record before a byte is sent."""
    batch = await _file_ready(uow, principal, batch_id, "bank_file")
    conn = await uow.session.connection()
    expected = await file_envelope(conn, batch.id)
    try:
        return batch, await files.bank_file(stream_file_rows(conn, batch.id), keyring, encoding, expected)
    except files.FileNotWhole as exc:
        log.error("bank file of batch %s refused: %s", batch.id, exc)
        raise Conflict(
            f"the bank file cannot be produced whole: {exc}", errors=[{"field": "bank_file", "message": str(exc)}]
        ) from exc


async def roster(
    uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, keyring: Keyring, township: str
) -> tuple[DisbursementBatch, IO[bytes]]:
    """The 花名册 of one township, read audited."""
    batch = await _file_ready(uow, principal, batch_id, "roster", township)
    try:
        name: str | None = RegionTable.load().name(township)
    except (InvalidRegionCode, UnknownRegionCode):
        name = None  # a township newer than the shipped tables: the roster shows its code
    places = await PlaceNames.of_township(uow, village_names, township)
    conn = await uow.session.connection()
    rows = stream_file_rows(conn, batch.id, township)
    return batch, await files.roster(rows, keyring, batch, township, name, places.village)


async def _file_ready(
    uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, what: str, township: str | None = None
) -> DisbursementBatch:
    """The bank file and the roster exist once the batch is exported; reading them is audited (they show payees):
    one record for each household whose lines the file holds, read from the batch in one statement."""
    batch = await visible(uow, principal, batch_id)
    if batch.status not in (BatchStatus.EXPORTED, BatchStatus.RECONCILED):
        raise Conflict(
            f"the batch is {batch.status.value}: export it (after approval) first",
            errors=[{"field": "status", "message": f"is {batch.status.value}, not exported"}],
        )
    paid = await file_households(await uow.session.connection(), batch.id, township)
    await audit.record(
        uow,
        principal,
        f"batch.{what}",
        "batch",
        [{"resource_id": batch.id, "household_id": h, "region_code": region} for h, region in paid],
        details={**batch.described, "township": township},
    )
    return batch


async def settlement(uow: UnitOfWork, batch: DisbursementBatch) -> Settlement:
    return await BatchRepository(uow.session).settlement(batch.id)


def reconciliation(s: Settlement) -> Reconciliation:
    return Reconciliation.model_validate(s, from_attributes=True)


async def to_out(uow: UnitOfWork, batch: DisbursementBatch, *, with_reconciliation: bool = False) -> BatchOut:
    rec = None
    if with_reconciliation and batch.status is not BatchStatus.BUILDING:
        rec = reconciliation(await settlement(uow, batch))
    return BatchOut.model_validate(
        {
            **vars(batch),
            "kind": batch.kind.value,
            "status": batch.status.value,
            "reconciliation": rec,
            "progress": Progress(done=batch.progress_done, total=batch.progress_total),
        }
    )


def line_out(line: PaymentLine, **payee: object) -> LineOut:
    return LineOut.model_validate({**LineOut.model_validate(line, from_attributes=True).model_dump(), **payee})


# --- the build job -----------------------------------------------------------------------------------------------


async def build_step(uow: UnitOfWork, batch_id: uuid.UUID, chunk_size: int) -> bool:
    """One step of building a batch's lines (the build job commits it); False once there is nothing more to do.

    Regular, supplement (提标补发) and reissue (重发) batches are one computation: for each chunk of the region's
    households, every month's balance (owed − paid − in flight − pending) up to the batch's last month becomes a line
    (see `BatchRepository.insert_balance_lines`); regular and reissue batches then add the one-off awards not yet paid.
    Each step locks the batch row (so two workers never build the same chunk, and a cancel waits for the step) and
    the balances (nothing else computes them meanwhile), inserts the chunk's lines and moves the cursor in the same
    transaction: a worker killed at any point leaves either the whole chunk and its cursor or neither. Nothing
    missing, nothing doubled."""
    repo = BatchRepository(uow.session)
    batch = await repo.get(batch_id, for_update=True, skip_locked=True)
    if batch is None or batch.status is not BatchStatus.BUILDING:
        return False
    uow.track(batch)
    if batch.kind is not BatchKind.URGENT:
        await repo.lock_balances()
        await repo.plan_for_chunk()
        if batch.progress_total is None:
            batch.progress_total = await repo.count_candidates(batch.region_code)
        cursor = await repo.build_cursor(batch.id)
        chunk = await repo.next_chunk(batch.region_code, cursor, chunk_size)
        if chunk is not None:
            await repo.insert_balance_lines(batch, chunk)
            if batch.recovery_percent:
                await recovery.recovered(uow, await repo.deduct(batch, chunk))
            await repo.save_progress(
                batch.id, batch.progress_done + len(chunk.households), batch.progress_total, chunk.households[-1]
            )
            return True
    if batch.kind is BatchKind.SUPPLEMENT:
        # The other side of 补发: months paid beyond what is owed now are recorded for recovery.
        await recovery.record_in_region(uow, batch.region_code)
    else:
        await repo.insert_one_off_lines(batch)
    envelope = await repo.settlement(batch.id)
    batch.built(envelope.line_count, envelope.total_fen)
    if batch.kind is BatchKind.URGENT:
        batch.progress_done = batch.progress_total = envelope.line_count
    await repo.save(batch)
    await audit.record(
        uow,
        "payments",
        "batch.built",
        "batch",
        batch.id,
        region_code=batch.region_code,
        details={**batch.described, "line_count": envelope.line_count, "total_fen": envelope.total_fen},
    )
    log.info("batch %s built: %d lines, %d fen", batch.id, envelope.line_count, envelope.total_fen)
    return False


async def pending_builds(uow: UnitOfWork) -> list[uuid.UUID]:
    return await BatchRepository(uow.session).building()
