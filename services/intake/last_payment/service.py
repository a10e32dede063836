"""A household's last payment status for the front desk (最近一次发放), from payments' events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.intake.households.service import get_visible
from services.intake.last_payment.schemas import LastPaymentOut
from services.intake.models import LastPayment
from shared import audit
from shared.auth import Principal
from shared.core.period import Period
from shared.errors import NotFound
from shared.events.catalogue import PaymentFailed, PaymentPaid
from shared.uow import UnitOfWork


async def on_payment(uow: UnitOfWork, data: PaymentPaid | PaymentFailed) -> None:
    """The latest month wins; within a month a later report (a re-issue paid after a failure) replaces the earlier."""
    values = {
        "payment_id": data.payment_id,
        "programme": data.programme,
        "period": data.period.first_day,
        "amount_fen": data.amount_fen,
        "status": "paid" if isinstance(data, PaymentPaid) else "failed",
        "reason": getattr(data, "reason", None),
        "reported_at": datetime.now(UTC),
    }
    stmt = insert(LastPayment).values(household_id=data.household_id, **values)
    await uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["household_id"], set_=values, where=LastPayment.period <= stmt.excluded.period
        )
    )


async def last_payment(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID) -> LastPaymentOut:
    household = await get_visible(uow, principal, household_id)
    row = await uow.session.scalar(select(LastPayment).where(LastPayment.household_id == household.id))
    await audit.record(uow, principal, "household.last_payment", "household", household)
    if row is None:
        raise NotFound(f"no payment reported yet for household {household_id}")
    return LastPaymentOut(
        programme=row.programme,
        period=Period.of(row.period),
        amount_fen=row.amount_fen,
        status=row.status,
        reason=row.reason,
        reported_at=row.reported_at,
    )
