"""Case endpoints: one POST per procedural step, so each has its own documented body and roles.

A step's path is its name in the workflow (`next_steps` lists exactly these: POST `/cases/{id}/<step>`), and its
OpenAPI entry says who may take it and from which states, read from the workflow's rules so the two never differ.
Each step's body, summary and `Case` method are in the service's table of steps."""

from __future__ import annotations

import inspect
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.eligibility.cases import service
from services.eligibility.cases.schemas import (
    CaseDetailOut,
    CasePage,
    CaseQuery,
    DeadlinePage,
    DeadlineQuery,
    ReviewQuery,
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
    return (
        f"{step.description}.\n\n**Who:** {roles} (an `admin` needs the role too).\n\n"
        f"**From:** a case in {sources}. "
        f"The case's `next_steps` offers `{name}` when it may be taken now; otherwise the answer is a 409 "
        "whose `allowed_next` lists the steps that may. A role that may not take it gets a 403."
    )


def _step(name: str, step: service.Step) -> None:
    """POST /cases/{case_id}/<name>: the step's body, by an official, answering the case."""

    async def endpoint(case_id: uuid.UUID, body: Any, uow: UowDep, p: Official) -> CaseDetailOut:
        return await service.take_step(uow, p, case_id, step, body)

    signature = inspect.signature(endpoint)
    endpoint.__signature__ = signature.replace(
        parameters=[  # type: ignore[attr-defined]
            param.replace(annotation=step.body) if param.name == "body" else param
            for param in signature.parameters.values()
        ]
    )
    endpoint.__name__ = endpoint.__qualname__ = step.take.__name__  # the operation id is the Case method's name
    router.post(
        f"/{{case_id}}/{name}", response_model=CaseDetailOut, summary=step.summary, description=step_description(name)
    )(endpoint)


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


for _name, _step_taken in service.STEPS.items():
    _step(_name, _step_taken)
