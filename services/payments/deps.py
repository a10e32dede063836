"""Dependencies shared by payments' endpoints: who may call, and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.payments.config import Settings
from shared.app import app_settings
from shared.auth import Principal
from shared.deps import require

# Finance officers (财务) create, approve, export and settle batches within their region; approvers and auditors read.
Finance = Annotated[Principal, Depends(require("finance"))]
Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


PaymentsSettings = Annotated[Settings, Depends(app_settings)]
