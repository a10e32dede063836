from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.deps import Reader
from services.payments.roll import service
from services.payments.roll.schemas import BeneficiaryPage, BeneficiaryQuery, EntitlementOut
from shared.app import UowDep

router = APIRouter(prefix="/beneficiaries", tags=["roll"])


@router.get("", summary="The beneficiary roll in your region, a page at a time")
async def list_beneficiaries(
    uow: UowDep, principal: Reader, query: Annotated[BeneficiaryQuery, Query()]
) -> BeneficiaryPage:
    return await service.roll_in_region(uow, principal, query)


@router.get(
    "/{beneficiary_id}/entitlements", summary="A beneficiary's entitlement history (应发记录), superseded rows included"
)
async def entitlements(beneficiary_id: uuid.UUID, uow: UowDep, principal: Reader) -> list[EntitlementOut]:
    return await service.entitlement_history(uow, principal, beneficiary_id)
