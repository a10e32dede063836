from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.intake.deps import Reader
from services.intake.last_payment import service
from services.intake.last_payment.schemas import LastPaymentOut
from shared.app import UowDep

router = APIRouter(prefix="/households", tags=["households"])


@router.get(
    "/{household_id}/last-payment",
    summary="The household's last payment status (paid or failed, with the bank's reason)",
)
async def last_payment(household_id: uuid.UUID, uow: UowDep, principal: Reader) -> LastPaymentOut:
    return await service.last_payment(uow, principal, household_id)
