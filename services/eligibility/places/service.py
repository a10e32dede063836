"""Village names: kept from intake's villages.loaded, read as a region's printable name."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from services.eligibility.places.repository import VillageNameRepository
from shared.core.regions import display_name
from shared.events.catalogue import VillagesLoaded
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def record_villages(uow: UnitOfWork, data: VillagesLoaded) -> None:
    """A county's list replaces the one kept, unless a later one is kept already (a replayed older event)."""
    repository = VillageNameRepository(uow.session)
    kept = await repository.loaded_at(data.county_code)
    if kept is not None and kept > data.loaded_at:
        log.info("villages of %s loaded at %s: the list of %s kept", data.county_code, data.loaded_at, kept)
        return
    await repository.replace_county(data.county_code, [(v.code, v.name) for v in data.villages], data.loaded_at)


class PlaceNames:
    """Printable names of regions: a village by the name its county loaded, else as the division tables give it
    (a township's name and the village's number, 铁边城镇201村, until the county loads its list)."""

    def __init__(self, villages: dict[str, str]) -> None:
        self.villages = villages

    @classmethod
    async def load(cls, uow: UnitOfWork, codes: Iterable[str]) -> PlaceNames:
        return cls(await VillageNameRepository(uow.session).names(codes))

    def __call__(self, code: str) -> str:
        if code in self.villages:
            return f"{display_name(code[:9])}{self.villages[code]}"
        return display_name(code)
