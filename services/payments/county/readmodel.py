"""The county's small read model of other services' facts (办件 and 预警), kept from their events so the county
statistics join them with payments' own batches without reading eligibility's or monitoring's tables.

Each handler is one upsert keyed by the case or alert: a replayed event changes nothing, and events of one case
arriving in any order still leave the same row (the inbox already makes each event count once)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.payments.county.repository import ReadModelRepository
from shared.consumer import Handler
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

CHINA = ZoneInfo("Asia/Shanghai")
# Approval and rejection carry their own events (with the decision time); a withdrawal shows only as a status.
WITHDRAWN = "withdrawn"


def local_day(moment: datetime) -> date:
    """The calendar day in China: an event at 23:30 UTC on the 31st belongs to the next month's figures."""
    return moment.astimezone(CHINA).date()


async def case_opened(uow: UnitOfWork, event: CloudEvent, data: CaseOpened) -> None:
    """受理: the day the front desk received the application; an event published before it carried that day gives
    the day it was emitted (China time)."""
    await ReadModelRepository(uow.session).upsert_case(data, received_on=data.received_on or local_day(event.time))


async def case_status_changed(uow: UnitOfWork, event: CloudEvent, data: CaseStatusChanged) -> None:
    withdrawn = data.status == WITHDRAWN
    await ReadModelRepository(uow.session).upsert_case(
        data, decision=WITHDRAWN if withdrawn else None, decided_on=local_day(event.time) if withdrawn else None
    )


async def case_deadline_changed(uow: UnitOfWork, _event: CloudEvent, data: CaseDeadlineChanged) -> None:
    await ReadModelRepository(uow.session).set_case_due(data.case_id, data.region_code, data.due_date)


async def case_decided(uow: UnitOfWork, _event: CloudEvent, data: CaseApproved | CaseRejected) -> None:
    decision = "approved" if isinstance(data, CaseApproved) else "rejected"
    await ReadModelRepository(uow.session).upsert_case(
        data, status=decision, decision=decision, decided_on=local_day(data.decided_at)
    )


async def alert_raised(uow: UnitOfWork, event: CloudEvent, data: AlertRaised) -> None:
    await ReadModelRepository(uow.session).upsert_alert(data, raised_on=local_day(event.time))


async def alert_changed(uow: UnitOfWork, _event: CloudEvent, data: AlertVerified | AlertClosed) -> None:
    """Verified (its date, outcome and programme) or closed (its date and outcome)."""
    await ReadModelRepository(uow.session).upsert_alert(data)


# The `payments.county` consumer: its own group, so the roll's consumer and this one move independently.
HANDLERS: dict[str, Handler] = {
    event_type(CaseOpened): case_opened,
    event_type(CaseStatusChanged): case_status_changed,
    event_type(CaseDeadlineChanged): case_deadline_changed,
    event_type(CaseApproved): case_decided,
    event_type(CaseRejected): case_decided,
    event_type(AlertRaised): alert_raised,
    event_type(AlertVerified): alert_changed,
    event_type(AlertClosed): alert_changed,
}
TOPICS = [Topic.ELIGIBILITY_DECISIONS.value, Topic.MONITORING_ALERTS.value]
