from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.payments.roll import service
from services.payments.roll.repository import BeneficiaryRepository
from services.payments.roll.schemas import BeneficiaryOut
from shared import audit
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/beneficiaries", tags=["roll"])

Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


@router.get("", response_model=list[BeneficiaryOut], summary="The beneficiary roll in your region")
async def list_beneficiaries(uow: UowDep, principal: Reader, household_id: uuid.UUID | None = None,
                             limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[BeneficiaryOut]:
    rows = await BeneficiaryRepository(uow.session).in_region(principal.region, household_id, limit)
    await audit.record(uow, principal, "beneficiary.list", "beneficiary", None, household_id=household_id,
                       region_code=principal.region, details={"count": len(rows)})
    return [service.to_out(b) for b in rows]
