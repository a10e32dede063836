from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.intake.deps import Reader
from services.intake.drafts import service
from services.intake.drafts.schemas import DraftPage, DraftQuery
from shared.app import UowDep

router = APIRouter(prefix="/application-drafts", tags=["applications"])


@router.get(
    "",
    summary="Drafts from monitoring's verifications for the front desk to complete as applications, oldest first, "
    "a page at a time",
)
async def list_drafts(uow: UowDep, principal: Reader, query: Annotated[DraftQuery, Query()]) -> DraftPage:
    return await service.search(uow, principal, query)
