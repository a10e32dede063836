from __future__ import annotations

from fastapi import APIRouter

from services.eligibility.assessments import service
from services.eligibility.assessments.schemas import AssessmentRequest, AssessmentResponse
from services.eligibility.deps import Assessor
from shared.app import UowDep

router = APIRouter(prefix="/assessments", tags=["assessments"])


@router.post(
    "",
    summary="Price up to 1000 households by today's rules (测算); changes nothing",
    description="Each item: a household snapshot, a programme, a date (and the programme's facts, and for a "
    "person-level programme the member priced). Answers, in order and echoing each `ref`, whether the rules find "
    "it eligible, the monthly amount in fen and the persons it covers, or why not. Every village must be within the "
    "caller's region (403 naming the item otherwise). The roll import (存量对象导入) flags with it the rows whose "
    "amount as paid today differs.",
)
async def assess(body: AssessmentRequest, uow: UowDep, principal: Assessor) -> AssessmentResponse:
    return await service.assess_many(uow, principal, body)
