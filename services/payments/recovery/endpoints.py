from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.payments.deps import Reader
from services.payments.recovery import service
from services.payments.recovery.schemas import OverpaymentOut
from shared.app import UowDep

router = APIRouter(prefix="/overpayments", tags=["recovery"])


@router.get("", summary="多发待追回: months paid beyond what is owed now, in your region (for finance to recover)")
async def overpayments(
    uow: UowDep,
    principal: Reader,
    status: Literal["open"] | None = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="the last id of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[OverpaymentOut]:
    return await service.in_region(uow, principal, status, after, limit)
