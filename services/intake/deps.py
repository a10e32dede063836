"""Dependencies shared by intake's endpoints: who may call, the service's settings, the Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.config import Settings
from services.intake.models import idempotency_keys
from shared.app import app_settings
from shared.auth import Principal, require
from shared.idempotency import IdempotencyKey, idempotency

# Clerks write within their township; reviewers, approvers and auditors read within their region.
Clerk = Annotated[Principal, Depends(require("clerk"))]
Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]
# A county admin loads its region's reference data (villages).
Admin = Annotated[Principal, Depends(require("admin"))]
Idem = Annotated[IdempotencyKey, Depends(idempotency(idempotency_keys))]


IntakeSettings = Annotated[Settings, Depends(app_settings)]
