from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.payments.deps import Finance, Reader
from services.payments.recovery import service
from services.payments.recovery.schemas import OverpaymentOut, OverpaymentPage, OverpaymentQuery, ReasonIn
from shared.app import UowDep

router = APIRouter(prefix="/overpayments", tags=["recovery"])


@router.get("", summary="多发待追回: months paid beyond what is owed now, in your region, a page at a time (by id)")
async def overpayments(uow: UowDep, principal: Reader, query: Annotated[OverpaymentQuery, Query()]) -> OverpaymentPage:
    return await service.in_region(uow, principal, query)


Id = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/{overpayment_id}/repaid", summary="退回: the person paid the overpayment back; it closes")
async def repaid(overpayment_id: Id, body: ReasonIn, uow: UowDep, principal: Finance) -> OverpaymentOut:
    return await service.repaid(uow, principal, overpayment_id, body.reason)


@router.post(
    "/{overpayment_id}/waiver", summary="Ask for the overpayment to be waived (核销); another officer approves"
)
async def request_waiver(overpayment_id: Id, body: ReasonIn, uow: UowDep, principal: Finance) -> OverpaymentOut:
    return await service.request_waiver(uow, principal, overpayment_id, body.reason)


@router.post(
    "/{overpayment_id}/waiver/approve",
    summary="Approve a waiver (双人复核: not by the officer who asked for it); the overpayment closes",
)
async def approve_waiver(overpayment_id: Id, uow: UowDep, principal: Finance) -> OverpaymentOut:
    return await service.approve_waiver(uow, principal, overpayment_id)
