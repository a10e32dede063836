from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.monitoring.alerts import service
from services.monitoring.alerts.schemas import (
    AlertDetail,
    AlertDueQuery,
    AlertOut,
    AlertPage,
    AlertQuery,
    ClosureIn,
    VerificationIn,
)
from services.monitoring.deps import Closer, MonitoringSettings, Reader, Reviewer
from shared.app import UowDep
from shared.deps import IdNumberHeader

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", summary="Alerts in your region, newest first, a page at a time")
async def list_alerts(
    uow: UowDep,
    principal: Reader,
    settings: MonitoringSettings,
    query: Annotated[AlertQuery, Query()],
    id_number: IdNumberHeader = None,
) -> AlertPage:
    return await service.search(uow, principal, query, id_number=id_number, settings=settings)


@router.get("/overdue", summary="Open alerts past their due date, earliest first")
async def overdue(uow: UowDep, principal: Reader, query: Annotated[AlertDueQuery, Query()]) -> AlertPage:
    return await service.search(uow, principal, AlertQuery(**dict(query)), due="overdue")


@router.get("/due-soon", summary="Open alerts due within the region's due-soon window of working days, earliest first")
async def due_soon(uow: UowDep, principal: Reader, query: Annotated[AlertDueQuery, Query()]) -> AlertPage:
    return await service.search(uow, principal, AlertQuery(**dict(query)), due="soon")


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
