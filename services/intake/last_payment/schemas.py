from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.core.period import Period


class LastPaymentOut(BaseModel):
    """最近一次发放: what the bank reported for the household's latest month."""

    programme: str
    period: Period
    amount_fen: int
    status: str = Field(description="paid (到账) or failed (发放失败; re-issued in a later batch)")
    reason: str | None = Field(description="the bank's reason when failed")
    reported_at: datetime
