from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.monitoring.alerts.repository import AlertRepository
from services.monitoring.alerts.schemas import AlertOut
from shared import audit
from shared.app import UowDep
from shared.auth import Principal, require

router = APIRouter(prefix="/alerts", tags=["alerts"])

Reader = Annotated[Principal, Depends(require("township_reviewer", "county_approver", "auditor"))]


@router.get("", response_model=list[AlertOut], summary="Alerts in your region")
async def list_alerts(uow: UowDep, principal: Reader,
                      status: Literal["open", "verified"] | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AlertOut]:
    alerts = await AlertRepository(uow.session).in_region(principal.region, status, limit)
    await audit.record(uow, principal, "alert.list", "alert", None, region_code=principal.region,
                       details={"count": len(alerts)})
    return [AlertOut.model_validate(a, from_attributes=True) for a in alerts]
