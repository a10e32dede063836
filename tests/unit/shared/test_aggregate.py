"""shared.aggregate with the unit of work: the events an aggregate's steps raise reach the outbox queue once, routed
by the aggregate, carrying their cause's correlation id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.aggregate import Aggregate, Routing
from shared.events.catalogue import AlertClosed, EventData
from shared.events.envelope import CloudEvent
from shared.uow import UnitOfWork


@dataclass
class Thing(Aggregate):
    household_id: uuid.UUID
    events: list[EventData] = field(default_factory=list)

    @property
    def routing(self) -> Routing:
        return Routing(key=self.household_id, region="610626101201", subject="thing")

    def close(self) -> None:
        self.events.append(
            AlertClosed(
                alert_id=uuid.uuid4(),
                household_id=self.household_id,
                region_code="610626101201",
                alert_type="recipient_death",
                outcome="death_reported",
                closed_on=date(2026, 12, 1),
            )
        )


def test_tracked_aggregates_hand_their_new_events_over_once_with_their_routing_and_cause():
    uow = UnitOfWork(None, None, "/tests")  # type: ignore[arg-type]
    one, two = Thing(uuid.uuid4()), Thing(uuid.uuid4())
    cause = CloudEvent(id=uuid.uuid4(), source="/x", type="t", time=datetime.now(UTC), correlationid="c-1", data={})
    uow.track(one)
    uow.track(two, cause=cause)
    uow.track(one)  # tracked twice, collected once
    one.close()
    two.close()
    two.close()
    uow.collect_new_events()
    assert [(e.key, e.region, e.subject, e.correlation_id) for e in uow.events] == [
        (str(one.household_id), "610626101201", "thing", None),
        (str(two.household_id), "610626101201", "thing", "c-1"),
        (str(two.household_id), "610626101201", "thing", "c-1"),
    ]
    uow.collect_new_events()
    assert len(uow.events) == 3 and one.events == [] and two.events == []
