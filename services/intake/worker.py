"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications."""

from services.intake.applications.service import mirror_case_events
from services.intake.config import Settings
from services.intake.models import platform
from shared.consumer import Handlers, on_batch
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

HANDLERS: Handlers = {
    event_type(t): on_batch(mirror_case_events)
    for t in (CaseOpened, CaseStatusChanged, CaseApproved, CaseRejected, CaseWithdrawalRefused, CaseDeadlineChanged)
}
CONSUMERS = {"intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
