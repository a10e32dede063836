"""The county's small read model of other services' facts (办件 and 预警), kept from their events so the county
statistics join them with payments' own batches without reading eligibility's or monitoring's tables.

Each handler is one upsert keyed by the case or alert (a run of case events at once: `upsert_cases`): a replayed
event changes nothing, and events of one case arriving in any order still leave the same row (the inbox already
makes each event count once)."""

from __future__ import annotations

from collections.abc import Sequence

from services.payments.county.repository import ReadModelRepository
from shared.consumer import Delivery, Handlers, on_batch
from shared.core.period import china_day
from shared.events.catalogue import (
    AlertClosed,
    AlertRaised,
    AlertVerified,
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    Topic,
    event_type,
)
from shared.events.envelope import CloudEvent
from shared.uow import UnitOfWork

# Approval and rejection carry their own events (with the decision time); a withdrawal shows only as a status.
WITHDRAWN = "withdrawn"


async def cases_opened(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """受理: the day the front desk received the application; an event published before it carried that day gives
    the day it was emitted (China time). A run of them in one statement."""
    await ReadModelRepository(uow.session).upsert_cases(
        [(d.data, {"received_on": d.data.received_on or china_day(d.event.time)}) for d in deliveries]
    )


async def cases_status_changed(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    rows = []
    for d in deliveries:
        withdrawn = d.data.status == WITHDRAWN
        decided_on = china_day(d.event.time) if withdrawn else None
        rows.append((d.data, {"decision": WITHDRAWN if withdrawn else None, "decided_on": decided_on}))
    await ReadModelRepository(uow.session).upsert_cases(rows)


async def case_deadline_changed(uow: UnitOfWork, _event: CloudEvent, data: CaseDeadlineChanged) -> None:
    await ReadModelRepository(uow.session).set_case_due(data.case_id, data.region_code, data.due_date)


async def cases_decided(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    rows = []
    for d in deliveries:
        decision = "approved" if isinstance(d.data, CaseApproved) else "rejected"
        # Counted on the day decided (the step's date), not the day it was keyed in.
        decided_on = d.data.decided_on or china_day(d.data.decided_at)
        rows.append((d.data, {"status": decision, "decision": decision, "decided_on": decided_on}))
    await ReadModelRepository(uow.session).upsert_cases(rows)


async def alert_raised(uow: UnitOfWork, event: CloudEvent, data: AlertRaised) -> None:
    await ReadModelRepository(uow.session).upsert_alert(data, raised_on=china_day(event.time))


async def alert_changed(uow: UnitOfWork, _event: CloudEvent, data: AlertVerified | AlertClosed) -> None:
    """Verified (its date, outcome and programme) or closed (its date and outcome). A death closed by the partner's
    record has no township step: verified the day it was closed, as monitoring's own monthly report counts it."""
    known = (
        {"verified_on": data.closed_on} if isinstance(data, AlertClosed) and data.outcome == "death_reported" else {}
    )
    await ReadModelRepository(uow.session).upsert_alert(data, **known)


# The `payments.county` consumer: its own group, so the roll's consumer and this one move independently.
HANDLERS: Handlers = {
    event_type(CaseOpened): on_batch(cases_opened),
    event_type(CaseStatusChanged): on_batch(cases_status_changed),
    event_type(CaseDeadlineChanged): case_deadline_changed,
    event_type(CaseApproved): on_batch(cases_decided),
    event_type(CaseRejected): on_batch(cases_decided),
    event_type(AlertRaised): alert_raised,
    event_type(AlertVerified): alert_changed,
    event_type(AlertClosed): alert_changed,
}
TOPICS = [Topic.ELIGIBILITY_DECISIONS.value, Topic.MONITORING_ALERTS.value]
