"""A case's documents (审核确认表, 不予批准通知书, 停保通知书, 调整保障金通知书): load the case and its recorded
steps within the reader's region, check the document exists for it, render it, audit the read."""

from __future__ import annotations

import uuid

from anyio import to_thread

from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.service import get_visible
from services.eligibility.documents import render
from services.eligibility.documents.domain import DocumentKind, RecordedStep, check_available
from services.eligibility.models import village_names
from shared import audit
from shared.auth import Principal
from shared.places import PlaceNames
from shared.uow import UnitOfWork


async def document(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, kind: DocumentKind) -> bytes:
    """The .docx of `kind` for the case: 404 outside the reader's region, 409 when the case has no such
    decision. The household's names and the assessment are personal data: the read is audited."""
    case = await get_visible(uow, principal, case_id)
    steps = [
        RecordedStep(s.step, s.to_status, s.actor, s.on, s.opinion, s.data or {})
        for s in await CaseRepository(uow.session).steps(case.id)
    ]
    check_available(kind, case, steps)
    village = await PlaceNames.name_of(uow, village_names, case.region_code)
    await audit.record(uow, principal, "case.document", "case", case, details={"kind": kind.value})
    # Building a .docx is tens of milliseconds of pure Python: off the event loop, which serves other requests.
    return await to_thread.run_sync(render.render, kind, case, steps, village)
