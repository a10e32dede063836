from __future__ import annotations

import uuid

from pydantic import BaseModel


class BeneficiaryOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    monthly_amount_fen: int
    start_month: str
    end_month: str | None
    status: str
