"""Every household and member query of intake."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Household, Member


class HouseholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, household_id: uuid.UUID) -> Household | None:
        return await self.session.get(Household, household_id)

    async def members(self, household_id: uuid.UUID) -> list[Member]:
        rows = await self.session.scalars(
            select(Member).where(Member.household_id == household_id, Member.active).order_by(Member.name)
        )
        return list(rows)

    async def active_fingerprints(self, fingerprints: Iterable[str]) -> set[str]:
        rows = await self.session.scalars(
            select(Member.id_fingerprint).where(Member.id_fingerprint.in_(list(fingerprints)), Member.active)
        )
        return set(rows)

    def add(self, household: Household, members: list[Member]) -> None:
        self.session.add(household)
        self.session.add_all(members)
