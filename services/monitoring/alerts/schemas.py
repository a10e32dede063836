from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class AlertOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID | None
    region_code: str
    risk_type: str
    source_agency: str
    status: str
    outcome: str | None
    opened_at: datetime
    verified_at: datetime | None
