"""Queries on the village names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.models import VillageName


class VillageNameRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def loaded_at(self, county_code: str) -> datetime | None:
        return await self.session.scalar(
            select(func.max(VillageName.loaded_at)).where(VillageName.county_code == county_code)
        )

    async def replace_county(self, county_code: str, names: list[tuple[str, str]], loaded_at: datetime) -> None:
        """The county's names become `names`: one DELETE and one multi-row INSERT (a county has hundreds)."""
        await self.session.execute(delete(VillageName).where(VillageName.county_code == county_code))
        if names:
            await self.session.execute(
                insert(VillageName),
                [{"code": c, "county_code": county_code, "name": n, "loaded_at": loaded_at} for c, n in names],
            )

    async def names(self, codes: Iterable[str]) -> dict[str, str]:
        wanted = sorted({c for c in codes if len(c) == 12})
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(VillageName.code, VillageName.name).where(VillageName.code.in_(wanted))
        )
        return {code: name for code, name in rows}
