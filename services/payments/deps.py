"""Dependencies shared by payments' endpoints: who may call, and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.payments.config import Settings
from shared.auth import Principal, require
from shared.errors import InvalidInput
from shared.period import Period

# Finance officers (财务) create, approve, export and settle batches within their region; approvers and auditors read.
Finance = Annotated[Principal, Depends(require("finance"))]
Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


PaymentsSettings = Annotated[Settings, Depends(_settings)]


def parse_period(field: str, value: str) -> Period:
    """A `YYYY-MM` query parameter as a Period, or a 422 naming it."""
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise InvalidInput(field, str(exc)) from exc
