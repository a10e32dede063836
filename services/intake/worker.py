"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications."""

from services.intake.applications.service import on_case_event
from services.intake.config import Settings
from services.intake.models import platform
from shared.consumer import Handler, on_data
from shared.events.catalogue import (
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    CaseWithdrawalRefused,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(t): on_data(on_case_event)
    for t in (CaseOpened, CaseStatusChanged, CaseApproved, CaseRejected, CaseWithdrawalRefused, CaseDeadlineChanged)
}
CONSUMERS = {"intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
