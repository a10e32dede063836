"""Dependencies shared by intake's endpoints: who may call, the service's settings, the Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.config import Settings
from services.intake.models import idempotency_keys
from shared.app import app_settings
from shared.auth import Principal
from shared.deps import IdempotencyKey, idempotency, require, require_only

# Clerks write within their township; reviewers, approvers and auditors read within their region.
Clerk = Annotated[Principal, Depends(require("clerk"))]
Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]
# The economic check (家庭经济状况核对) is the township's and the county's: they may open members' ID numbers for it,
# and no one else, an admin neither (三员分立).
Checker = Annotated[Principal, Depends(require_only("township_reviewer", "county_approver"))]
# A county admin loads its region's reference data (villages).
Admin = Annotated[Principal, Depends(require("admin"))]
Idem = Annotated[IdempotencyKey, Depends(idempotency(idempotency_keys))]


IntakeSettings = Annotated[Settings, Depends(app_settings)]
