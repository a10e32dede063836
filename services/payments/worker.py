"""Payments worker: relays payments' outbox; keeps the roll from eligibility's decisions and the payees from intake;
builds requested disbursement batches."""

from services.payments.batches.jobs import batch_builder
from services.payments.config import Settings
from services.payments.county import readmodel as county
from services.payments.models import platform
from services.payments.roll import service
from shared.consumer import Handler
from shared.events.catalogue import (
    CaseAmountChanged,
    CaseApproved,
    CaseTerminated,
    GradualExitStarted,
    PayeeChanged,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(CaseApproved): service.on_approved,
    event_type(CaseAmountChanged): service.change_amount,
    event_type(GradualExitStarted): service.end,
    event_type(CaseTerminated): service.end,
}
PAYEE_HANDLERS: dict[str, Handler] = {event_type(PayeeChanged): service.payee_changed}
CONSUMERS = {
    "payments.roll": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    "payments.payees": ([Topic.INTAKE_APPLICATIONS.value], PAYEE_HANDLERS),
    "payments.county": (county.TOPICS, county.HANDLERS),
}

if __name__ == "__main__":
    settings = Settings()
    main(settings, platform, CONSUMERS, [batch_builder(settings.batch_chunk_size, settings.batch_poll_seconds)])
