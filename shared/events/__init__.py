"""CloudEvents 1.0 envelope and the platform's event catalogue."""

from shared.events.catalogue import CATALOGUE, EventSpec, Topic, spec_for
from shared.events.envelope import CloudEvent, DomainEvent

__all__ = ["CATALOGUE", "CloudEvent", "DomainEvent", "EventSpec", "Topic", "spec_for"]
