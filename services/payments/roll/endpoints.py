from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.deps import Reader
from services.payments.roll import service
from services.payments.roll.schemas import BeneficiaryOut, EntitlementOut
from shared.app import UowDep

router = APIRouter(prefix="/beneficiaries", tags=["roll"])


@router.get("", summary="The beneficiary roll in your region")
async def list_beneficiaries(
    uow: UowDep,
    principal: Reader,
    household_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[BeneficiaryOut]:
    return await service.roll_in_region(uow, principal, household_id, limit)


@router.get(
    "/{beneficiary_id}/entitlements", summary="A beneficiary's entitlement history (应发记录), superseded rows included"
)
async def entitlements(beneficiary_id: uuid.UUID, uow: UowDep, principal: Reader) -> list[EntitlementOut]:
    return await service.entitlement_history(uow, principal, beneficiary_id)
