"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications; turns monitoring's
"brought into assistance" verifications into application drafts."""

from services.intake.applications.service import on_case_event
from services.intake.config import Settings
from services.intake.drafts.service import on_alert_verified
from services.intake.models import platform
from shared.consumer import Handler, on_data
from shared.events.catalogue import (
    AlertVerified,
    CaseApproved,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(t): on_data(on_case_event) for t in (CaseOpened, CaseStatusChanged, CaseApproved, CaseRejected)
}
CONSUMERS = {
    "intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    # A township brought a household into assistance: a draft application for the front desk to complete.
    "intake.drafts": ([Topic.MONITORING_ALERTS.value], {event_type(AlertVerified): on_data(on_alert_verified)}),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
