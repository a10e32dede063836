from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.monitoring.alerts import service
from services.monitoring.alerts.schemas import AlertDetail, AlertOut, AlertPage, AlertQuery, ClosureIn, VerificationIn
from services.monitoring.deps import Closer, Reader, Reviewer
from shared.app import UowDep

router = APIRouter(prefix="/alerts", tags=["alerts"])

Region = Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="narrow to a sub-region of yours")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get("", summary="Alerts in your region")
async def list_alerts(uow: UowDep, principal: Reader, query: Annotated[AlertQuery, Query()]) -> AlertPage:
    return await service.search(uow, principal, query)


@router.get("/overdue", summary="Open alerts past their due date, per region")
async def overdue(
    uow: UowDep, principal: Reader, region: Region = None, limit: Limit = 200, offset: Offset = 0
) -> AlertPage:
    return await service.search(uow, principal, AlertQuery(region=region, limit=limit, offset=offset), due="overdue")


@router.get("/due-soon", summary="Open alerts due within the region's due-soon window of working days")
async def due_soon(
    uow: UowDep, principal: Reader, region: Region = None, limit: Limit = 200, offset: Offset = 0
) -> AlertPage:
    return await service.search(uow, principal, AlertQuery(region=region, limit=limit, offset=offset), due="soon")


@router.get("/{alert_id}", summary="An alert with its evidence and trace")
async def get_alert(alert_id: uuid.UUID, uow: UowDep, principal: Reader) -> AlertDetail:
    return await service.read(uow, principal, alert_id)


@router.post(
    "/{alert_id}/verification", summary="核实: the township's outcome (409 with the allowed next steps if not now)"
)
async def verify(alert_id: uuid.UUID, body: VerificationIn, uow: UowDep, principal: Reviewer) -> AlertOut:
    return await service.verify(uow, principal, alert_id, body)


@router.post("/{alert_id}/closure", summary="办结: close a verified alert")
async def close(alert_id: uuid.UUID, body: ClosureIn, uow: UowDep, principal: Closer) -> AlertOut:
    return await service.close(uow, principal, alert_id, body)
