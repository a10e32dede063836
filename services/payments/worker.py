"""Payments worker: relays payments' outbox; keeps the roll from eligibility's decisions."""

from services.payments.config import Settings
from services.payments.models import platform
from services.payments.roll import service
from shared.consumer import Handler, on_data
from shared.events.catalogue import (
    CaseAmountChanged,
    CaseApproved,
    CaseTerminated,
    GradualExitStarted,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(CaseApproved): on_data(service.enroll),
    event_type(CaseAmountChanged): on_data(service.change_amount),
    event_type(GradualExitStarted): on_data(service.end),
    event_type(CaseTerminated): on_data(service.end),
}
CONSUMERS = {"payments.roll": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
