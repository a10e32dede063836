"""Case endpoints: one POST per procedural step, so each has its own documented body and roles.

A step's path is its name in the workflow (`next_steps` lists exactly these: POST `/cases/{id}/<step>`), and its
OpenAPI entry says who may take it and from which states, read from the workflow's rules so the two never differ."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.types import DecoratedCallable

from services.eligibility.cases import service
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
from services.eligibility.cases.workflow import REVIEWER, STEPS, Status
from services.eligibility.deps import Official, Reader
from shared.app import UowDep

router = APIRouter(prefix="/cases", tags=["cases"])


def step_description(name: str) -> str:
    """The manual's entry for a step: what it records, who may take it, from which states."""
    step = STEPS[name]
    roles = ", ".join(f"`{role}`" for role in step.roles)
    if name == "decision":
        roles += f" (or {', '.join(f'`{r}`' for r in REVIEWER)} where the county delegated its decision, 委托)"
    sources = ", ".join(f"`{status}`" for status in Status if status in step.sources)
    return (f"{step.description}.\n\n**Who:** {roles} (an `admin` needs the role too).\n\n"
            f"**From:** a case in {sources}. "
            f"The case's `next_steps` offers `{name}` when it may be taken now; otherwise the answer is a 409 "
            "whose `allowed_next` lists the steps that may. A role that may not take it gets a 403.")


def _step(name: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    return router.post(f"/{{case_id}}/{name}", response_model=CaseDetailOut, summary=summary,
                       description=step_description(name))


@router.get("", response_model=list[CaseOut], summary="Cases in your region")
async def list_cases(uow: UowDep, principal: Reader, status: Status | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseOut]:
    return await service.list_cases(uow, principal, status, limit)


@router.get("/deadlines", response_model=DeadlinesOut, summary="Overdue and due-soon cases in your region")
async def deadlines(uow: UowDep, principal: Reader,
                    within_workdays: Annotated[int, Query(ge=0, le=30)] = 3) -> DeadlinesOut:
    return await service.deadlines(uow, principal, within_workdays)


@router.get("/reviews-due", response_model=list[CaseOut], summary="Cases on the roll due for their periodic review")
async def reviews_due(uow: UowDep, principal: Reader,
                      within_days: Annotated[int, Query(ge=0, le=366)] = 30) -> list[CaseOut]:
    return await service.reviews_due(uow, principal, within_days)


@router.get("/{case_id}", response_model=CaseDetailOut, summary="One case with its steps and 计算依据")
async def read_case(case_id: uuid.UUID, uow: UowDep, principal: Reader) -> CaseDetailOut:
    return await service.read(uow, principal, case_id)


@_step("investigation", "Start the means investigation")
async def start_investigation(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.start_investigation(uow, p, case_id, body)


@_step("home-visits", "Record a home visit (入户调查)")
async def record_home_visit(case_id: uuid.UUID, body: HomeVisitIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.record_home_visit(uow, p, case_id, body)


@_step("economic-check", "Record the economic check")
async def record_economic_check(case_id: uuid.UUID, body: EconomicCheckIn, uow: UowDep, p: Official
                                ) -> CaseDetailOut:
    return await service.record_economic_check(uow, p, case_id, body)


@_step("township-opinion", "Township first opinion (初审)")
async def township_opinion(case_id: uuid.UUID, body: TownshipOpinionIn, uow: UowDep, p: Official
                           ) -> CaseDetailOut:
    return await service.township_opinion(uow, p, case_id, body)


@_step("appraisal", "Democratic appraisal (民主评议)")
async def record_appraisal(case_id: uuid.UUID, body: AppraisalIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.record_appraisal(uow, p, case_id, body)


@_step("notice/objections", "An objection during the public notice: back to investigation")
async def record_objection(case_id: uuid.UUID, body: ObjectionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.record_objection(uow, p, case_id, body)


@_step("notice/close", "Close the public notice after 7 days without objection")
async def close_notice(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.close_notice(uow, p, case_id, body)


@_step("decision", "County decision (审核确认)")
async def decide(case_id: uuid.UUID, body: DecisionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.decide(uow, p, case_id, body)


@_step("extension", "Extend to the longer time limit")
async def extend(case_id: uuid.UUID, body: ExtendIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.extend(uow, p, case_id, body)


@_step("emergency-approval", "急难型 temporary assistance: approve and pay first")
async def emergency_approve(case_id: uuid.UUID, body: EmergencyApproveIn, uow: UowDep, p: Official
                            ) -> CaseDetailOut:
    return await service.emergency_approve(uow, p, case_id, body)


@_step("documents-complete", "急难型: the paperwork after payment is complete")
async def complete_documents(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.complete_documents(uow, p, case_id, body)


@_step("review", "Periodic review (定期核查)")
async def review(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.review(uow, p, case_id, body)


@_step("termination", "Stop (停保)")
async def terminate(case_id: uuid.UUID, body: TerminateIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.terminate(uow, p, case_id, body)
