"""Dependencies shared by payments' endpoints: who may call, and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.payments.config import Settings
from shared.app import app_settings
from shared.auth import Principal, require
from shared.errors import InvalidInput
from shared.period import Period

# Finance officers (财务) create, approve, export and settle batches within their region; approvers and auditors read.
Finance = Annotated[Principal, Depends(require("finance"))]
Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


PaymentsSettings = Annotated[Settings, Depends(app_settings)]


def parse_period(field: str, value: str) -> Period:
    """A `YYYY-MM` query parameter as a Period, or a 422 naming it."""
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise InvalidInput(field, str(exc)) from exc
