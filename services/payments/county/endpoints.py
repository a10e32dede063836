"""县级统计, 工作总结 and 工作台: JSON / .xlsx statistics, the work-summary draft (.md / .docx), and the dashboard
page behind the same login and region scope as the APIs (a bearer token, or — for a browser — the same token
exchanged at this site's own login form for a server-side session, its id in an HttpOnly, SameSite=Strict cookie
scoped to /county, revoked at logout)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

import jwt
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from services.payments.county import dashboard, report, service
from services.payments.county.schemas import CountyPeriod, CountyStatistics
from services.payments.deps import Reader
from shared.app import UowDep
from shared.auth import Principal, decode_token
from shared.core.period import Period
from shared.core.regions import CODE_PATTERN as REGION_PATTERN
from shared.downloads import DOCX, PAGE_HEADERS, XLSX, attachment, or_xlsx
from shared.errors import DomainError, problems
from shared.responses import streamed

router = APIRouter(prefix="/county", tags=["county"])
COOKIE = "county_session"
READER_ROLES = ("finance", "county_approver", "auditor", "admin")

# The county figures cover 2000-2100 (`service.resolve_period`), as `Year` says.
Period_ = Annotated[str | None, Query(pattern=r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$", description="YYYY-MM: one month")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="a calendar year")]
Quarter = Annotated[int | None, Query(ge=1, le=4, description="季度 1-4, with year")]
Half = Annotated[int | None, Query(ge=1, le=2, description="上半年 1, 下半年 2, with year")]


@router.get(
    "/statistics",
    response_model=CountyStatistics,
    summary="县级统计: payments, cases, alerts, coverage",
    responses=or_xlsx(),
)
async def statistics(
    uow: UowDep,
    principal: Reader,
    region: Annotated[str, Query(pattern=REGION_PATTERN)],
    period: Period_ = None,
    year: Year = None,
    quarter: Quarter = None,
    half: Half = None,
    format: Literal["json", "xlsx"] = "json",
) -> CountyStatistics | StreamingResponse:
    when = service.resolve_period(period, year, quarter, half)
    stats = await service.statistics(uow, principal, region, when)
    if format == "json":
        return stats
    return streamed(service.to_xlsx(stats), XLSX, f"county-statistics-{region}-{when.first}-{when.last}.xlsx")


@router.get(
    "/report",
    summary="工作总结 draft (half-year or annual) from the live statistics",
    responses={200: {"content": {"text/markdown": {}, DOCX: {}}}},
)
async def work_summary(
    uow: UowDep,
    principal: Reader,
    region: Annotated[str, Query(pattern=REGION_PATTERN)],
    year: Annotated[int, Query(ge=2000, le=2100)],
    half: Half = None,
    format: Literal["md", "docx"] = "docx",
) -> Response:
    stats = await service.statistics(uow, principal, region, service.resolve_period(None, year, None, half))
    name = f"work-summary-{region}-{year}{f'-H{half}' if half else ''}"
    if format == "md":
        return Response(
            report.to_markdown(stats), media_type="text/markdown; charset=utf-8", headers=attachment(f"{name}.md")
        )
    return Response(report.to_docx(stats), media_type=DOCX, headers=attachment(f"{name}.docx"))


# --- the browser page ---------------------------------------------------------------------------------------------


async def _browser_principal(request: Request, uow: UowDep) -> Principal | None:
    """The caller of the page: a bearer header (scripts) or a live session cookie (a browser); None = log in."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        try:
            principal = decode_token(header[7:], request.app.state.settings)
        except DomainError:
            return None
    elif session_id := request.cookies.get(COOKIE):
        principal = await service.session_principal(uow, session_id)
    else:
        return None
    return principal if principal is not None and principal.has_any(*READER_ROLES) else None


def _same_origin(request: Request) -> bool:
    """Whether a login or logout form was posted by this site's own page (login CSRF: another site must not log a
    browser in as the attacker, nor out). Browsers send `Origin` with every POST and `Sec-Fetch-Site` with every
    request; a POST with neither did not come from a browser's form, and the console is for browsers only (scripts
    send the bearer header), so it is refused too. `Origin: null` (sandboxed or privacy-stripped) is not ours."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is None and origin is None:
        return False
    if site is not None and site != "same-origin":
        return False
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _cross_site() -> HTMLResponse:
    return HTMLResponse(dashboard.login_page("请从本站登录页提交"), status_code=403, headers=PAGE_HEADERS)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form() -> HTMLResponse:
    return HTMLResponse(dashboard.login_page(), headers=PAGE_HEADERS)


@router.post("/login", include_in_schema=False)
async def login(request: Request, uow: UowDep, token: Annotated[str, Form(max_length=8192)]) -> Response:
    """Exchange a token for a server-side session whose random id the cookie carries (HttpOnly: no script can read
    it; Strict: no other site sends it); only this site's own login form may post here."""
    if not _same_origin(request):
        return _cross_site()
    token = token.strip()
    try:
        principal = decode_token(token, request.app.state.settings)
        expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (DomainError, jwt.PyJWTError, KeyError, ValueError):
        return HTMLResponse(dashboard.login_page("令牌无效或已过期"), status_code=401, headers=PAGE_HEADERS)
    if not principal.has_any(*READER_ROLES):
        return HTMLResponse(dashboard.login_page("该账号无权查看工作台"), status_code=403, headers=PAGE_HEADERS)
    session_id = await service.open_session(uow, principal, datetime.fromtimestamp(expires, UTC))
    response = RedirectResponse("/county/dashboard", status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=max(expires - int(time.time()), 0),
        path="/county",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.environment in ("staging", "production"),
    )
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, uow: UowDep) -> Response:
    """退出: the session is revoked server-side (a copy of the cookie opens nothing), then the cookie dropped."""
    if not _same_origin(request):
        return _cross_site()
    if session_id := request.cookies.get(COOKIE):
        await service.close_session(uow, session_id)
    response = RedirectResponse("/county/login", status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(COOKIE, path="/county", httponly=True, samesite="strict")
    return response


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="县级工作台 (HTML)",
    responses={303: {"description": "no session: to the login form"}, **problems(403)},
)
async def dashboard_page(
    request: Request,
    uow: UowDep,
    region: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
    period: Period_ = None,
) -> Response:
    principal = await _browser_principal(request, uow)
    if principal is None:
        return RedirectResponse("/county/login", status_code=303, headers=PAGE_HEADERS)
    region = principal.region if region is None else region
    month = service.resolve_period(period or str(Period.of(service.today())), None, None, None)
    first = Period(month.first.year, 1)
    year = CountyPeriod(
        kind="year",
        label=f"{first.year}年1-{month.first.month}月",
        first=first,
        last=month.first,
        start=first.first_day,
        end=month.end,
    )
    stats = await service.statistics(uow, principal, region, month)
    to_date = await service.statistics(uow, principal, region, year)
    overdue = await service.overdue_cases(uow, principal, region)
    townships = await service.open_alerts(uow, principal, region)
    return HTMLResponse(dashboard.render(stats, to_date, overdue, townships), headers=PAGE_HEADERS)
