from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.payments.county.service import resolve_period
from services.payments.deps import PaymentsSettings, Reader
from services.payments.statistics import service
from services.payments.statistics.schemas import ChangePage, ChangeQuery, Statistics
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


@router.get(
    "/changes",
    response_model=ChangePage,
    summary="增减变动: the beneficiaries that joined, stopped or changed amount in a month, a page at a time",
    responses=or_xlsx(),
)
async def changes(
    uow: UowDep,
    principal: Reader,
    settings: PaymentsSettings,
    query: Annotated[ChangeQuery, Query()],
    format: Literal["json", "xlsx"] = "json",
) -> ChangePage | StreamingResponse:
    """What a township reports each month by the 10th (吴起县): each beneficiary that joined (新增), stopped (停保) or
    changed amount (调整) in the month, with the amounts before and after, the village and the account holder. As
    .xlsx (`format=xlsx`), the whole list at once (增减变动名册)."""
    if format == "json":
        return await service.changes(uow, principal, query, settings.keyring())
    out = await service.changes_xlsx(uow, principal, query, settings.keyring())
    return streamed(out, XLSX, f"changes-{query.region or principal.region}-{query.period}.xlsx")
