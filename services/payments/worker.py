"""Payments worker: relays payments' outbox; enrolls approved cases on the roll."""

from services.payments.config import Settings
from services.payments.models import platform
from services.payments.roll.service import enroll
from shared.consumer import Handler
from shared.events.catalogue import CaseApproved, Topic, event_type
from shared.worker import main


async def _approved(uow, _event, data) -> None:  # noqa: ANN001 - the consumer's Handler signature
    await enroll(uow, data)


HANDLERS: dict[str, Handler] = {event_type(CaseApproved): _approved}
CONSUMERS = {"payments.roll": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS)}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
