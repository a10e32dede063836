"""Monitoring worker: relays monitoring's outbox (alerts, deaths, feeds); keeps its read model of households
and the villages' names from intake's events, of who receives what from eligibility's decisions, and the 低保
standards eligibility's admins decide (the risk rules compare incomes with the standard in force)."""

from services.monitoring.config import Settings
from services.monitoring.models import platform, village_names
from services.monitoring.readmodel import service
from services.monitoring.risk.in_force import record_standard
from shared.consumer import BatchHandler, Handler, on_batch, on_data
from shared.events.catalogue import (
    CaseApproved,
    CaseTerminated,
    HouseholdRegistered,
    HouseholdUpdated,
    StandardChanged,
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
    # A group of its own, new with it: it reads the decisions topic from its start (what the topic retains), so
    # the standards decided before this consumer existed are laid over the tree too.
    "monitoring.standards": (
        [Topic.ELIGIBILITY_DECISIONS.value],
        {event_type(StandardChanged): on_data(record_standard)},
    ),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
