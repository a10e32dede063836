from __future__ import annotations

from fastapi import APIRouter, Request

from services.eligibility.deps import EligibilitySettings, WhatIfAnalyst
from services.eligibility.recompute import payments, service
from services.eligibility.recompute.schemas import WhatIfIn, WhatIfOut
from shared.app import UowDep
from shared.errors import problems

router = APIRouter(prefix="/parameters", tags=["policy parameters"])


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
