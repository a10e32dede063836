"""Queries on the villages a county loaded."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Village
from services.intake.regions.villages import VillageRow


class VillageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replace_county(self, county_code: str, rows: list[VillageRow], loaded_by: str) -> None:
        """The county's list becomes `rows`: one DELETE and one multi-row INSERT (a county has hundreds)."""
        await self.session.execute(delete(Village).where(Village.code.startswith(county_code, autoescape=True)))
        await self.session.execute(
            insert(Village),
            [
                {
                    "code": r.code,
                    "township_code": r.township_code,
                    "name": r.name,
                    "urban_rural_class": r.urban_rural_class,
                    "loaded_by": loaded_by,
                    "announced": True,
                }
                for r in rows
            ],
        )

    async def unannounced_counties(self) -> list[str]:
        """The counties with villages loaded before `villages.loaded` existed (marked by migration 0016)."""
        county = func.left(Village.code, 6).label("county")
        rows = await self.session.scalars(select(county).where(~Village.announced).group_by(county).order_by(county))
        return list(rows)

    async def of_county(self, county_code: str) -> list[Village]:
        result = await self.session.scalars(
            select(Village).where(Village.code.startswith(county_code, autoescape=True)).order_by(Village.code)
        )
        return list(result)

    async def mark_announced(self, county_code: str) -> None:
        await self.session.execute(
            update(Village).where(Village.code.startswith(county_code, autoescape=True)).values(announced=True)
        )

    async def in_township(self, township_code: str) -> list[Village]:
        result = await self.session.scalars(
            select(Village).where(Village.township_code == township_code).order_by(Village.code)
        )
        return list(result)

    async def get(self, code: str) -> Village | None:
        return await self.session.get(Village, code)

    async def accepts(self, code: str) -> bool:
        """A village code is acceptable if it is in its township's list, or the township has none loaded yet
        (one round trip)."""
        return bool(await self.session.scalar(_ACCEPTS, {"code": code, "township": code[:9]}))


# Built once with named parameters: on every registration's path, and building it cost more than running it.
_ACCEPTS = select(
    or_(
        exists().where(Village.code == bindparam("code")),
        ~exists().where(Village.township_code == bindparam("township")),
    )
)
