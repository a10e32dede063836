"""Request and response bodies of the worklist (待办事项)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from shared.events.catalogue import Programme
from shared.pagination import Page, RegionListQuery


class TaskQuery(RegionListQuery):
    """Whose worklist is the token's: its roles and region; a township or village and a programme narrow it."""

    programme: Programme | None = None


class TaskStep(BaseModel):
    step: str = Field(description="the step's name, as in the case's `next_steps`")
    path: str = Field(description="where to POST it: `/cases/{id}/<step>`")


class TaskOut(BaseModel):
    """One case with the steps of the procedure the caller may take on it now (what a front desk's first screen
    lists: 待办)."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    status: str
    opened_on: date
    due_date: date = Field(description="the case's nearest deadline (its current step's or the whole case's)")
    due_date_provisional: bool
    overdue: bool = Field(description="due_date is before today")
    steps: list[TaskStep]


class TaskPage(Page[TaskOut]):
    """Oldest deadline first (then by case id). `total` counts the open cases in the caller's reach that may hold
    one of its steps; a page leaves out the few of them whose step's condition does not hold yet, so it may be
    shorter than `limit` while `next` is not null."""

    today: date = Field(description="today in China (UTC+8), the day deadlines and `overdue` count from")
    reviews_due: int | None = Field(
        description="for roles that take the periodic review (定期核查): the cases on the roll in the same reach whose "
        "review falls within 30 days, which `GET /cases/reviews-due` lists earliest first; null for other roles"
    )
