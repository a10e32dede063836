"""Case endpoints: one POST per procedural step, so each has its own documented body and roles."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.eligibility.cases import service
from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import (
    AppraisalIn,
    CaseDetailOut,
    CaseOut,
    DeadlinesOut,
    DecisionIn,
    EconomicCheckIn,
    EmergencyApproveIn,
    ExtendIn,
    HomeVisitIn,
    ObjectionIn,
    StepIn,
    TerminateIn,
    TownshipOpinionIn,
)
from services.eligibility.cases.workflow import Status
from services.eligibility.regional_policy.service import effective_parameters
from shared import audit
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/cases", tags=["cases"])

Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]
# Who may take a step is the workflow's rule (services/eligibility/cases/workflow.py); auditors never write.
Official = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver"))]


@router.get("", response_model=list[CaseOut], summary="Cases in your region")
async def list_cases(uow: UowDep, principal: Reader, status: Status | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseOut]:
    cases = await CaseRepository(uow.session).in_region(principal.region, status.value if status else None, limit)
    await audit.record(uow, principal, "case.list", "case", None, region_code=principal.region,
                       details={"count": len(cases)})
    return [service.to_out(c) for c in cases]


@router.get("/deadlines", response_model=DeadlinesOut, summary="Overdue and due-soon cases in your region")
async def deadlines(uow: UowDep, principal: Reader,
                    within_workdays: Annotated[int, Query(ge=0, le=30)] = 3) -> DeadlinesOut:
    today = date.today()
    cal = service.work_calendar(await effective_parameters(uow), principal.region, (today.year, today.year + 1))
    cases = await CaseRepository(uow.session).open_due_by(principal.region, cal.add_workdays(today, within_workdays))
    await audit.record(uow, principal, "case.deadlines", "case", None, region_code=principal.region)
    return DeadlinesOut(today=today,
                        overdue=[service.to_out(c) for c in cases if c.due_date and c.due_date < today],
                        due_soon=[service.to_out(c) for c in cases if c.due_date and c.due_date >= today])


@router.get("/reviews-due", response_model=list[CaseOut], summary="Cases on the roll due for their periodic review")
async def reviews_due(uow: UowDep, principal: Reader,
                      within_days: Annotated[int, Query(ge=0, le=366)] = 30) -> list[CaseOut]:
    cases = await CaseRepository(uow.session).reviews_due_by(principal.region,
                                                             date.today() + timedelta(days=within_days))
    await audit.record(uow, principal, "case.reviews_due", "case", None, region_code=principal.region)
    return [service.to_out(c) for c in cases]


@router.get("/{case_id}", response_model=CaseDetailOut, summary="One case with its steps and 计算依据")
async def read_case(case_id: uuid.UUID, uow: UowDep, principal: Reader) -> CaseDetailOut:
    case = await service.get_visible(uow, principal, case_id)
    await audit.record(uow, principal, "case.read", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code)
    return await service.detail(uow, case)



@router.post("/{case_id}/investigation", response_model=CaseDetailOut, summary="Start the means investigation")
async def start_investigation(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.start_investigation(uow, p, case_id, body))


@router.post("/{case_id}/home-visits", response_model=CaseDetailOut, summary="Record a home visit (入户调查)")
async def record_home_visit(case_id: uuid.UUID, body: HomeVisitIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.record_home_visit(uow, p, case_id, body))


@router.post("/{case_id}/economic-check", response_model=CaseDetailOut, summary="Record the economic check")
async def record_economic_check(case_id: uuid.UUID, body: EconomicCheckIn, uow: UowDep, p: Official
                                ) -> CaseDetailOut:
    return await service.detail(uow, await service.record_economic_check(uow, p, case_id, body))


@router.post("/{case_id}/township-opinion", response_model=CaseDetailOut, summary="Township first opinion (初审)")
async def township_opinion(case_id: uuid.UUID, body: TownshipOpinionIn, uow: UowDep, p: Official
                           ) -> CaseDetailOut:
    return await service.detail(uow, await service.township_opinion(uow, p, case_id, body))


@router.post("/{case_id}/appraisal", response_model=CaseDetailOut, summary="Democratic appraisal (民主评议)")
async def record_appraisal(case_id: uuid.UUID, body: AppraisalIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.record_appraisal(uow, p, case_id, body))


@router.post("/{case_id}/notice/objections", response_model=CaseDetailOut,
             summary="An objection during the public notice: back to investigation")
async def record_objection(case_id: uuid.UUID, body: ObjectionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.record_objection(uow, p, case_id, body))


@router.post("/{case_id}/notice/close", response_model=CaseDetailOut,
             summary="Close the public notice after 7 days without objection")
async def close_notice(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.close_notice(uow, p, case_id, body))


@router.post("/{case_id}/decision", response_model=CaseDetailOut, summary="County decision (审核确认)")
async def decide(case_id: uuid.UUID, body: DecisionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.decide(uow, p, case_id, body))


@router.post("/{case_id}/extension", response_model=CaseDetailOut, summary="Extend to the longer time limit")
async def extend(case_id: uuid.UUID, body: ExtendIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.extend(uow, p, case_id, body))


@router.post("/{case_id}/emergency-approval", response_model=CaseDetailOut,
             summary="急难型 temporary assistance: approve and pay first")
async def emergency_approve(case_id: uuid.UUID, body: EmergencyApproveIn, uow: UowDep, p: Official
                            ) -> CaseDetailOut:
    return await service.detail(uow, await service.emergency_approve(uow, p, case_id, body))


@router.post("/{case_id}/documents-complete", response_model=CaseDetailOut,
             summary="急难型: the paperwork after payment is complete")
async def complete_documents(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.complete_documents(uow, p, case_id, body))


@router.post("/{case_id}/review", response_model=CaseDetailOut, summary="Periodic review (定期核查)")
async def review(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.review(uow, p, case_id, body))


@router.post("/{case_id}/termination", response_model=CaseDetailOut, summary="Stop (停保)")
async def terminate(case_id: uuid.UUID, body: TerminateIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.detail(uow, await service.terminate(uow, p, case_id, body))
