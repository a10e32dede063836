"""存量对象导入 over HTTP: the template, the upload (its dry run starts at once), the report, the import."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Request, Response, UploadFile

from services.intake.config import Settings
from services.intake.deps import Admin, IntakeSettings
from services.intake.roll_import import job, service
from services.intake.roll_import.schemas import IssuePage, IssueQuery, RollImportOut
from shared.app import UowDep
from shared.core.period import PATTERN as PERIOD_PATTERN
from shared.core.period import Period, china_today
from shared.downloads import XLSX, attachment
from shared.errors import InvalidInput, problems
from shared.uow import UnitOfWork
from shared.validation import CONTROL_CHARACTERS

router = APIRouter(prefix="/roll-imports", tags=["roll imports"])


def eligibility_transport() -> httpx.AsyncBaseTransport | None:
    """How intake reaches eligibility's POST /assessments: over the network (INTAKE_ELIGIBILITY_URL); tests put
    the real eligibility app here, in process."""
    return None


EligibilityTransport = Annotated[httpx.AsyncBaseTransport | None, Depends(eligibility_transport)]


def _units(request: Request):
    state = request.app.state
    return lambda: UnitOfWork(state.sessions, state.tables, state.source)


async def _spawn(make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run on in this process's event loop, past the request (a background task of its own)."""
    job.start(make())


def _token(request: Request) -> str:
    return request.headers.get("authorization", "").partition(" ")[2]


def _dry_run(
    request: Request,
    background: BackgroundTasks,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    import_id: uuid.UUID,
) -> None:
    """The import's dry run, priced with the caller's token, after the response (and so after the commit) in this
    process."""
    price = job.eligibility_pricer(settings, _token(request), transport)
    units, chunk = _units(request), settings.roll_import_chunk
    background.add_task(_spawn, lambda: job.run_dry_run(units, import_id, chunk, price))


@router.get(
    "/template",
    summary="The roll file template (.xlsx with its 填表说明, or the CSV header)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}, "text/csv": {}}}},
)
async def template(principal: Admin, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    _ = principal
    content, media = service.template(format)
    return Response(content, media_type=media, headers=attachment(f"存量对象导入模板.{format}"))


@router.post(
    "",
    status_code=202,
    summary="Upload a county's current recipients (CSV UTF-8/GBK or .xlsx); the dry run starts at once",
    description="One row per member, grouped by 户编号 (GET /roll-imports/template explains the columns). The file "
    "is read in bounded memory and checked row by row; the dry run (progress and report on GET /roll-imports/{id}, "
    "lines on …/issues) then judges each household and prices it by eligibility's rules. Nothing is imported "
    "until POST /roll-imports/{id}/commit. The same file again (SHA-256, same region) answers 200 with the "
    "first import; if that import was not imported and its staging was purged (`purged_at`), the file is staged "
    "anew into it and its dry run starts over. The same file with another `paid_through` or `all_or_nothing` is "
    "refused (409 naming it): an import keeps the options it was uploaded with.",
    responses={
        200: {"description": "the same file was uploaded before: its import", "model": RollImportOut},
        **problems(409),
    },
)
async def upload(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    uow: UowDep,
    principal: Admin,
    settings: IntakeSettings,
    transport: EligibilityTransport,
    file: Annotated[UploadFile, File(description="the roll: .xlsx or CSV (UTF-8 or GBK)")],
    paid_through: Annotated[
        str, Form(pattern=PERIOD_PATTERN, description="YYYY-MM: the last month the old system paid")
    ],
    all_or_nothing: Annotated[bool, Form(description="import nothing while any row is refused")] = False,
    region: Annotated[
        str | None, Form(pattern=r"^[0-9]{6,12}$", description="the county the roll is for (default: your region)")
    ] = None,
) -> RollImportOut:
    through = Period.parse(paid_through)
    if through.first_day > Period.of(china_today()).first_day:
        raise InvalidInput("paid_through", "cannot be after the current month")
    filename = (file.filename or "roll").replace("\x00", "")[-200:] or "roll"
    if CONTROL_CHARACTERS.search(filename):
        raise InvalidInput("file", "the file name holds control characters")
    result = await service.upload(
        uow,
        principal,
        settings,
        file=file.file,
        filename=filename,
        paid_through=through,
        all_or_nothing=all_or_nothing,
        region=region,
    )
    if not result.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    if result.dry_run:
        _dry_run(request, background, settings, transport, result.out.id)
    return result.out


@router.get(
    "/{import_id}",
    summary="An import: status, progress, the dry run's report",
    description="The import stays when its staged rows, households and report lines are deleted, "
    "INTAKE_ROLL_IMPORT_RETENTION_DAYS after its last change (never while `importing`): `purged_at` says when; "
    "status, counts and SHA-256 are kept.",
)
async def read(import_id: uuid.UUID, uow: UowDep, principal: Admin) -> RollImportOut:
    return await service.read(uow, principal, import_id)


@router.get(
    "/{import_id}/issues",
    summary="The report's lines: refused (line, field, why), amount differs, skipped",
    description="409 once the import's staging was purged (`purged_at` on GET /roll-imports/{id}): the lines are "
    "gone, the report's counts stay.",
    responses=problems(409),
)
async def issues(import_id: uuid.UUID, uow: UowDep, principal: Admin, q: Annotated[IssueQuery, Query()]) -> IssuePage:
    return await service.issues(uow, principal, import_id, q)


@router.post(
    "/{import_id}/dry-run",
    status_code=202,
    summary="Take up a dry run that stopped (its process ended, or eligibility could not price it)",
    description="From the last committed chunk, priced with your token, without sending the file again. 409 once "
    "the dry run finished (`validated`), once its import started (a failed import is taken up by …/commit), or "
    "once the staging was purged (upload the file again).",
    responses=problems(409),
)
async def resume_dry_run(
    import_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    uow: UowDep,
    principal: Admin,
    settings: IntakeSettings,
    transport: EligibilityTransport,
) -> RollImportOut:
    out = await service.resume_dry_run(uow, principal, import_id)
    _dry_run(request, background, settings, transport, out.id)
    return out


@router.post(
    "/{import_id}/commit",
    status_code=202,
    summary="Import what the dry run accepted",
    description="Households, members, payees and applications `imported`, with their events, committed chunk by "
    "chunk (progress on GET /roll-imports/{id}); a killed process's import is resumed by the intake worker. "
    "All-or-nothing imports refuse (409) while any row is refused. An import whose staging was purged before it "
    "was imported (`purged_at`) answers 409: upload the same file again to stage it anew. Asking again once it "
    "runs or ran answers the import as it is; an import that failed (`error`: after how many households, and why) "
    "is taken up again from its last committed chunk. A household that conflicts by now (a person in another "
    "household, or the household on file holding the programme live) is refused in the report, the rest imported.",
)
async def start_import(
    import_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    uow: UowDep,
    principal: Admin,
    settings: IntakeSettings,
) -> RollImportOut:
    out = await service.start_import(uow, principal, import_id)
    if out.status == "importing":
        units = _units(request)
        background.add_task(_spawn, lambda: job.run_import(units, out.id, settings))
    return out
