from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from services.monitoring.deps import Exporter
from services.monitoring.reports import service
from services.monitoring.reports.service import MonthlyReport
from shared.app import UowDep
from shared.core.period import PATTERN as PERIOD
from shared.core.period import Period
from shared.core.regions import CODE_PATTERN as REGION_CODE
from shared.downloads import XLSX, attachment, or_xlsx

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get(
    "/monthly/{region}/{month}",
    response_model=MonthlyReport,
    summary="Monthly report to 乡村振兴局: alerts and 三类人群 coverage (JSON or .xlsx)",
    responses=or_xlsx(),
)
async def monthly(
    region: Annotated[str, Path(pattern=REGION_CODE, description="GB/T 2260 code: 2, 4, 6, 9 or 12 digits")],
    month: Annotated[str, Path(pattern=PERIOD, description="YYYY-MM")],
    uow: UowDep,
    principal: Exporter,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> MonthlyReport | Response:
    period = Period.parse_field("month", month)
    report = await service.monthly(uow, principal, region, period)
    if format == "xlsx":
        return Response(
            service.to_xlsx(report), media_type=XLSX, headers=attachment(f"monitoring-{region}-{period}.xlsx")
        )
    return report
