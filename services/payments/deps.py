"""Dependencies shared by payments' endpoints: who may call, and the service's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.payments.config import Settings
from shared.app import app_settings
from shared.auth import Principal
from shared.deps import require, require_only

# Finance officers (财务) create, approve, export and settle batches within their region; approvers and auditors read.
Finance = Annotated[Principal, Depends(require("finance"))]
# What only a finance officer does, an admin neither (三员分立): open the payees' full account numbers (the bank file)
# and approve a batch's money (双人复核, another officer than the one who created it).
FinanceOnly = Annotated[Principal, Depends(require_only("finance"))]
Reader = Annotated[Principal, Depends(require("finance", "county_approver", "auditor"))]


PaymentsSettings = Annotated[Settings, Depends(app_settings)]
