from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.monitoring.deps import MonitoringSettings, Partner, SideUnits
from services.monitoring.feeds import service
from services.monitoring.feeds.kinds import DESCRIPTIONS, FeedKind
from services.monitoring.feeds.schemas import FeedErrorPage, FeedOut
from shared.app import UowDep
from shared.core.regions import CODE_PATTERN as REGION_CODE_PATTERN
from shared.deps import PrincipalDep
from shared.errors import InvalidInput, UnsupportedMediaType
from shared.pagination import ListQuery

router = APIRouter(prefix="/feeds", tags=["feeds"])

_FORMATS = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
_CHARSETS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030"}


def _format(content_type: str | None) -> tuple[str, str | None]:
    media, _, params = (content_type or "").partition(";")
    fmt = _FORMATS.get(media.strip().lower())
    if fmt is None:
        raise UnsupportedMediaType(
            "send the file as text/csv (UTF-8 or GBK) or application/x-ndjson (JSON lines)",
            errors=[{"field": "Content-Type", "message": "must be text/csv or application/x-ndjson"}],
        )
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = _CHARSETS.get(value.strip().strip('"').lower())
            if charset is None:
                raise InvalidInput("Content-Type", "charset must be utf-8 or gbk")
    return fmt, charset


_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n",
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/{kind}",
    status_code=201,
    summary="Post a partner data file (CSV or JSON lines), streamed",
    description="Kinds: " + "; ".join(f"`{k}`: {d}" for k, d in DESCRIPTIONS.items()) + ". Rows are validated "
    "one by one; bad rows go to the feed's error report (`GET /feeds/{id}/errors`). `mode=all_or_nothing` "
    "loads nothing when any row is bad. Posting the same file again answers 200 with the first result.",
    openapi_extra={"requestBody": _BODY},
    responses={200: {"description": "the same file was posted before: its first result", "model": FeedOut}},
)
async def post_feed(
    kind: FeedKind,
    request: Request,
    response: Response,
    uow: UowDep,
    principal: Partner,
    settings: MonitoringSettings,
    units: SideUnits,
    mode: Literal["best_effort", "all_or_nothing"] = "best_effort",
    region: Annotated[
        str | None,
        Query(description="the region the rows lie in (default: your region)", pattern=REGION_CODE_PATTERN),
    ] = None,
) -> FeedOut:
    service.partner_of(principal, kind)  # 403 before reading a byte of another agency's file
    fmt, charset = _format(request.headers.get("content-type"))
    result, created = await service.ingest(
        uow,
        units,
        principal,
        settings,
        kind=kind,
        fmt=fmt,
        encoding=charset,
        mode=mode,
        region=region,
        stream=request.stream(),
    )
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/{feed_id}", summary="A feed's progress and result")
async def get_feed(feed_id: uuid.UUID, uow: UowDep, principal: PrincipalDep) -> FeedOut:
    return await service.read(uow, principal, feed_id)


@router.get("/{feed_id}/errors", summary="A feed's error report: line, field, why; by line, a page at a time")
async def feed_errors(
    feed_id: uuid.UUID, uow: UowDep, principal: PrincipalDep, query: Annotated[ListQuery, Query()]
) -> FeedErrorPage:
    return await service.errors(uow, principal, feed_id, query)
