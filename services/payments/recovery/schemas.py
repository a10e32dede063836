from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.period import Period


class OverpaymentOut(BaseModel):
    """多发待追回: paid for `period` beyond what is owed for it now."""

    id: int
    beneficiary_id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    period: Period
    paid_fen: int
    owed_fen: int
    amount_fen: int
    reason: str
    status: str
    recorded_at: datetime
