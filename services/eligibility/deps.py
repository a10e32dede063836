"""Dependencies shared by eligibility's endpoints: who may call, and the service's settings.

Which official may take which case step is the workflow's rule (services/eligibility/cases/workflow.py); these
aliases only keep out those who may never write (auditors) or never read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.eligibility.config import Settings
from shared.app import app_settings
from shared.auth import Principal
from shared.deps import require

# Everyone who works on cases reads them within their region; auditors read and never write.
Reader = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver", "auditor"))]
# Takes case steps; the step itself checks the role it needs.
Official = Annotated[Principal, Depends(require("clerk", "township_reviewer", "county_approver"))]
# Exports the public notice (公示) of a township or village.
NoticeReader = Annotated[Principal, Depends(require("township_reviewer", "county_approver", "auditor"))]
# Any signed-in user reads the policy parameters in force.
SignedIn = Annotated[Principal, Depends(require())]
# Adds dated parameter values for their own region.
Admin = Annotated[Principal, Depends(require("admin"))]
# Runs a standard rise as a dry run (试算) before it is decided: the county and its finance office.
WhatIfAnalyst = Annotated[Principal, Depends(require("county_approver", "finance"))]
# Follows the recomputes (提标重算) added values ask for: those who add values, run what-ifs, or audit.
RecomputeReader = Annotated[Principal, Depends(require("admin", "county_approver", "finance", "auditor"))]
# Prices households by today's rules in bulk (POST /assessments): the roll import's county admin, and officials.
Assessor = Annotated[Principal, Depends(require("admin", "clerk", "county_approver"))]


EligibilitySettings = Annotated[Settings, Depends(app_settings)]
