from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.eligibility.recompute import service
from services.eligibility.recompute.schemas import WhatIfIn, WhatIfOut
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/parameters", tags=["policy parameters"])


@router.post("/what-if", response_model=WhatIfOut,
             summary="试算: households, persons, new monthly cost and back-pay per township; changes nothing")
async def what_if(body: WhatIfIn, uow: UowDep,
                  principal: Annotated[Principal, Depends(require("county_approver", "finance"))]) -> WhatIfOut:
    return await service.what_if(uow, principal, body)
