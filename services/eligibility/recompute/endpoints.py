from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.eligibility.deps import EligibilitySettings, RecomputeReader, WhatIfAnalyst
from services.eligibility.recompute import payments, service
from services.eligibility.recompute.schemas import (
    RecomputeOut,
    RecomputePage,
    RecomputeQuery,
    WhatIfIn,
    WhatIfOut,
)
from shared.app import UowDep
from shared.errors import problems

router = APIRouter(prefix="/parameters", tags=["policy parameters"])
recomputes = APIRouter(prefix="/recomputes", tags=["policy parameters"])


@router.post(
    "/what-if",
    summary="试算: households, persons, new monthly cost, back-pay per township, and the balances the next batch "
    "would pay; changes nothing",
    responses=problems(503),  # payments could not be asked what holds money for the months
)
async def what_if(
    body: WhatIfIn, uow: UowDep, principal: WhatIfAnalyst, request: Request, settings: EligibilitySettings
) -> WhatIfOut:
    return await service.what_if(
        uow, principal, body, payments.lookup(request.app.state, request.headers.get("authorization", ""), settings)
    )


@recomputes.get(
    "",
    summary="提标重算: the recomputes values added asked for (of your region, or of a region covering it), newest "
    "first, with their progress",
)
async def list_recomputes(
    uow: UowDep, principal: RecomputeReader, query: Annotated[RecomputeQuery, Query()]
) -> RecomputePage:
    return await service.list_recomputes(uow, principal, query)


@recomputes.get(
    "/{recompute_id}",
    summary="提标重算: one recompute's progress and what it changed in each township of your region",
    responses=problems(404),
)
async def get_recompute(uow: UowDep, principal: RecomputeReader, recompute_id: uuid.UUID) -> RecomputeOut:
    return await service.get_recompute(uow, principal, recompute_id)
