"""Region codes for the front desk: reading a region with its subdivisions, a county admin loading its villages,
and the check every household's region_code goes through."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from services.intake.config import Settings
from services.intake.models import Village
from services.intake.regions.repository import VillageRepository
from services.intake.regions.schemas import CODE_RULE, LEVELS, RegionOut, VillagesLoadedOut
from services.intake.regions.table import region_table
from services.intake.regions.villages import VillageFileError, parse_villages
from shared import audit
from shared.auth import Principal
from shared.core.regions import LEVEL_LENGTHS, InvalidRegionCode, Region, UnknownRegionCode
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.events.catalogue import VillageName, VillagesLoaded
from shared.uow import UnitOfWork


def _out(region: Region, children: list[RegionOut] | None = None, **extra: object) -> RegionOut:
    return RegionOut(
        code=region.code,
        name=region.name,
        level=LEVELS[LEVEL_LENGTHS.index(len(region.code))],
        parent_code=region.parent_code,
        children=children or [],
        **extra,
    )


def _village(v: Village) -> RegionOut:
    return RegionOut(
        code=v.code,
        name=v.name,
        level="village",
        parent_code=v.township_code,
        urban_rural_class=v.urban_rural_class,
        children=[],
    )


async def read_region(uow: UnitOfWork, settings: Settings, code: str) -> RegionOut:
    table = region_table(settings)
    repository = VillageRepository(uow.session)
    if len(code) == 12 and (village := await repository.get(code)) is not None:
        return _village(village)
    try:
        region = table.get(code)
    except (InvalidRegionCode, UnknownRegionCode) as exc:
        hint = f" (a village code: {CODE_RULE})" if len(code) == 12 else ""
        raise NotFound(f"{exc}{hint}") from exc
    if len(code) != 9:
        return _out(region, [_out(child) for child in table.children(code)])
    if loaded := await repository.in_township(code):
        return _out(region, [_village(v) for v in loaded], villages_loaded=True)
    listed = table.children(code)  # villages named in a deployment's villages file, if any
    note = (
        None
        if listed
        else (f"{region.name} has no village list loaded yet: any code {code}001-{code}399 is accepted. {CODE_RULE}")
    )
    return _out(region, [_out(child) for child in listed], villages_loaded=bool(listed), note=note)


async def load_villages(
    uow: UnitOfWork, principal: Principal, settings: Settings, county_code: str, data: bytes
) -> VillagesLoadedOut:
    """The county's village list becomes the file's; households already registered keep their codes."""
    table = region_table(settings)
    try:
        table.townships(county_code)
    except (InvalidRegionCode, UnknownRegionCode) as exc:
        raise NotFound(str(exc)) from exc
    if not principal.covers(county_code):
        raise Forbidden(f"an admin of {principal.region or 'the nation'} loads only the villages of its own region")
    try:
        rows = parse_villages(data, county_code, table)
    except VillageFileError as exc:
        invalid = InvalidInput("file", str(exc))
        invalid.errors = [{"field": "file", "message": f"{where}: {message}"} for where, message in exc.problems]
        raise invalid from exc
    await VillageRepository(uow.session).replace_county(county_code, rows, principal.sub)
    _announce(uow, county_code, [(r.code, r.name) for r in rows])
    per_township = Counter(row.township_code for row in rows)
    await audit.record(
        uow,
        principal,
        "regions.villages.load",
        "region",
        county_code,
        region_code=county_code,
        details={"villages": len(rows), "townships": len(per_township)},
    )
    return VillagesLoadedOut(county_code=county_code, villages=len(rows), townships=dict(sorted(per_township.items())))


def _announce(uow: UnitOfWork, county_code: str, villages: list[tuple[str, str]]) -> None:
    """villages.loaded: the county's list as it now stands, for the services that print village names."""
    uow.emit(
        VillagesLoaded(
            county_code=county_code,
            villages=[VillageName(code=code, name=name) for code, name in villages],
            loaded_at=datetime.now(UTC),
        ),
        key=county_code,
        region=county_code,
    )


async def announce_unannounced_villages(uow: UnitOfWork) -> int:
    """村名录 back-fill: each county whose villages were loaded before `villages.loaded` existed gets it now, once.
    How many counties were announced (0: none left)."""
    repository = VillageRepository(uow.session)
    counties = await repository.unannounced_counties()
    for county_code in counties:
        _announce(uow, county_code, [(v.code, v.name) for v in await repository.of_county(county_code)])
        await repository.mark_announced(county_code)
    return len(counties)


async def check_village_code(uow: UnitOfWork, settings: Settings, code: str, field: str = "region_code") -> None:
    """A household's region: a 12-digit code under a known township and, once the township has a village list,
    one of its villages."""
    try:
        region_table(settings).validate_village_code(code)
    except (InvalidRegionCode, UnknownRegionCode) as exc:
        raise InvalidInput(field, f"{exc}. {CODE_RULE}") from exc
    if not await VillageRepository(uow.session).accepts(code):
        raise InvalidInput(
            field, f"{code} is not a village of township {code[:9]}: pick one of GET /regions/{code[:9]}"
        )
