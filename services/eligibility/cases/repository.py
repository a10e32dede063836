"""Every case query of eligibility."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.models import Case


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
        return await self.session.get(Case, case_id, with_for_update=for_update)

    async def by_application(self, application_id: uuid.UUID) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.application_id == application_id))

    async def in_region(self, region_prefix: str, status: str | None = None, limit: int = 100) -> list[Case]:
        query = select(Case).where(Case.region_code.startswith(region_prefix))
        if status:
            query = query.where(Case.status == status)
        return list(await self.session.scalars(query.order_by(Case.opened_on, Case.id).limit(limit)))

    def add(self, case: Case) -> None:
        self.session.add(case)
