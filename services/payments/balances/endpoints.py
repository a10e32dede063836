from __future__ import annotations

from fastapi import APIRouter

from services.payments.balances import service
from services.payments.balances.schemas import HeldIn, HeldOut
from services.payments.deps import Reader
from shared.app import UowDep

router = APIRouter(prefix="/balances", tags=["balances"])


@router.post(
    "/held",
    summary="已付 + 在途 + 待发 per person and month, less 退回 and 扣回: what the next batch subtracts from owed",
)
async def held(body: HeldIn, uow: UowDep, principal: Reader) -> list[HeldOut]:
    return await service.held(uow, principal, body)
