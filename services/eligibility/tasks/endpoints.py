from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.eligibility.deps import Official
from services.eligibility.tasks import service
from services.eligibility.tasks.schemas import TaskPage, TaskQuery
from shared.app import UowDep

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get(
    "",
    summary="Your worklist (待办): the steps your roles may take now on your region's cases, oldest deadline first",
)
async def tasks(uow: UowDep, principal: Official, query: Annotated[TaskQuery, Query()]) -> TaskPage:
    return await service.worklist(uow, principal, query)
