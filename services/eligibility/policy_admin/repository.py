"""Every query about admin-added parameter values."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.models import ParameterOverride


class ParameterOverrideRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[ParameterOverride]:
        return list(await self.session.scalars(select(ParameterOverride).order_by(ParameterOverride.id)))

    async def exists(self, region: str, key: str, start: object) -> bool:
        return bool(
            await self.session.scalar(
                select(ParameterOverride.id).where(
                    ParameterOverride.region == region, ParameterOverride.key == key, ParameterOverride.start == start
                )
            )
        )

    def add(self, override: ParameterOverride) -> None:
        self.session.add(override)
