"""Aggregates (聚合): the plain domain objects a use case loads, changes through their own steps and saves — a case,
a disbursement batch, an alert. A step records the domain events it raises; the unit of work that tracks the
aggregate collects them at commit and carries them to the outbox, so no service hands events over by hand.

Domain errors are the exceptions of `shared.errors` (plain exceptions that name their HTTP status; the web layer
maps them to problem+json in one place), so an aggregate never translates or is translated."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.catalogue import EventData


@dataclass(frozen=True)
class Routing:
    """Where an aggregate's events go: the Kafka key that keeps them in order, their region, their subject."""

    key: object
    region: str | None
    subject: str | None = None


class Aggregate:
    """An aggregate root: `events` holds what its steps raised since the unit of work last collected them."""

    events: list[EventData]

    def collect_new_events(self) -> list[EventData]:
        """The events raised since the last call, handed over once."""
        events, self.events = self.events, []
        return events

    @property
    def routing(self) -> Routing:
        raise NotImplementedError
