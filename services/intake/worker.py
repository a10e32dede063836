"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications and payments' outcomes
onto households (last payment status)."""

from services.intake.applications.service import mirror_case_events
from services.intake.config import Settings
from services.intake.last_payment.service import on_payment
from services.intake.models import platform
from shared.consumer import Handlers, on_batch, on_data
from shared.events.catalogue import (
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    CaseWithdrawalRefused,
    PaymentFailed,
    PaymentPaid,
    Topic,
    event_type,
)
from shared.worker import main

HANDLERS: Handlers = {
    event_type(t): on_batch(mirror_case_events)
    for t in (CaseOpened, CaseStatusChanged, CaseApproved, CaseRejected, CaseWithdrawalRefused, CaseDeadlineChanged)
}
PAYMENT_HANDLERS: Handlers = {event_type(t): on_data(on_payment) for t in (PaymentPaid, PaymentFailed)}
CONSUMERS = {
    "intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    "intake.payment-status": ([Topic.PAYMENTS_DISBURSEMENTS.value], PAYMENT_HANDLERS),
}

if __name__ == "__main__":
    main(Settings(), platform, CONSUMERS)
