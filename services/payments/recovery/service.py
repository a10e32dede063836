"""多发追回: money that went out for a month beyond what is owed for it now is recorded for finance to recover, never
silently ignored — a death or 停保 recorded after the month's batch went to the bank, or an amount lowered
backdated (found when a supplement batch is built).

A late stop also stops money not yet at the bank: that person's lines for months after the last month owed are
cancelled in every batch not yet exported; the batch's envelope is recomputed and an approved batch goes back to
`built` (`DisbursementBatch.amend`), so it is approved again on the new figures before export."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from services.payments.batches.repository import BatchRepository
from services.payments.recovery.repository import RecoveryRepository
from services.payments.recovery.schemas import OverpaymentOut
from shared import audit
from shared.auth import Principal
from shared.period import Period
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
SYSTEM = "payments"


class Stopped(Protocol):
    """A beneficiary whose payments end (the roll's entry or row)."""

    id: uuid.UUID
    household_id: uuid.UUID


async def after_stops(uow: UnitOfWork, stops: Sequence[tuple[Stopped, Period, str]]) -> None:
    """停保 / death / 渐退 ends, a run at once: nothing more goes out after each one's last month, and what already
    went is to recover (set-based: one statement each, whatever the number of people)."""
    if not stops:
        return
    repo, batches = RecoveryRepository(uow.session), BatchRepository(uow.session)
    pairs = [(b.id, last) for b, last, _ in stops]
    reasons = {b.id: reason for b, _, reason in stops}
    households = {b.id: b.household_id for b, _, _ in stops}
    batch_ids = await repo.batches_paying_after(pairs)
    cancelled: dict[uuid.UUID, list[Any]] = {}
    for line in await repo.cancel_lines_after(pairs, batch_ids) if batch_ids else []:
        cancelled.setdefault(line.batch_id, []).append(line)
    for batch_id, lines in cancelled.items():
        batch = await batches.get(batch_id, for_update=True)
        assert batch is not None
        count, fen = len(lines), sum(x.amount_fen for x in lines)
        why = ", ".join(sorted({reasons[x.beneficiary_id] for x in lines}))
        was = batch.status.value
        batch.amend(await batches.settlement(batch_id), count, fen, why)
        await batches.save(batch)
        for event in batch.events:
            uow.emit(event, key=batch.id, region=batch.region_code)
        batch.events.clear()
        await audit.record(
            uow,
            SYSTEM,
            "batch.amend",
            "batch",
            batch.id,
            region_code=batch.region_code,
            reason=why,
            details={
                "kind": batch.kind.value,
                "period": str(batch.period),
                "was": was,
                "now": batch.status.value,
                "cancelled_count": count,
                "cancelled_fen": fen,
                "line_count": batch.line_count,
                "total_fen": batch.total_fen,
                "households": sorted({str(households[x.beneficiary_id]) for x in lines}),
            },
        )
        log.info("batch %s amended: %d line(s), %d fen cancelled after a late stop (%s)", batch.id, count, fen, why)
    await _audited(uow, await repo.record_for_beneficiaries(list(reasons)))


async def record_in_region(uow: UnitOfWork, region_code: str) -> int:
    """Every month of the region paid beyond what is owed now (e.g. an amount lowered backdated); fen recorded."""
    rows = await RecoveryRepository(uow.session).record_in_region(region_code)
    await _audited(uow, rows)
    return sum(r.amount_fen for r in rows)


async def _audited(uow: UnitOfWork, rows: list[Any]) -> None:
    await audit.record_many(
        uow,
        SYSTEM,
        "overpayment.record",
        "beneficiary",
        [
            {
                "resource_id": r.beneficiary_id,
                "household_id": r.household_id,
                "region_code": r.region_code,
                "details": {"period": str(Period.of(r.period)), "amount_fen": r.amount_fen, "reason": r.reason},
            }
            for r in rows
        ],
    )


async def in_region(
    uow: UnitOfWork, principal: Principal, status: str | None, after: int, limit: int
) -> list[OverpaymentOut]:
    rows = await RecoveryRepository(uow.session).in_region(principal.region, status, after, limit)
    await audit.record(
        uow,
        principal,
        "overpayment.list",
        "overpayment",
        None,
        region_code=principal.region,
        details={"count": len(rows), "status": status},
    )
    return [OverpaymentOut.model_validate(r, from_attributes=True) for r in rows]
