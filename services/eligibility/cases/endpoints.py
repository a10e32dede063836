"""Case endpoints: one POST per procedural step, so each has its own documented body and roles.

A step's path is its name in the workflow (`next_steps` lists exactly these: POST `/cases/{id}/<step>`), and its
OpenAPI entry says who may take it and from which states, read from the workflow's rules so the two never differ.
Each step is one plain route below: its body, its summary and the `Case` method it calls."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.eligibility.cases import intake, service
from services.eligibility.cases.domain import Case
from services.eligibility.cases.schemas import (
    AppraisalIn,
    CaseDetailOut,
    CasePage,
    CaseQuery,
    DeadlinePage,
    DeadlineQuery,
    DecisionIn,
    EconomicCheckIn,
    EmergencyApproveIn,
    ExtendIn,
    HomeVisitIn,
    NoticeIn,
    ObjectionIn,
    ReviewIn,
    ReviewQuery,
    StepIn,
    TerminateIn,
    TownshipOpinionIn,
)
from services.eligibility.cases.workflow import DELEGATED, REVIEWER, STEPS, CaseStep, Status
from services.eligibility.deps import EligibilitySettings, Official, Reader
from shared.app import UowDep
from shared.errors import problems

router = APIRouter(prefix="/cases", tags=["cases"])


def _manual(name: CaseStep) -> str:
    """The manual's entry for a step: what it records, who may take it, from which states."""
    step = STEPS[name]
    roles = ", ".join(f"`{role}`" for role in step.roles)
    if name in DELEGATED:
        roles += f" (or {', '.join(f'`{r}`' for r in REVIEWER)} where the county delegated its decision, 委托)"
    sources = ", ".join(f"`{status}`" for status in Status if status in step.sources)
    return (
        f"{step.description}.\n\n**Who:** {roles} (an `admin` needs the role too).\n\n"
        f"**From:** a case in {sources}. "
        f"The case's `next_steps` offers `{name}` when it may be taken now; otherwise the answer is a 409 "
        "whose `allowed_next` lists the steps that may. A role that may not take it gets a 403."
    )


@router.get("", summary="Cases in your region, a page at a time (by 受理 date; by the date a due filter asks about)")
async def list_cases(uow: UowDep, principal: Reader, query: Annotated[CaseQuery, Query()]) -> CasePage:
    return await service.list_cases(uow, principal, query)


@router.get("/deadlines", summary="Open cases overdue or due within the working days asked for, most urgent first")
async def deadlines(uow: UowDep, principal: Reader, query: Annotated[DeadlineQuery, Query()]) -> DeadlinePage:
    return await service.deadlines(uow, principal, query)


@router.get("/reviews-due", summary="Cases on the roll due for their periodic review, earliest first")
async def reviews_due(uow: UowDep, principal: Reader, query: Annotated[ReviewQuery, Query()]) -> CasePage:
    return await service.reviews_due(uow, principal, query)


@router.get("/{case_id}", summary="One case with its steps and 计算依据")
async def read_case(case_id: uuid.UUID, uow: UowDep, principal: Reader) -> CaseDetailOut:
    return await service.read(uow, principal, case_id)


# One POST per step; the function is named after the `Case` method it calls (its OpenAPI operation id).


@router.post(
    "/{case_id}/investigation",
    summary="Start the means investigation",
    description=_manual(CaseStep.INVESTIGATION),
)
async def start_investigation(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.start_investigation, body)


@router.post(
    "/{case_id}/home-visits",
    summary="Record a home visit (入户调查)",
    description=_manual(CaseStep.HOME_VISITS),
)
async def record_home_visit(case_id: uuid.UUID, body: HomeVisitIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.record_home_visit, body)


@router.post(
    "/{case_id}/economic-check",
    summary="Record the economic check",
    description=_manual(CaseStep.ECONOMIC_CHECK),
)
async def record_economic_check(case_id: uuid.UUID, body: EconomicCheckIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.record_economic_check, body)


@router.post(
    "/{case_id}/township-opinion",
    summary="Township first opinion (初审)",
    description=_manual(CaseStep.TOWNSHIP_OPINION),
)
async def township_opinion(case_id: uuid.UUID, body: TownshipOpinionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.township_opinion, body)


@router.post(
    "/{case_id}/appraisal",
    summary="Democratic appraisal (民主评议)",
    description=_manual(CaseStep.APPRAISAL),
)
async def record_appraisal(case_id: uuid.UUID, body: AppraisalIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.record_appraisal, body)


@router.post(
    "/{case_id}/notice",
    summary="Send an unposted case to the public notice (公示) before approving it",
    description=_manual(CaseStep.NOTICE),
)
async def post_notice(case_id: uuid.UUID, body: NoticeIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.post_notice, body)


@router.post(
    "/{case_id}/notice/objections",
    summary="An objection during the public notice: back to investigation",
    description=_manual(CaseStep.NOTICE_OBJECTIONS),
)
async def record_objection(case_id: uuid.UUID, body: ObjectionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.record_objection, body)


@router.post(
    "/{case_id}/notice/close",
    summary="Close the public notice after 7 days without objection",
    description=_manual(CaseStep.NOTICE_CLOSE),
)
async def close_notice(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.close_notice, body)


@router.post("/{case_id}/decision", summary="County decision (审核确认)", description=_manual(CaseStep.DECISION))
async def decide(case_id: uuid.UUID, body: DecisionIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.decide, body)


@router.post(
    "/{case_id}/extension",
    summary="Extend to the longer time limit",
    description=_manual(CaseStep.EXTENSION),
)
async def extend(case_id: uuid.UUID, body: ExtendIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.extend, body)


@router.post(
    "/{case_id}/emergency-approval",
    summary="急难型 temporary assistance: approve and pay first",
    description=_manual(CaseStep.EMERGENCY_APPROVAL),
)
async def emergency_approve(case_id: uuid.UUID, body: EmergencyApproveIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.emergency_approve, body)


@router.post(
    "/{case_id}/documents-complete",
    summary="急难型: the paperwork after payment is complete",
    description=_manual(CaseStep.DOCUMENTS_COMPLETE),
)
async def complete_documents(case_id: uuid.UUID, body: StepIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.complete_documents, body)


@router.post(
    "/{case_id}/review",
    summary="Periodic review (定期核查) on the household's latest facts",
    description=_manual(CaseStep.REVIEW)
    + "\n\n**Facts:** the household's latest facts from intake, once they are those of the version the official saw "
    "(`household_version`, intake's ETag) or, not given, of its current version at intake (asked with your token): "
    "while the facts of a change at the front desk are still on their way, a 409 naming `household_version` that "
    "changes nothing (try again shortly); intake not answering, a 503.",
    responses=problems(503),  # intake could not be asked the household's current version
)
async def review(
    case_id: uuid.UUID, body: ReviewIn, uow: UowDep, p: Official, request: Request, settings: EligibilitySettings
) -> CaseDetailOut:
    at_intake = intake.lookup(request.app.state, request.headers.get("authorization", ""), settings)
    return await service.review(uow, p, case_id, body, at_intake)


@router.post("/{case_id}/termination", summary="Stop (停保)", description=_manual(CaseStep.TERMINATION))
async def terminate(case_id: uuid.UUID, body: TerminateIn, uow: UowDep, p: Official) -> CaseDetailOut:
    return await service.take_step(uow, p, case_id, Case.terminate, body)
