"""Eligibility worker: relays eligibility's outbox; opens, amends and withdraws cases from intake's events; stops
or reviews cases on monitoring's findings."""

from services.eligibility.cases import service
from services.eligibility.config import Settings
from services.eligibility.models import platform
from shared.consumer import Handler, on_data
from shared.events.catalogue import (
    AlertVerified,
    ApplicationAmended,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    DeathReported,
    HouseholdRegistered,
    HouseholdUpdated,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(ApplicationSubmitted): on_data(service.open_case),
    event_type(ApplicationAmended): on_data(service.amend_case),
    event_type(ApplicationWithdrawn): on_data(service.withdraw_case),
    event_type(HouseholdRegistered): on_data(service.record_household),
    event_type(HouseholdUpdated): on_data(service.record_household),
}
# From monitoring: a recipient's death stops the case; a township's finding of a changed situation asks for a review.
MONITORING: dict[str, Handler] = {
    event_type(DeathReported): on_data(service.on_death_reported),
    event_type(AlertVerified): on_data(service.on_alert_verified),
}
CONSUMERS = {
    "eligibility.cases": ([Topic.INTAKE_APPLICATIONS.value], HANDLERS),
    "eligibility.monitoring": ([Topic.MONITORING_ALERTS.value], MONITORING),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
