"""The region codes the front desk picks from: the demo county 吴起县 (610626), its townships and any villages
loaded (see services/intake/regions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from services.intake.deps import IntakeSettings, Reader
from services.intake.regions import region_table
from shared.errors import NotFound
from shared.regions import InvalidRegionCode, UnknownRegionCode

router = APIRouter(prefix="/regions", tags=["regions"])


class RegionOut(BaseModel):
    code: str
    name: str
    parent_code: str | None
    children: list[RegionOut]


@router.get("/{code}", response_model=RegionOut, summary="A region and its direct subdivisions")
async def read_region(
    code: Annotated[str, Path(pattern=r"^\d{2,12}$")], principal: Reader, settings: IntakeSettings
) -> RegionOut:
    _ = principal  # any signed-in reader: codes are public, but the API is not
    table = region_table(settings)
    try:
        region = table.get(code)
        children = table.children(code)
    except (InvalidRegionCode, UnknownRegionCode) as exc:
        raise NotFound(str(exc)) from exc
    return RegionOut(
        code=region.code,
        name=region.name,
        parent_code=region.parent_code,
        children=[RegionOut(code=c.code, name=c.name, parent_code=c.parent_code, children=[]) for c in children],
    )
