from __future__ import annotations

from fastapi import APIRouter

from services.eligibility.deps import WhatIfAnalyst
from services.eligibility.recompute import service
from services.eligibility.recompute.schemas import WhatIfIn, WhatIfOut
from shared.app import UowDep

router = APIRouter(prefix="/parameters", tags=["policy parameters"])


@router.post(
    "/what-if", summary="试算: households, persons, new monthly cost and back-pay per township; changes nothing"
)
async def what_if(body: WhatIfIn, uow: UowDep, principal: WhatIfAnalyst) -> WhatIfOut:
    return await service.what_if(uow, principal, body)
