"""Opening cases from applications and deciding them."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from services.eligibility.cases.repository import CaseRepository
from services.eligibility.cases.schemas import CaseOut, DecisionIn
from services.eligibility.models import Case
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events.catalogue import ApplicationSubmitted, CaseApproved, CaseOpened, CaseRejected
from shared.period import Period
from shared.uow import UnitOfWork
from shared.workdays import add_workdays

OVERALL_WORKDAYS = 30  # 民发〔2021〕57号: whole case within 30 working days of acceptance
DECIDABLE = ("investigation",)


log = logging.getLogger(__name__)


async def open_case(uow: UnitOfWork, data: ApplicationSubmitted) -> Case:
    """A case per application; a second event for the same application changes nothing."""
    repo = CaseRepository(uow.session)
    if existing := await repo.by_application(data.application_id):
        return existing
    case = Case(
        id=uuid.uuid4(), application_id=data.application_id, household_id=data.household_id,
        programme=data.programme, region_code=data.region_code, status="investigation",
        opened_on=data.submitted_on, due_date=add_workdays(data.submitted_on, OVERALL_WORKDAYS),
        separate_register=data.separate_register, snapshot=data.snapshot.model_dump(mode="json"),
    )
    repo.add(case)
    log.info("case %s opened for application %s (%s)", case.id, case.application_id, case.programme)
    uow.emit(CaseOpened(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                        programme=data.programme, region_code=case.region_code, status=case.status,
                        due_date=case.due_date),
             key=case.household_id, region=case.region_code)
    await audit.record(uow, "eligibility", "case.open", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code)
    return case


async def get_visible(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, *, for_update: bool = False
                      ) -> Case:
    case = await CaseRepository(uow.session).get(case_id, for_update=for_update)
    if case is None or not principal.covers(case.region_code):
        raise NotFound(f"case {case_id} not found")
    return case


async def decide(uow: UnitOfWork, principal: Principal, case_id: uuid.UUID, body: DecisionIn) -> Case:
    case = await get_visible(uow, principal, case_id, for_update=True)
    if case.status not in DECIDABLE:
        raise Conflict(f"case is {case.status}; it cannot be decided now", allowed_next=[])
    now = datetime.now(UTC)
    case.decided_at = now
    if body.decision == "approve":
        effective = Period.of(now.date()).next()  # payment starts the month after approval
        case.status, case.monthly_amount_fen, case.effective_month = "approved", body.monthly_amount_fen, \
            effective.first_day
        member_ids = [uuid.UUID(m["member_id"]) for m in case.snapshot["members"] if m.get("counted", True)]
        uow.emit(CaseApproved(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                              programme=case.programme, region_code=case.region_code,  # type: ignore[arg-type]
                              member_ids=member_ids, monthly_amount_fen=body.monthly_amount_fen,
                              effective_month=effective, decided_at=now),
                 key=case.household_id, region=case.region_code)
    else:
        case.status, case.reasons = "rejected", body.reasons
        uow.emit(CaseRejected(case_id=case.id, application_id=case.application_id, household_id=case.household_id,
                              programme=case.programme, region_code=case.region_code,  # type: ignore[arg-type]
                              reasons=body.reasons, decided_at=now),
                 key=case.household_id, region=case.region_code)
    await audit.record(uow, principal, f"case.{case.status}", "case", case.id, household_id=case.household_id,
                       region_code=case.region_code, reason=body.opinion)
    return case


def to_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id, application_id=case.application_id, household_id=case.household_id, programme=case.programme,
        region_code=case.region_code, status=case.status, opened_on=case.opened_on, due_date=case.due_date,
        monthly_amount_fen=case.monthly_amount_fen,
        effective_month=str(Period.of(case.effective_month)) if case.effective_month else None,
        reasons=case.reasons, decided_at=case.decided_at,
    )
