"""What holds money for a person's months (已付 + 在途 + 待发), for eligibility's what-if (试算) to tell the balance."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from shared.core.period import Period


class PersonKey(BaseModel):
    """A person as payments keys what is owed: household, programme, member (nil uuid: the household)."""

    model_config = ConfigDict(extra="forbid")

    household_id: uuid.UUID
    programme: str = Field(min_length=1, max_length=30)
    member_id: uuid.UUID


class HeldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    persons: list[PersonKey] = Field(min_length=1, max_length=10_000)
    from_month: Period
    through: Period = Field(description="the last month asked for (none if before from_month)")


class HeldOut(BaseModel):
    """Fen holding money for the month: lines paid, with the bank or in a batch not yet exported (what each pays
    plus what it withheld, 扣回) and the months the old system paid before the roll was imported (已由原系统发放, at
    the file's amount), less what was repaid (退回) or recovered by deduction from later months. The next
    batch pays owed − held when positive; held − owed beyond that is an overpayment. Months holding nothing are left
    out."""

    household_id: uuid.UUID
    programme: str
    member_id: uuid.UUID
    period: Period
    held_fen: int
