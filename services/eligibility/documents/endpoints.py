"""GET /cases/{id}/documents/{kind}: the case's documents as .docx (GB/T 9704-2012 layout)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.eligibility.deps import Reader
from services.eligibility.documents import service
from services.eligibility.documents.domain import DocumentKind
from shared.app import UowDep
from shared.downloads import DOCX, attachment
from shared.errors import problems

router = APIRouter(prefix="/cases", tags=["documents"])


@router.get(
    "/{case_id}/documents/{kind}",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}, "description": "the document as .docx"}, **problems(409)},
    summary="A case's document: 审核确认表, 不予批准通知书, 停保通知书 or 调整保障金通知书 (.docx)",
    description=(
        "`approval-form` (审核确认表: household, assessment and 计算依据, every step with who and when, signatures) "
        "once the county decided; `rejection-notice` (不予批准通知书, with the written reasons) for a rejected case; "
        "`termination-notice` (停保通知书) for a stopped one; `adjustment-notice` (调整保障金通知书) for the latest "
        "change of the monthly amount. Laid out per GB/T 9704-2012 (A4, 小标宋 title, 仿宋 body), issued by the "
        "county's 民政局. A case without that decision answers 409."
    ),
)
async def case_document(case_id: uuid.UUID, kind: DocumentKind, uow: UowDep, principal: Reader) -> Response:
    body = await service.document(uow, principal, case_id, kind)
    return Response(body, media_type=DOCX, headers=attachment(f"{kind.value}-{case_id}.docx"))
