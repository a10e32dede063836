"""Intake worker: relays intake's outbox; mirrors eligibility's case events onto applications, payments' outcomes
onto households (last payment status), and turns monitoring's "brought into assistance" verifications into
application drafts."""

from typing import get_args

from services.intake.applications.service import CaseEvent, mirror_case_events
from services.intake.backfills import payee_backfill, villages_backfill
from services.intake.config import Settings
from services.intake.drafts.service import on_alert_verified
from services.intake.last_payment.service import on_payment
from services.intake.models import platform
from services.intake.roll_import.job import roll_importer
from shared.consumer import Handlers, on_batch, on_data
from shared.events.catalogue import AlertVerified, PaymentFailed, PaymentPaid, Topic, event_type
from shared.worker import main

HANDLERS: Handlers = {event_type(t): on_batch(mirror_case_events) for t in get_args(CaseEvent)}
PAYMENT_HANDLERS: Handlers = {event_type(t): on_data(on_payment) for t in (PaymentPaid, PaymentFailed)}
CONSUMERS = {
    "intake.case-status": ([Topic.ELIGIBILITY_DECISIONS.value], HANDLERS),
    "intake.payment-status": ([Topic.PAYMENTS_DISBURSEMENTS.value], PAYMENT_HANDLERS),
    # A township brought a household into assistance: a draft application for the front desk to complete.
    "intake.drafts": ([Topic.MONITORING_ALERTS.value], {event_type(AlertVerified): on_data(on_alert_verified)}),
}

if __name__ == "__main__":
    settings = Settings()
    main(settings, platform, CONSUMERS, [payee_backfill(settings), villages_backfill(), roll_importer(settings)])
