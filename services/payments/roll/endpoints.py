from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.payments.deps import Reader
from services.payments.roll import service
from services.payments.roll.repository import BeneficiaryRepository
from services.payments.roll.schemas import BeneficiaryOut, EntitlementOut
from shared import audit
from shared.app import UowDep
from shared.errors import NotFound

router = APIRouter(prefix="/beneficiaries", tags=["roll"])


@router.get("", response_model=list[BeneficiaryOut], summary="The beneficiary roll in your region")
async def list_beneficiaries(uow: UowDep, principal: Reader, household_id: uuid.UUID | None = None,
                             limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[BeneficiaryOut]:
    rows = await BeneficiaryRepository(uow.session).in_region(principal.region, household_id, limit)
    await audit.record(uow, principal, "beneficiary.list", "beneficiary", None, household_id=household_id,
                       region_code=principal.region, details={"count": len(rows)})
    return [service.to_out(b) for b in rows]


@router.get("/{beneficiary_id}/entitlements", response_model=list[EntitlementOut],
            summary="A beneficiary's entitlement history (应发记录), superseded rows included")
async def entitlements(beneficiary_id: uuid.UUID, uow: UowDep, principal: Reader) -> list[EntitlementOut]:
    repo = BeneficiaryRepository(uow.session)
    b = await repo.get(beneficiary_id)
    if b is None or not principal.covers(b.region_code):
        raise NotFound(f"beneficiary {beneficiary_id} not found")
    await audit.record(uow, principal, "beneficiary.entitlements", "beneficiary", b.id, household_id=b.household_id,
                       region_code=b.region_code)
    return service.entitlement_out(await repo.history(b.id))
