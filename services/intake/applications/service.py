"""Accepting applications, and keeping their status in step with eligibility's case events."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.exc import IntegrityError

from services.intake.applications.repository import ApplicationRepository
from services.intake.applications.schemas import ApplicationIn
from services.intake.households import service as households
from services.intake.models import Application
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.catalogue import ApplicationSubmitted, CaseApproved, CaseOpened, CaseRejected, CaseStatusChanged
from shared.uow import UnitOfWork

# Programmes whose eligibility depends on a means check need the signed consent (家庭经济状况核对授权书).
MEANS_TESTED = frozenset({"dibao", "tekun", "marginal", "rigid_expense"})


async def submit(uow: UnitOfWork, principal: Principal, body: ApplicationIn) -> Application:
    household = await households.get_visible(uow, principal, body.household_id)
    households.ensure_writable(principal, household.region_code)
    if body.programme in MEANS_TESTED and not body.consent_signed:
        raise InvalidInput("consent_signed", f"{body.programme} needs the signed consent to the economic check")
    if body.separate_register and not body.separate_register_name:
        raise InvalidInput("separate_register_name", "name the staff member or cadre the applicant is related to")
    snapshot = await households.snapshot_of(uow, household)
    if body.applicant_member_id and body.applicant_member_id not in {m.member_id for m in snapshot.members}:
        raise InvalidInput("applicant_member_id", "not a member of this household")
    repo = ApplicationRepository(uow.session)
    if await repo.open_for(household.id, body.programme):
        raise Conflict(f"household already has an open {body.programme} application")
    application = Application(
        id=uuid.uuid4(), household_id=household.id, region_code=household.region_code, programme=body.programme,
        status="submitted", submitted_on=date.today(), consent_signed=body.consent_signed,
        separate_register=body.separate_register,
        details={"separate_register_name": body.separate_register_name} if body.separate_register else {},
    )
    repo.add(application)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent submission won the race for the open slot
        raise Conflict(f"household already has an open {body.programme} application") from exc
    uow.emit(
        ApplicationSubmitted(
            application_id=application.id, household_id=household.id, programme=body.programme,
            region_code=household.region_code, submitted_on=application.submitted_on,
            applicant_member_id=body.applicant_member_id, consent_signed=body.consent_signed,
            separate_register=body.separate_register, details={}, snapshot=snapshot,
        ),
        key=household.id, region=household.region_code,
    )
    await audit.record(uow, principal, "application.submit", "application", application.id,
                       household_id=household.id, region_code=household.region_code)
    return application


async def read(uow: UnitOfWork, principal: Principal, application_id: uuid.UUID) -> Application:
    application = await ApplicationRepository(uow.session).get(application_id)
    if application is None or not principal.covers(application.region_code):
        raise NotFound(f"application {application_id} not found")
    await audit.record(uow, principal, "application.read", "application", application.id,
                       household_id=application.household_id, region_code=application.region_code)
    return application


async def on_case_event(uow: UnitOfWork, data: CaseOpened | CaseStatusChanged | CaseApproved | CaseRejected) -> None:
    """Mirror eligibility's view of the case on the application, for the front desk."""
    application = await ApplicationRepository(uow.session).get(data.application_id, for_update=True)
    if application is None:
        raise LookupError(f"case event for unknown application {data.application_id}")
    application.case_id = data.case_id
    match data:
        case CaseOpened() | CaseStatusChanged():
            application.case_status = data.status
            application.next_deadline = data.due_date
            application.status = "in_review"
        case CaseApproved():
            application.case_status = "approved"
            application.status = "approved"
            application.next_deadline = None
            application.decision = data.model_dump(mode="json", include={
                "monthly_amount_fen", "one_off_amount_fen", "effective_month", "decided_at"})
        case CaseRejected():
            application.case_status = "rejected"
            application.status = "rejected"
            application.next_deadline = None
            application.decision = data.model_dump(mode="json", include={"reasons", "decided_at"})
    await audit.record(uow, "eligibility", "application.case_update", "application", application.id,
                       household_id=application.household_id, region_code=application.region_code,
                       details={"case_status": application.case_status})
