from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from services.eligibility.deps import NoticeReader
from services.eligibility.notices import service
from services.eligibility.notices.schemas import LongTermNotice
from services.eligibility.notices.service import PublicNotice
from shared.app import UowDep
from shared.downloads import PAGE_HEADERS, XLSX, attachment, or_xlsx
from shared.responses import streamed

router = APIRouter(prefix="/notices", tags=["public notice"])


RegionCode = Annotated[str, Path(pattern=r"^([0-9]{9}|[0-9]{12})$", description="township or village code")]


@router.get(
    "/{region_code}",
    response_model=PublicNotice,
    responses=or_xlsx(),
    summary="The public notice (公示) for a village or township, as JSON or .xlsx",
)
async def public_notice(
    region_code: RegionCode,
    uow: UowDep,
    principal: NoticeReader,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> PublicNotice | Response:
    notice = await service.export(uow, principal, region_code, format)
    if format == "xlsx":
        return Response(service.to_xlsx(notice), media_type=XLSX, headers=attachment(f"notice-{region_code}.xlsx"))
    return notice


@router.get(
    "/{region_code}/recipients",
    response_model=LongTermNotice,
    responses={200: {"content": {XLSX: {}, "text/html": {}}}},
    summary="The long-term public notice (长期公示) of the households on the roll, as JSON, .xlsx or a printable page",
    description=(
        "Every household of the village or township paid monthly now (approved, or in 渐退 until its last month): "
        "masked name, persons, programme, monthly amount and the month it started. Computed from the cases at each "
        "request, so an approval, an amount change, the end of 渐退 or a 停保 shows at once. No ID number, income "
        "or illness. `format=html` is an A4 page per village to print and post."
    ),
)
async def long_term_notice(
    region_code: RegionCode,
    uow: UowDep,
    principal: NoticeReader,
    format: Annotated[Literal["json", "xlsx", "html"], Query()] = "json",
) -> LongTermNotice | Response:
    notice = await service.long_term(uow, principal, region_code, format)
    if format == "xlsx":
        return streamed(service.long_term_xlsx(notice), XLSX, f"recipients-{region_code}.xlsx")
    if format == "html":
        return HTMLResponse(service.long_term_html(notice), headers=PAGE_HEADERS)
    return notice
