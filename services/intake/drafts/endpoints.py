from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.intake.deps import Reader
from services.intake.drafts import service
from services.intake.drafts.service import DraftOut
from shared.app import UowDep

router = APIRouter(prefix="/application-drafts", tags=["applications"])


@router.get("", summary="Drafts from monitoring's verifications for the front desk to complete as applications")
async def list_drafts(
    uow: UowDep,
    principal: Reader,
    status: Literal["to_complete", "completed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[DraftOut]:
    return await service.search(uow, principal, status, limit, offset)
