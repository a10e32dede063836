from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.payments.county.service import resolve_period
from services.payments.deps import Reader
from services.payments.statistics import service
from services.payments.statistics.schemas import Statistics
from shared.app import UowDep
from shared.core.period import PATTERN as PERIOD_PATTERN
from shared.core.regions import CODE_PATTERN as REGION_PATTERN
from shared.downloads import XLSX, or_xlsx
from shared.responses import streamed

router = APIRouter(prefix="/statistics", tags=["statistics"])


@router.get(
    "",
    response_model=Statistics,
    summary="统计: per programme, households, persons, money, movements",
    responses=or_xlsx(),
)
async def statistics(
    uow: UowDep,
    principal: Reader,
    region: Annotated[str, Query(pattern=REGION_PATTERN)],
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="YYYY-MM: one month")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="a calendar year")] = None,
    half: Annotated[int | None, Query(ge=1, le=2, description="上半年 1, 下半年 2")] = None,
    format: Literal["json", "xlsx"] = "json",
) -> Statistics | StreamingResponse:
    when = resolve_period(period, year, None, half)
    stats = await service.statistics(uow, principal, region, when.first, when.last)
    if format == "json":
        return stats
    return streamed(service.to_xlsx(stats), XLSX, f"statistics-{region}-{when.first}-{when.last}.xlsx")
