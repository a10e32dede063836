from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from services.intake.applications import service
from services.intake.applications.documents import DocumentKind
from services.intake.applications.evidence_store import check_upload, sha256, stream
from services.intake.applications.schemas import (
    ApplicationAmend,
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    ApplicationQuery,
    EvidenceOut,
    Withdrawal,
)
from services.intake.deps import Clerk, Idem, IntakeSettings, Reader
from shared.app import UowDep
from shared.deps import IdNumberHeader, IfMatch
from shared.downloads import attachment
from shared.errors import InvalidInput
from shared.preconditions import conditional, tagged
from shared.responses import tag_answer, versioned
from shared.validation import CONTROL_CHARACTERS

router = APIRouter(prefix="/applications", tags=["applications"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    summary="Submit an application; the answer lists every missing document at once (一次性告知)",
    responses=tagged(201),
)
async def submit_application(body: ApplicationIn, uow: UowDep, principal: Clerk, idem: Idem) -> Response:
    return tag_answer(
        await idem.run(uow, principal, body, lambda: service.submit(uow, principal, body), status_code=201)
    )


@router.get("", summary="Applications in your region (audited)")
async def list_applications(
    uow: UowDep,
    principal: Reader,
    settings: IntakeSettings,
    query: Annotated[ApplicationQuery, Query()],
    id_number: IdNumberHeader = None,
) -> ApplicationPage:
    return await service.search(uow, principal, query, id_number, settings)


@router.get(
    "/{application_id}",
    summary="An application with its case status, next deadline and missing documents",
    responses=tagged(),
)
async def read_application(
    application_id: uuid.UUID, uow: UowDep, principal: Reader, response: Response
) -> ApplicationOut:
    return versioned(response, await service.read(uow, principal, application_id))


@router.patch(
    "/{application_id}",
    summary="Amend an application before a decision (If-Match: the ETag read)",
    responses=conditional(),
)
async def amend_application(
    application_id: uuid.UUID,
    body: ApplicationAmend,
    uow: UowDep,
    principal: Clerk,
    response: Response,
    if_match: IfMatch = None,
) -> ApplicationOut:
    return versioned(response, await service.amend(uow, principal, application_id, body, if_match))


@router.post(
    "/{application_id}/withdraw",
    response_model=ApplicationOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask to withdraw an undecided application (If-Match: the ETag read)",
    responses=conditional(202),
    description="Eligibility owns the case and answers: the application shows `withdrawal_requested` until then, "
    "and afterwards `withdrawn` (accepted) or the decision that stands with `withdrawal: refused`. "
    "409 once intake knows the case is decided.",
)
async def withdraw_application(
    application_id: uuid.UUID, body: Withdrawal, uow: UowDep, principal: Clerk, idem: Idem, if_match: IfMatch = None
) -> Response:
    return tag_answer(
        await idem.run(
            uow,
            principal,
            body,
            lambda: service.withdraw(uow, principal, application_id, body.reason, if_match),
            status_code=202,
        )
    )


@router.post(
    "/{application_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceOut,
    summary="Upload a PDF, JPEG or PNG as evidence of one required document",
)
async def upload_evidence(
    application_id: uuid.UUID,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    idem: Idem,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG (recognised by content, not by name)")],
    kind: Annotated[DocumentKind, Form(description="which required document this is")],
    description: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    # Read one byte past the limit: enough to know it is too large without holding a huge upload in memory.
    data = await file.read(settings.evidence_max_bytes + 1)
    content_type = check_upload(data, settings.evidence_max_bytes)  # 413/415 naming `file` before anything is stored
    if CONTROL_CHARACTERS.search(description):  # the request guard does not read multipart bodies
        raise InvalidInput("description", "control characters are not allowed (tab and line breaks are)")
    filename = (file.filename or "upload").replace("\x00", "")[-200:] or "upload"
    # Multipart bytes differ per retry (the boundary), so the retry is recognised by what was sent.
    payload = {"kind": kind, "description": description, "filename": filename, "sha256": sha256(data)}
    upload = service.Upload(kind, description, filename, content_type, data)
    return await idem.run(
        uow,
        principal,
        payload,
        lambda: service.upload_evidence(uow, principal, application_id, upload),
        status_code=201,
    )


@router.get("/{application_id}/evidence", summary="Evidence of an application")
async def list_evidence(application_id: uuid.UUID, uow: UowDep, principal: Reader) -> list[EvidenceOut]:
    return await service.list_evidence(uow, principal, application_id)


@router.get(
    "/{application_id}/evidence/{evidence_id}",
    response_class=StreamingResponse,
    summary="Download one piece of evidence (audited)",
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download_evidence(
    application_id: uuid.UUID, evidence_id: uuid.UUID, uow: UowDep, principal: Reader, request: Request
) -> StreamingResponse:
    evidence, first = await service.evidence_for_download(uow, principal, application_id, evidence_id)
    return StreamingResponse(
        stream(request.app.state.engine, evidence.sha256, first),
        media_type=evidence.content_type,
        headers={
            **attachment(evidence.filename),
            "Content-Length": str(evidence.size_bytes),
            "Cache-Control": "private, no-store",
        },
    )
