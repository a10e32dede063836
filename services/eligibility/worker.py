"""Eligibility worker: relays eligibility's outbox; opens, amends and withdraws cases from intake's events and brings
in the imported roll's (存量对象导入); queues the recompute of the amounts a changed policy value affects (提标) and
runs it chunk by chunk; stops or reviews cases on monitoring's findings; keeps the names of the villages counties
load."""

from services.eligibility.cases import service
from services.eligibility.config import Settings
from services.eligibility.models import platform, village_names
from services.eligibility.recompute.jobs import recompute_runner
from services.eligibility.recompute.service import on_standard_changed
from shared.consumer import Handlers, on_batch, on_data
from shared.events.catalogue import (
    AlertVerified,
    ApplicationAmended,
    ApplicationImported,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    DeathReported,
    HouseholdRegistered,
    HouseholdUpdated,
    StandardChanged,
    Topic,
    VillagesLoaded,
    event_type,
)
from shared.places import record_villages
from shared.worker import main

HANDLERS: Handlers = {
    event_type(ApplicationSubmitted): on_batch(service.open_cases),
    # 存量对象导入: cases approved as the old system paid them, a run at once.
    event_type(ApplicationImported): on_batch(service.import_cases),
    event_type(ApplicationAmended): service.amend_case,
    event_type(ApplicationWithdrawn): on_data(service.withdraw_case),
    event_type(HouseholdRegistered): on_batch(service.record_households),
    event_type(HouseholdUpdated): on_batch(service.record_households),
    # The names of a county's villages, for the documents and notices eligibility prints.
    event_type(VillagesLoaded): on_data(record_villages(village_names)),
}
STANDARD_HANDLERS: Handlers = {event_type(StandardChanged): on_data(on_standard_changed)}
# From monitoring: a recipient's death stops the case; a township's finding of a changed situation asks for a review.
MONITORING: Handlers = {
    event_type(DeathReported): on_data(service.on_death_reported),
    event_type(AlertVerified): on_data(service.on_alert_verified),
}
CONSUMERS = {
    "eligibility.cases": ([Topic.INTAKE_APPLICATIONS.value], HANDLERS),
    "eligibility.standards": ([Topic.ELIGIBILITY_DECISIONS.value], STANDARD_HANDLERS),
    "eligibility.monitoring": ([Topic.MONITORING_ALERTS.value], MONITORING),
}

if __name__ == "__main__":
    settings = Settings()
    runner = recompute_runner(settings.recompute_chunk_size, settings.recompute_poll_seconds)
    main(settings, platform, CONSUMERS, [runner])
