"""Every roll query of payments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import Beneficiary


class BeneficiaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_case(self, case_id: uuid.UUID, *, for_update: bool = False) -> Beneficiary | None:
        query = select(Beneficiary).where(Beneficiary.case_id == case_id)
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def in_region(self, region_prefix: str, household_id: uuid.UUID | None, limit: int) -> list[Beneficiary]:
        query = select(Beneficiary).where(Beneficiary.region_code.startswith(region_prefix))
        if household_id:
            query = query.where(Beneficiary.household_id == household_id)
        return list(await self.session.scalars(query.order_by(Beneficiary.created_at).limit(limit)))

    def add(self, beneficiary: Beneficiary) -> None:
        self.session.add(beneficiary)
