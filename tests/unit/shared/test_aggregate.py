"""shared.aggregate with the unit of work: the events an aggregate's steps raise reach the outbox queue once, routed
by the aggregate, carrying their cause's correlation id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson

from shared.aggregate import Aggregate, Routing
from shared.context import current_correlation_id
from shared.events.catalogue import AlertClosed, EventData
from shared.events.envelope import CloudEvent
from shared.uow import UnitOfWork, prepared_events


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


def test_prepared_events_are_the_rows_the_unit_of_work_writes_for_a_tracked_aggregate():
    """A bulk job's `prepared_events` (built off the event loop, kept as text) are the outbox rows the unit of
    work writes for the same events of a tracked aggregate: same topic, key, type and CloudEvent but its own id and
    time; the aggregate's events are handed over once."""
    household = uuid.uuid4()
    tracked, prepared = Thing(household), Thing(household)
    uow = UnitOfWork(None, None, "/tests")  # type: ignore[arg-type]
    uow.track(tracked)
    tracked.close()
    prepared.events = list(tracked.events)
    uow.collect_new_events()
    written = uow._outbox_rows()
    rows = prepared_events(prepared, "/tests", current_correlation_id())
    assert prepared.events == [] and prepared_events(prepared, "/tests", None) == []

    def comparable(row: dict) -> tuple:
        payload = orjson.loads(orjson.dumps(row["payload"]))
        return row["topic"], row["key"], row["type"], {k: v for k, v in payload.items() if k not in ("id", "time")}

    assert [comparable(r) for r in rows] == [comparable(r) for r in written]
    assert orjson.loads(orjson.dumps(rows[0]["payload"]))["id"] == str(rows[0]["event_id"])
    assert comparable(rows[0])[3]["subject"] == "thing" and comparable(rows[0])[3]["region"] == "610626101201"
