from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.monitoring.deps import Reader
from services.monitoring.readmodel import service
from services.monitoring.readmodel.service import KnownHouseholdOut
from shared.app import UowDep

router = APIRouter(prefix="/households", tags=["households"])


@router.get("/{household_id}", summary="What monitoring knows of a household (from intake's and eligibility's events)")
async def read_household(household_id: uuid.UUID, uow: UowDep, principal: Reader) -> KnownHouseholdOut:
    return await service.read(uow, principal, household_id)
