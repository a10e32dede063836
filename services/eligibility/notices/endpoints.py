from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from services.eligibility.deps import NoticeReader
from services.eligibility.notices import service
from services.eligibility.notices.service import PublicNotice
from shared.app import UowDep
from shared.downloads import XLSX, attachment, or_xlsx

router = APIRouter(prefix="/notices", tags=["public notice"])


@router.get(
    "/{region_code}",
    response_model=PublicNotice,
    responses=or_xlsx(),
    summary="The public notice (公示) for a village or township, as JSON or .xlsx",
)
async def public_notice(
    region_code: Annotated[str, Path(pattern=r"^(\d{9}|\d{12})$", description="township or village code")],
    uow: UowDep,
    principal: NoticeReader,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
) -> PublicNotice | Response:
    notice = await service.export(uow, principal, region_code, format)
    if format == "xlsx":
        return Response(service.to_xlsx(notice), media_type=XLSX, headers=attachment(f"notice-{region_code}.xlsx"))
    return notice
