"""Batches follow decisions, and 多发追回: money that went out for a month beyond what is owed for it now is recorded
for finance to recover, never silently ignored.

Whenever what a person is owed changes (a raise, a lower amount, a stop, a death; back-dated or not), every batch not
yet exported that holds lines of that person has them computed again from the balance (owed − paid − in flight −
pending): a raise reaches the batch, a lower amount or a stop leaves it. If its envelope (count, total) changes, the
batch is amended and an approved one goes back to `built` (`DisbursementBatch.amend`), so another officer approves
the new figures before export. What the bank already holds beyond what is owed is an overpayment (open rows summing
to it per person and month; they close by themselves when a later decision restores the amount)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from services.payments.batches.repository import BatchRepository
from services.payments.recovery.domain import OverpaymentCase
from services.payments.recovery.repository import RecoveryRepository
from services.payments.recovery.schemas import OverpaymentOut, OverpaymentPage, OverpaymentQuery
from services.payments.roll.domain import PersonChange
from shared import audit
from shared.auth import Principal
from shared.core.period import Period
from shared.events.catalogue import ONE_OFF
from shared.pagination import Rows, narrowed
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
SYSTEM = "payments"
_FOLLOW = "computed again after a decision or a bank return (待遇变更, 退汇)"


async def follow(uow: UnitOfWork, changes: Sequence[PersonChange]) -> None:
    """A run's changes of what people are owed, at once: the batches not yet at the bank holding them follow, and what
    the bank already holds beyond what is owed is recorded (set-based: a few statements whatever the number)."""
    if not changes:
        return
    repo, batches = RecoveryRepository(uow.session), BatchRepository(uow.session)
    persons = sorted({(c.household_id, c.programme, c.member_id) for c in changes})
    reasons = {(c.household_id, c.programme, c.member_id): c.reason for c in changes}
    batch_ids = await repo.batches_holding(persons)
    if batch_ids:
        await batches.lock_balances()
    for batch_id in batch_ids:
        batch = await batches.get(batch_id, for_update=True)
        assert batch is not None
        before = await batches.settlement(batch_id)
        cancelled = await repo.cancel_lines_of(batch_id, persons, _FOLLOW)
        # The overpayments as the change leaves them, before the batch withholds: one it makes (a death, a lower
        # amount) is withheld now as a batch built after it would; one it undoes closes `restored`, not withheld.
        await _recorded(uow, await repo.record_for_households(_households(changes)))
        await batches.insert_balance_lines_of(batch, persons)
        if batch.recovery_percent:
            await recovered(uow, await batches.deduct_of(batch, persons))
        after = await batches.settlement(batch_id)
        if (after.line_count, after.total_fen) == (before.line_count, before.total_fen):
            continue  # the same figures: the approval given still stands
        same = await repo.remade(batch_id, [x.payment_id for x in cancelled])
        cancelled = [x for x in cancelled if (x.payment_id, x.amount_fen) not in same]  # not made again as it was
        households = {x.household_id for x in cancelled} or {h for h, _, _ in persons}
        why = ", ".join(sorted({r for (h, _, _), r in reasons.items() if h in households})) or "decision"
        was = batch.status.value
        batch.amend(after, len(cancelled), sum(x.amount_fen for x in cancelled), why)
        await batches.save(batch)
        uow.track(batch)
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
                "cancelled_count": len(cancelled),
                "cancelled_fen": sum(x.amount_fen for x in cancelled),
                "line_count": after.line_count,
                "total_fen": after.total_fen,
                "households": sorted(str(h) for h in households),
            },
        )
        log.info(
            "batch %s amended after a decision or a bank return: %d -> %d fen (%s)",
            batch.id,
            before.total_fen,
            after.total_fen,
            why,
        )
    await _recorded(uow, await repo.record_for_households(_households(changes)))


async def returned_unpaid(uow: UnitOfWork, lines: Sequence[PersonChange]) -> None:
    """After a bank return, for the persons of its lines failed or reversed (退汇): the money taken back can bring
    what was sent below what was recorded as overpaid (the overpayment closes, `restored`), and such a line gives
    back what it deducted (扣回: its overpayment opens again). Then the batches not yet at the bank that hold
    these persons follow, as they follow a decision: their balance now counts the month as unpaid and withholds
    only for what is still open. A one-off award (临时救助, 医疗救助) has no balance: the next batch that pays awards
    sends it again."""
    if lines:
        await _recorded(uow, await RecoveryRepository(uow.session).record_for_households(_households(lines)))
        await follow(uow, [line for line in lines if line.programme not in ONE_OFF])


def _households(changes: Sequence[PersonChange]) -> list[uuid.UUID]:
    return sorted({c.household_id for c in changes})


async def record_in_region(uow: UnitOfWork, region_code: str) -> int:
    """Every month of the region paid beyond what is owed now (e.g. an amount lowered backdated); fen recorded."""
    settled, rows = await RecoveryRepository(uow.session).record_in_region(region_code)
    await _recorded(uow, (settled, rows))
    return sum(r.amount_fen for r in rows)


async def deductions_returned(uow: UnitOfWork, batch_id: uuid.UUID) -> None:
    """A batch cancelled before export: what its lines deducted (扣回) is given back, their overpayments open again."""
    await recovered(uow, await RecoveryRepository(uow.session).settle_batch(batch_id))


async def recovered(uow: UnitOfWork, rows: list[Any]) -> None:
    """Audits overpayments closed `recovered` by deductions, or opened again when a deduction came back."""
    await audit.record(
        uow,
        SYSTEM,
        "overpayment.recovered",
        "overpayment",
        [
            {
                "resource_id": r.id,
                "household_id": r.household_id,
                "region_code": r.region_code,
                "details": {
                    "period": str(Period.of(r.period)),
                    "status": getattr(r, "status", "closed"),
                    "amount_fen": r.amount_fen,
                },
            }
            for r in rows
        ],
    )


async def _recorded(uow: UnitOfWork, settled_and_recorded: tuple[list[Any], list[Any]]) -> None:
    settled, rows = settled_and_recorded
    await recovered(uow, settled)
    await _audited(uow, rows)


async def _audited(uow: UnitOfWork, rows: list[Any]) -> None:
    await audit.record(
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


async def in_region(uow: UnitOfWork, principal: Principal, query: OverpaymentQuery) -> OverpaymentPage:
    prefix = narrowed(principal.region, query.region)
    page = await RecoveryRepository(uow.session).page(prefix, query) if prefix is not None else Rows([], None, 0)
    # Each overpayment shown is a read of its household's money.
    await audit.record(
        uow,
        principal,
        "overpayment.list",
        "overpayment",
        page.rows,
        details={"status": query.status, "programme": query.programme},
    )
    return OverpaymentPage(
        items=[OverpaymentOut.model_validate(r, from_attributes=True) for r in page.rows],
        next=page.next,
        total=page.total,
    )


async def _step(uow: UnitOfWork, principal: Principal, overpayment_id: int, action: str, reason: str | None) -> object:
    """Load the overpayment (within the officer's region), take the step, save, audit; then what the bank holds beyond
    what is owed is recorded again for the person (a repayment or waiver changes what is still to recover)."""
    repo = RecoveryRepository(uow.session)
    row = principal.sees(await repo.get(overpayment_id, for_update=True), f"overpayment {overpayment_id}")
    # Partly recovered by deduction (扣回): the deducted part closes `recovered`, the step is taken on what is left.
    await repo.split_deducted(row.id)
    row = principal.sees(await repo.get(overpayment_id, for_update=True), f"overpayment {overpayment_id}")
    case = OverpaymentCase(row.id, row.status, row.requested_by)
    {"repaid": case.repaid, "request_waiver": case.request_waiver, "approve_waiver": case.approve_waiver}[action](
        principal.sub
    )
    await repo.save(
        row.id,
        status=case.status,
        requested_by=case.requested_by,
        closed_reason=case.closed_reason,
        closed_by=case.closed_by,
        closed_at=case.closed_at,
    )
    await audit.record(
        uow,
        principal,
        f"overpayment.{action}",
        "overpayment",
        row.id,
        household_id=row.household_id,
        region_code=row.region_code,
        reason=reason,
        details={"period": str(Period.of(row.period)), "amount_fen": row.amount_fen},
    )
    await _recorded(uow, await repo.record_for_households([row.household_id]))
    return principal.sees(await repo.get(overpayment_id), f"overpayment {overpayment_id}")


async def repaid(uow: UnitOfWork, principal: Principal, overpayment_id: int, reason: str | None) -> OverpaymentOut:
    return OverpaymentOut.model_validate(
        await _step(uow, principal, overpayment_id, "repaid", reason), from_attributes=True
    )


async def request_waiver(uow: UnitOfWork, principal: Principal, overpayment_id: int, reason: str) -> OverpaymentOut:
    return OverpaymentOut.model_validate(
        await _step(uow, principal, overpayment_id, "request_waiver", reason), from_attributes=True
    )


async def approve_waiver(uow: UnitOfWork, principal: Principal, overpayment_id: int) -> OverpaymentOut:
    return OverpaymentOut.model_validate(
        await _step(uow, principal, overpayment_id, "approve_waiver", None), from_attributes=True
    )
