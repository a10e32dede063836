from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.eligibility.cases import service
from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import CaseOut, DecisionIn
from shared import audit
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/cases", tags=["cases"])

Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]
Approver = Annotated[Principal, Depends(require("county_approver"))]


@router.get("", response_model=list[CaseOut], summary="Cases in your region")
async def list_cases(uow: UowDep, principal: Reader, status: Annotated[str | None, Query(max_length=40)] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseOut]:
    cases = await CaseRepository(uow.session).in_region(principal.region, status, limit)
    await audit.record(uow, principal, "case.list", "case", None, region_code=principal.region,
                       details={"count": len(cases)})
    return [service.to_out(c) for c in cases]


@router.get("/{case_id}", response_model=CaseOut, summary="One case")
async def read_case(case_id: uuid.UUID, uow: UowDep, principal: Reader) -> CaseOut:
    case = await service.get_visible(uow, principal, case_id)
    await audit.record(uow, principal, "case.read", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code)
    return service.to_out(case)


@router.post("/{case_id}/decision", response_model=CaseOut, summary="County decision (审核确认)")
async def decide_case(case_id: uuid.UUID, body: DecisionIn, uow: UowDep, principal: Approver) -> CaseOut:
    return service.to_out(await service.decide(uow, principal, case_id, body))
