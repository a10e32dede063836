"""Village names (村、社区名称) as each county loaded them at intake, kept by every service that prints a village.

The division tables shipped with the platform stop at townships; a county loads its villages at intake, which
announces each list (`villages.loaded.v1`). A service that names villages on paper (eligibility's 审核确认表 and
public notices, payments' 花名册 and the county view) adds the table to its metadata (`village_names_table(
Base.metadata)`) and its migration, registers `record_villages(table)` for the event, and reads names through
`PlaceNames`. A newer list replaces the county's previous one; an older list replayed does not undo it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core.regions import display_name
from shared.events.catalogue import VillagesLoaded
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def village_names_table(metadata: MetaData) -> Table:
    """The county's village names, created in the service's own schema (one owner per table)."""
    return Table(
        "village_names",
        metadata,
        Column("code", String(12), primary_key=True),
        Column("county_code", String(6), nullable=False),
        Column("name", String(100), nullable=False),
        Column("loaded_at", DateTime(timezone=True), nullable=False),
        Index("ix_village_names_county_code", "county_code"),
    )


class VillageNames:
    """The queries on one service's `village_names` table."""

    def __init__(self, session: AsyncSession, table: Table) -> None:
        self.session = session
        self.table = table

    async def loaded_at(self, county_code: str) -> datetime | None:
        t = self.table
        return await self.session.scalar(select(func.max(t.c.loaded_at)).where(t.c.county_code == county_code))

    async def replace_county(self, county_code: str, names: list[tuple[str, str]], loaded_at: datetime) -> None:
        """The county's names become `names`: one DELETE and one multi-row INSERT (a county has hundreds)."""
        t = self.table
        await self.session.execute(delete(t).where(t.c.county_code == county_code))
        if names:
            rows = [{"code": c, "county_code": county_code, "name": n, "loaded_at": loaded_at} for c, n in names]
            await self.session.execute(insert(t), rows)

    async def names(self, codes: Iterable[str]) -> dict[str, str]:
        wanted = sorted({c for c in codes if len(c) == 12})
        if not wanted:
            return {}
        t = self.table
        rows = await self.session.execute(select(t.c.code, t.c.name).where(t.c.code.in_(wanted)))
        return {code: name for code, name in rows}

    async def names_under(self, township: str) -> dict[str, str]:
        """The villages of one township (a few dozen)."""
        t = self.table
        rows = await self.session.execute(select(t.c.code, t.c.name).where(t.c.code.startswith(township)))
        return {code: name for code, name in rows}


def record_villages(table: Table) -> Callable[[UnitOfWork, VillagesLoaded], Awaitable[None]]:
    """The `villages.loaded` handler of a service keeping its names in `table`."""

    async def record(uow: UnitOfWork, data: VillagesLoaded) -> None:
        store = VillageNames(uow.session, table)
        kept = await store.loaded_at(data.county_code)
        if kept is not None and kept > data.loaded_at:
            log.info("villages of %s loaded at %s: the list of %s kept", data.county_code, data.loaded_at, kept)
            return
        await store.replace_county(data.county_code, [(v.code, v.name) for v in data.villages], data.loaded_at)

    return record


class PlaceNames:
    """Printable names of regions: a village by the name its county loaded, else as the division tables give it
    (a township's name and the village's number, 铁边城镇201村, until the county loads its list)."""

    def __init__(self, villages: dict[str, str]) -> None:
        self.villages = villages

    @classmethod
    async def load(cls, uow: UnitOfWork, table: Table, codes: Iterable[str]) -> PlaceNames:
        return cls(await VillageNames(uow.session, table).names(codes))

    @classmethod
    async def name_of(cls, uow: UnitOfWork, table: Table, code: str) -> str:
        """One region's printable name (吴起县, 白豹镇, 铁边城镇张湾村)."""
        return (await cls.load(uow, table, [code]))(code)

    @classmethod
    async def of_township(cls, uow: UnitOfWork, table: Table, township: str) -> PlaceNames:
        return cls(await VillageNames(uow.session, table).names_under(township))

    def __call__(self, code: str) -> str:
        """The township and the village: 铁边城镇张湾村."""
        if code in self.villages:
            return f"{display_name(code[:9])}{self.villages[code]}"
        return display_name(code)

    def village(self, code: str) -> str:
        """The village alone, as a list within one township shows it: 张湾村 (201村 until its name is loaded)."""
        if code in self.villages:
            return self.villages[code]
        return f"{code[9:]}村" if len(code) == 12 else display_name(code)
