"""Eligibility worker: relays eligibility's outbox; opens a case for each submitted application."""

from services.eligibility.cases.service import open_case
from services.eligibility.config import Settings
from services.eligibility.models import platform
from shared.consumer import Handler
from shared.events.catalogue import ApplicationSubmitted, Topic, event_type
from shared.worker import main


async def _submitted(uow, _event, data) -> None:  # noqa: ANN001 - the consumer's Handler signature
    await open_case(uow, data)


HANDLERS: dict[str, Handler] = {event_type(ApplicationSubmitted): _submitted}
CONSUMERS = {"eligibility.cases": ([Topic.INTAKE_APPLICATIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
