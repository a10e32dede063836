from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.eligibility.deps import Admin, SignedIn
from services.eligibility.policy_admin import service
from services.eligibility.policy_admin.schemas import ParameterAddedOut, ParameterValueIn, ParameterValueOut
from shared.app import UowDep
from shared.core.period import china_today

router = APIRouter(prefix="/parameters", tags=["policy parameters"])


@router.get("/{key}", summary="The value in force for a region on a date")
async def read_parameter(
    key: str,
    uow: UowDep,
    _: SignedIn,
    region: Annotated[str, Query(pattern=r"^(national|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$")],
    on: Annotated[date | None, Query()] = None,
) -> ParameterValueOut:
    return await service.read(uow, key, region, on or china_today())


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a dated value (emits policy.standard_changed)",
    description="An admin adds values for its own region only (403 otherwise). `calendar.holidays` loads "
    'the State Council\'s holiday schedule for a year the holiday library lacks, e.g. {"year": 2027, '
    '"holidays": ["2027-01-01", …], "workdays": [weekend days worked]}: open cases whose '
    "deadline was counted without it (`due_date_provisional`) are counted again. The answer's `recompute` is the "
    "提标 recompute the worker then runs (its progress and what it changed per township).",
)
async def add_parameter_value(body: ParameterValueIn, uow: UowDep, principal: Admin) -> ParameterAddedOut:
    return await service.add_value(uow, principal, body)
