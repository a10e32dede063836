"""Dependencies shared by monitoring's endpoints: who may call, the settings, and a second unit of work for
feed progress (committed as the file streams in, while the load itself commits once at the end)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.monitoring.config import Settings
from shared.app import app_settings
from shared.auth import Principal
from shared.deps import current_principal, require
from shared.errors import Forbidden
from shared.uow import UnitOfWork

# Township reviewers verify; county officials and auditors follow; partners post feeds and read their own.
Reader = Annotated[Principal, Depends(require("township_reviewer", "county_approver", "auditor"))]
Reviewer = Annotated[Principal, Depends(require("township_reviewer"))]
Closer = Annotated[Principal, Depends(require("township_reviewer", "county_approver"))]
Exporter = Annotated[Principal, Depends(require("county_approver", "auditor", "partner:rural_revitalization"))]


async def _partner(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.partner_agency is None and not principal.has_any("admin"):
        raise Forbidden("requires a known partner agency's role (partner:<agency>)")
    return principal


Partner = Annotated[Principal, Depends(_partner)]
FeedReader = Annotated[Principal, Depends(require("county_approver", "auditor"))]


MonitoringSettings = Annotated[Settings, Depends(app_settings)]


def _side_units(request: Request) -> Callable[[], UnitOfWork]:
    state = request.app.state
    return lambda: UnitOfWork(state.sessions, state.tables, state.source)


SideUnits = Annotated[Callable[[], UnitOfWork], Depends(_side_units)]
