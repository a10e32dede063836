"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications and payments' outcomes
onto households (last payment status)."""

from services.intake.applications.service import on_case_event
from services.intake.config import Settings
from services.intake.last_payment.service import on_payment
from services.intake.models import platform
from shared.consumer import Handler, on_data
from shared.events.catalogue import (
    CaseApproved,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    PaymentFailed,
    PaymentPaid,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: dict[str, Handler] = {
    event_type(t): on_data(on_case_event) for t in (CaseOpened, CaseStatusChanged, CaseApproved, CaseRejected)
}
PAYMENT_HANDLERS: dict[str, Handler] = {event_type(t): on_data(on_payment) for t in (PaymentPaid, PaymentFailed)}
CONSUMERS = {
    "intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    "intake.payment-status": ([Topic.PAYMENTS_DISBURSEMENTS.value], PAYMENT_HANDLERS),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
