"""Eligibility worker: relays eligibility's outbox; opens, amends and withdraws cases from intake's events."""

from services.eligibility.cases import service
from services.eligibility.config import Settings
from services.eligibility.models import platform
from shared.consumer import Handler
from shared.events.catalogue import (
    ApplicationAmended,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    HouseholdRegistered,
    HouseholdUpdated,
    Topic,
    event_type,
)
from shared.worker import main


def _on(apply) -> Handler:
    async def handler(uow, _event, data) -> None:
        await apply(uow, data)

    return handler


HANDLERS: dict[str, Handler] = {
    event_type(ApplicationSubmitted): _on(service.open_case),
    event_type(ApplicationAmended): _on(service.amend_case),
    event_type(ApplicationWithdrawn): _on(service.withdraw_case),
    event_type(HouseholdRegistered): _on(service.record_household),
    event_type(HouseholdUpdated): _on(service.record_household),
}
CONSUMERS = {"eligibility.cases": ([Topic.INTAKE_APPLICATIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
