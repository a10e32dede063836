"""Every application query of intake."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Application

OPEN_STATUSES = ("submitted", "in_review")


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, application_id: uuid.UUID, *, for_update: bool = False) -> Application | None:
        return await self.session.get(Application, application_id, with_for_update=for_update)

    async def open_for(self, household_id: uuid.UUID, programme: str) -> Application | None:
        return await self.session.scalar(
            select(Application).where(Application.household_id == household_id,
                                      Application.programme == programme,
                                      Application.status.in_(OPEN_STATUSES))
        )

    def add(self, application: Application) -> None:
        self.session.add(application)
