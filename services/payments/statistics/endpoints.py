from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.payments.batches.schemas import PERIOD_PATTERN, REGION_PATTERN
from services.payments.deps import Reader, parse_period
from services.payments.statistics import service
from services.payments.statistics.schemas import Statistics
from shared.app import UowDep
from shared.downloads import XLSX, or_xlsx, streamed
from shared.errors import InvalidInput
from shared.period import Period

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
    if (period is None) == (year is None):
        raise InvalidInput("period", "give either period (YYYY-MM) or year (and optionally half)")
    if half is not None and year is None:
        raise InvalidInput("half", "only with year")
    if period is not None:
        first = last = parse_period("period", period)
    else:
        assert year is not None
        first = Period(year, 7 if half == 2 else 1)
        last = Period(year, 6 if half == 1 else 12)
    stats = await service.statistics(uow, principal, region, first, last)
    if format == "json":
        return stats
    return streamed(service.to_xlsx(stats), XLSX, f"statistics-{region}-{first}-{last}.xlsx")
