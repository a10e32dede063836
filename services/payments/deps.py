"""Dependencies shared by payments' endpoints: who may call, and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.payments.config import Settings
from shared.auth import Principal, require

# Finance officers (财务) create, approve, export and settle batches within their region; approvers and auditors read.
Finance = Annotated[Principal, Depends(require("finance"))]
Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


PaymentsSettings = Annotated[Settings, Depends(_settings)]
