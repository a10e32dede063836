"""Payments worker: relays payments' outbox; keeps the roll from eligibility's decisions and the payees from intake;
builds requested disbursement batches; keeps the names of the villages counties load."""

from services.payments.batches.jobs import batch_builder
from services.payments.config import Settings
from services.payments.county import readmodel as county
from services.payments.models import platform, village_names
from services.payments.roll import service
from shared.consumer import Handlers, on_batch, on_data
from shared.events.catalogue import (
    CaseAmountChanged,
    CaseApproved,
    CaseScheduleChanged,
    CaseTerminated,
    GradualExitStarted,
    PayeeChanged,
    Topic,
    VillagesLoaded,
    event_type,
)
from shared.places import record_villages
from shared.worker import main

# Set-based: each run of decisions (or payee changes) is applied with a few statements, whatever its length.
HANDLERS: Handlers = {
    event_type(CaseApproved): on_batch(service.apply_decisions),
    event_type(CaseAmountChanged): on_batch(service.apply_decisions),
    event_type(GradualExitStarted): on_batch(service.apply_decisions),
    event_type(CaseTerminated): on_batch(service.apply_decisions),
    event_type(CaseScheduleChanged): on_batch(service.schedules_changed),
}
# From intake: the payees' bank accounts, and the names of a county's villages for the 花名册 and the county view.
PAYEE_HANDLERS: Handlers = {
    event_type(PayeeChanged): on_batch(service.payees_changed),
    event_type(VillagesLoaded): on_data(record_villages(village_names)),
}
CONSUMERS = {
    "payments.roll": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    "payments.payees": ([Topic.INTAKE_APPLICATIONS.value], PAYEE_HANDLERS),
    "payments.county": (county.TOPICS, county.HANDLERS),
}

if __name__ == "__main__":
    settings = Settings()
    main(settings, platform, CONSUMERS, [batch_builder(settings.batch_chunk_size, settings.batch_poll_seconds)])
