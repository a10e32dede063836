"""Monitoring worker: relays monitoring's outbox (alerts, deaths, feeds); keeps its read model of households
and the villages' names from intake's events and of who receives what from eligibility's decisions."""

from services.monitoring.config import Settings
from services.monitoring.models import platform, village_names
from services.monitoring.readmodel import service
from shared.consumer import BatchHandler, Handler, on_batch, on_data
from shared.events.catalogue import (
    CaseApproved,
    CaseTerminated,
    HouseholdRegistered,
    HouseholdUpdated,
    Topic,
    VillagesLoaded,
    event_type,
)
from shared.places import record_villages
from shared.worker import main

CONSUMERS: dict[str, tuple[list[str], dict[str, Handler | BatchHandler]]] = {
    "monitoring.households": (
        [Topic.INTAKE_APPLICATIONS.value],
        {
            event_type(HouseholdRegistered): on_batch(service.record_households),
            event_type(HouseholdUpdated): on_batch(service.record_households),
            event_type(VillagesLoaded): on_data(record_villages(village_names)),
        },
    ),
    "monitoring.coverage": (
        [Topic.ELIGIBILITY_DECISIONS.value],
        {
            event_type(CaseApproved): on_batch(service.record_approvals),
            event_type(CaseTerminated): on_data(service.record_termination),
        },
    ),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
