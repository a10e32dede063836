from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.intake.applications import service
from services.intake.applications.schemas import ApplicationIn, ApplicationOut
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/applications", tags=["applications"])

Clerk = Annotated[Principal, Depends(require("clerk"))]
Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut,
             summary="Submit an application for a programme")
async def submit_application(body: ApplicationIn, uow: UowDep, principal: Clerk) -> ApplicationOut:
    application = await service.submit(uow, principal, body)
    return ApplicationOut.model_validate(application, from_attributes=True)


@router.get("/{application_id}", response_model=ApplicationOut,
            summary="An application with its case status and next deadline")
async def read_application(application_id: uuid.UUID, uow: UowDep, principal: Reader) -> ApplicationOut:
    return ApplicationOut.model_validate(await service.read(uow, principal, application_id), from_attributes=True)
