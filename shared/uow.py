"""Unit of work: one business transaction, committed in one place, carrying its domain events to the outbox.

Request handlers and event handlers alike do their work through a `UnitOfWork`; the events they `emit` are written
to the service's outbox table in the same transaction as the change, so an event exists iff the change does."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.context import current_correlation_id
from shared.db import PlatformTables
from shared.events.catalogue import EventData, event_type, spec_for
from shared.events.envelope import CloudEvent, DomainEvent


def outbox_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a service's relay as soon as events are committed (the outbox's
    insert trigger, `shared.db.platform_triggers_sql`, notifies it)."""
    return f"{schema}_outbox"


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: PlatformTables, source: str) -> None:
        self._sessions = sessions
        self.tables = tables
        self.source = source
        self.events: list[DomainEvent] = []

    async def __aenter__(self) -> UnitOfWork:
        self.session: AsyncSession = self._sessions()
        self.events = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back: a failed request leaves no trace but its audit.
        await self.session.rollback()
        await self.session.close()

    def emit(self, data: EventData, *, key: object, region: str | None = None, subject: str | None = None,
             cause: CloudEvent | None = None) -> None:
        """Collect an event for the outbox. `cause`: the event being handled, when a set-based handler applies
        many at once, so each emitted event carries its own cause's correlation id."""
        self.events.append(DomainEvent(type=event_type(type(data)), key=str(key), data=data, region=region,
                                       subject=subject,
                                       correlation_id=cause.correlationid if cause is not None else None))

    async def flush_events(self) -> None:
        """Write the collected events to the outbox (still inside the transaction)."""
        if not self.events:
            return
        cid = current_correlation_id()
        rows = []
        for event in self.events:
            cloudevent = event.to_cloudevent(self.source, event.correlation_id or cid)
            rows.append({
                "event_id": event.id,
                "topic": str(spec_for(event.type).topic),
                "key": event.key,
                "type": event.type,
                "payload": cloudevent.model_dump(mode="json", exclude_none=True),
            })
        # The outbox's insert trigger notifies the relay, delivered only if and when this transaction commits.
        await self.session.execute(insert(self.tables.outbox), rows)
        self.events = []

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()

    async def rollback(self) -> None:
        self.events = []
        await self.session.rollback()
