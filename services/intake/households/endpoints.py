from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.intake.households import service
from services.intake.households.schemas import HouseholdIn, HouseholdOut
from shared.app import SettingsDep, UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/households", tags=["households"])

Clerk = Annotated[Principal, Depends(require("clerk"))]
Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HouseholdOut,
             summary="Register a household with its members and economic facts")
async def register_household(body: HouseholdIn, uow: UowDep, principal: Clerk, settings: SettingsDep) -> HouseholdOut:
    household = await service.register(uow, principal, body, settings.pii_hmac_key.encode())
    return await service.read(uow, principal, household.id)


@router.get("/{household_id}", response_model=HouseholdOut, summary="Read a household (audited)")
async def read_household(household_id: uuid.UUID, uow: UowDep, principal: Reader) -> HouseholdOut:
    return await service.read(uow, principal, household_id)
