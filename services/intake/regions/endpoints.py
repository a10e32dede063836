"""The region codes the front desk picks from: counties, their townships and the villages the county loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, UploadFile

from services.intake.deps import Admin, IntakeSettings, Reader
from services.intake.regions import service
from services.intake.regions.schemas import CODE_RULE, RegionOut, VillagesLoadedOut
from shared.app import UowDep
from shared.errors import PayloadTooLarge

router = APIRouter(prefix="/regions", tags=["regions"])
MAX_VILLAGE_FILE_BYTES = 2 * 1024 * 1024  # a county's table is tens of kilobytes


@router.get(
    "/{code}",
    summary="A region and its direct subdivisions",
    description="A county lists its townships; a township lists its villages once the county loaded them "
    f"(until then `villages_loaded` is false and `note` says how to form a code). {CODE_RULE}",
)
async def read_region(
    code: Annotated[str, Path(pattern=r"^[0-9]{2,12}$")], uow: UowDep, principal: Reader, settings: IntakeSettings
) -> RegionOut:
    _ = principal  # any signed-in reader: codes are public, but the API is not
    return await service.read_region(uow, settings, code)


@router.put(
    "/{county_code}/villages",
    summary="Load the county's villages (统计用区划代码 table, CSV)",
    description="A county admin uploads the statistics bureau's 统计用区划代码 table of its county as CSV with "
    "the columns `code,name,urban_rural_class` (or the bureau's 统计用区划代码,名称,城乡分类代码), "
    "UTF-8 or GB 18030. It replaces the county's list; from then on a household of a listed "
    "township must use one of its codes. Every bad line is reported in `errors`.",
)
async def load_villages(
    county_code: Annotated[str, Path(pattern=r"^[0-9]{6}$")],
    uow: UowDep,
    principal: Admin,
    settings: IntakeSettings,
    file: Annotated[UploadFile, File(description="the county's 统计用区划代码 table as CSV")],
) -> VillagesLoadedOut:
    data = await file.read(MAX_VILLAGE_FILE_BYTES + 1)
    if len(data) > MAX_VILLAGE_FILE_BYTES:
        raise PayloadTooLarge(
            f"file: larger than {MAX_VILLAGE_FILE_BYTES} bytes", errors=[{"field": "file", "message": "too large"}]
        )
    return await service.load_villages(uow, principal, settings, county_code, data)
