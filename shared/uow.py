"""Unit of work: one business transaction, committed in one place, carrying its domain events to the outbox.

Request handlers and event handlers alike do their work through a `UnitOfWork`; the events they `emit` are written
to the service's outbox table in the same transaction as the change, so an event exists iff the change does."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import Insert, Table, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.aggregate import Aggregate
from shared.context import current_correlation_id
from shared.db import PlatformTables, insert_json_rows, json_rows
from shared.events.catalogue import EventData, event_type, spec_for
from shared.events.envelope import CloudEvent, DomainEvent, sql_envelope, sql_envelope_params

# Up to this many deferred rows go in one statement. Each table's rows travel as one JSON parameter, so the bound is
# the size of that text, not PostgreSQL's 32,767 parameters: a set-based handler's batch of 500 events (its rows,
# audit and outbox rows: ~1,500) stays one round trip instead of an executemany per table.
_ONE_STATEMENT_ROWS = 20_000


@functools.lru_cache(maxsize=256)
def _combined(shape: tuple[tuple[tuple[Table, tuple[str, ...]], ...], tuple[Insert | Update, ...]]) -> Insert | Update:
    """One statement for a transaction's deferred rows (per table) and writes: the last the main statement, the
    others data-modifying CTEs. Cached per shape, so SQLAlchemy neither rebuilds nor re-keys it per request."""
    tables, writes = shape
    statements: list[Insert | Update] = [
        insert_json_rows(t, columns, f"rows_{i}") for i, (t, columns) in enumerate(tables)
    ]
    main, *others = reversed(statements + list(writes))
    return main.add_cte(*(s.cte(f"w{i}") for i, s in enumerate(others))) if others else main


def outbox_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a service's relay as soon as events are committed (the outbox's
    insert trigger, `shared.db.platform_triggers_sql`, notifies it)."""
    return f"{schema}_outbox"


def _outbox_row(event: DomainEvent, source: str, correlation_id: str | None) -> dict[str, Any]:
    # The payload is the CloudEvent's JSON text, embedded as is in the statement's JSON parameter.
    return {
        "event_id": event.id,
        "topic": str(spec_for(event.type).topic),
        "key": event.key,
        "type": event.type,
        "payload": orjson.Fragment(event.to_json(source, correlation_id)),
    }


def prepared_events(aggregate: Aggregate, source: str, correlation_id: str | None) -> list[dict[str, Any]]:
    """The events `aggregate` raised since they were last collected, as the outbox's rows (`source`: the unit of
    work's; `correlation_id`: the one in force where the job runs). For a bulk job that changes aggregates away
    from the event loop and keeps only their text until it writes them (`UnitOfWork.add_prepared`): a chunk of
    thousands then holds no object graphs for the garbage collector to walk again and again."""
    route = aggregate.routing
    return [
        _outbox_row(
            DomainEvent(
                type=event_type(type(data)), key=str(route.key), data=data, region=route.region, subject=route.subject
            ),
            source,
            correlation_id,
        )
        for data in aggregate.collect_new_events()
    ]


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], tables: PlatformTables, source: str) -> None:
        self._sessions = sessions
        self.tables = tables
        self.source = source
        self.events: list[DomainEvent] = []
        self._rows: dict[Table, list[dict[str, Any]]] = {}
        self._writes: list[tuple[Insert | Update, dict[str, Any]]] = []
        self._conflicts: dict[str, Exception] = {}
        self._tracked: dict[int, tuple[Aggregate, CloudEvent | None, bool]] = {}
        self._prepared: list[dict[str, Any]] = []

    async def __aenter__(self) -> UnitOfWork:
        self.session: AsyncSession = self._sessions()
        self._reset()
        return self

    def _reset(self) -> None:
        self.events, self._rows, self._writes, self._conflicts = [], {}, [], {}
        self._tracked, self._prepared = {}, []

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back: a failed request leaves no trace but its audit.
        await self.session.rollback()
        await self.session.close()

    def emit(
        self,
        data: EventData,
        *,
        key: object,
        region: str | None = None,
        subject: str | None = None,
        cause: CloudEvent | None = None,
    ) -> None:
        """Collect an event for the outbox. `cause`: the event being handled, when a set-based handler applies
        many at once, so each emitted event carries its own cause's correlation id."""
        self.events.append(
            DomainEvent(
                type=event_type(type(data)),
                key=str(key),
                data=data,
                region=region,
                subject=subject,
                correlation_id=cause.correlationid if cause is not None else None,
            )
        )

    def track(self, *aggregates: Aggregate, cause: CloudEvent | None = None, in_runs: bool = False) -> None:
        """Aggregates this transaction loaded or created: the events their steps raise are collected at commit
        (`cause`: the event being handled, whose correlation id they carry). `in_runs`: a bulk step whose
        aggregates all raise their events in one order of types (an import: opened, approved, schedule changed)
        sends them grouped by type, after the others, so a consumer downstream takes each type as one long run;
        each aggregate's own events keep their order."""
        for aggregate in aggregates:
            self._tracked[id(aggregate)] = (aggregate, cause, in_runs)

    def collect_new_events(self) -> None:
        """The events the tracked aggregates raised since the last collection, into the outbox's queue."""
        runs: dict[type[EventData], list[tuple[EventData, Aggregate, CloudEvent | None]]] = {}
        for aggregate, cause, in_runs in self._tracked.values():
            for data in aggregate.collect_new_events():
                if in_runs:
                    runs.setdefault(type(data), []).append((data, aggregate, cause))
                else:
                    self._emit_raised(data, aggregate, cause)
        for run in runs.values():
            for data, aggregate, cause in run:
                self._emit_raised(data, aggregate, cause)

    def _emit_raised(self, data: EventData, aggregate: Aggregate, cause: CloudEvent | None) -> None:
        route = aggregate.routing
        self.emit(data, key=route.key, region=route.region, subject=route.subject, cause=cause)

    def events_from_rows(
        self, data: type[EventData], rows: str, *, key: str, region: str, where: str = "true"
    ) -> tuple[str, dict[str, Any]]:
        """An `INSERT … SELECT` writing one `data` event to the outbox per row of `rows` (a table or CTE whose
        columns are named as `data`'s fields) that meets `where`, with the envelope `DomainEvent.to_json` would
        give it (`shared.events.envelope.sql_envelope`): how a set-based statement raises its million events.
        `key` and `region` are SQL expressions over the row `r`. Returns the statement and its parameters."""
        spec = spec_for(event_type(data))
        outbox = f"{self.tables.outbox.schema}.{self.tables.outbox.name}"
        payload = sql_envelope(data, "r", id="r.event_id", subject=f"({key})::text", region=region)
        # The id drawn in the row's own select list: an uncorrelated lateral may be evaluated once, not per row.
        statement = (
            f"INSERT INTO {outbox} (event_id, topic, key, type, payload)\n"
            f"SELECT r.event_id, '{spec.topic}', ({key})::text, '{spec.type}', {payload}\n"
            f"FROM (SELECT x.*, gen_random_uuid() AS event_id FROM {rows} x) r\nWHERE {where}"
        )
        return statement, sql_envelope_params(spec.type, self.source, current_correlation_id())

    def events_in_runs(
        self, runs: Sequence[tuple[type[EventData], str, str, str]], *, order: str, where: str = "true"
    ) -> tuple[str, dict[str, Any]]:
        """`events_from_rows` for several types in one `INSERT … SELECT`: each run (`data`, `rows`, `key`, `region`)
        writes one `data` event per row of its `rows` meeting `where`; every event of the first run, then every one
        of the second …, each run's rows by `order` (an SQL expression over `r`). The outbox's ids follow that
        order, so the relay sends each type as one run and one aggregate's events in the order of the runs.
        Returns the statement and its parameters (prefix it with a `WITH` its `rows` read)."""
        outbox = f"{self.tables.outbox.schema}.{self.tables.outbox.name}"
        selects, params = [], {}
        for i, (data, rows, key, region) in enumerate(runs):
            spec, tag = spec_for(event_type(data)), f"_{i}"
            payload = sql_envelope(data, "r", id="r.event_id", subject=f"({key})::text", region=region, tag=tag)
            # The id drawn per row, as in `events_from_rows`.
            selects.append(
                f"SELECT {i} AS run, {order} AS place, r.event_id, '{spec.topic}' AS topic, "
                f"({key})::text AS key, '{spec.type}' AS type, {payload} AS payload\n"
                f"FROM (SELECT x.*, gen_random_uuid() AS event_id FROM {rows} x) r\nWHERE {where}"
            )
            params |= sql_envelope_params(spec.type, self.source, current_correlation_id(), tag)
        statement = (
            f"INSERT INTO {outbox} (event_id, topic, key, type, payload)\n"
            "SELECT event_id, topic, key, type, payload FROM (\n"
            + "\nUNION ALL\n".join(selects)
            + "\n) events ORDER BY run, place"
        )
        return statement, params

    def add_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Rows to insert that nothing in this transaction reads back (a new household, its members, audit
        records): sent at commit together with the outbox rows and the other deferred writes, in one statement.
        The rows of one table share their keys."""
        self._rows.setdefault(table, []).extend(rows)

    def defer(self, statement: Insert | Update, params: dict[str, Any] | None = None) -> None:
        """A write nothing in this transaction reads back (e.g. the Idempotency-Key's stored answer), sent at commit
        in the same statement as the deferred rows and the outbox rows. Pass a statement built once with named
        `bindparam`s and its `params`: the combined statement is then built and compiled once per shape."""
        self._writes.append((statement, params or {}))

    def on_conflict(self, constraint: str, error: Exception) -> None:
        """The domain error to raise when a deferred write breaks this unique constraint (a concurrent request
        won the race), instead of the generic conflict."""
        self._conflicts[constraint] = error

    def add_prepared(self, rows: list[dict[str, Any]]) -> None:
        """Outbox rows `prepared_events` built, written with this transaction's other events."""
        self._prepared.extend(rows)

    def _outbox_rows(self) -> list[dict[str, Any]]:
        cid = current_correlation_id()
        return [_outbox_row(event, self.source, event.correlation_id or cid) for event in self.events]

    async def flush_events(self) -> None:
        """Write the collected events to the outbox, with the deferred rows and writes (still inside the
        transaction): one round trip, each write a data-modifying CTE of one statement (PostgreSQL runs them all,
        and checks foreign keys at the statement's end, so a household and its members may go together). The
        aggregates tracked so far are handed over with their events (a bulk job that flushes chunk by chunk keeps
        none of them alive): one changed after this is tracked again."""
        self.collect_new_events()
        self._tracked = {}
        tables = {t: rows for t, rows in self._rows.items() if rows}
        if self.events or self._prepared:
            # The outbox's insert trigger notifies the relay, delivered only if and when this transaction commits.
            tables[self.tables.outbox] = self._outbox_rows() + self._prepared
        writes = self._writes
        self.events, self._rows, self._writes, self._prepared = [], {}, [], []
        try:
            if sum(len(rows) for rows in tables.values()) > _ONE_STATEMENT_ROWS:
                # A bulk handler's tens of thousands of rows: each table's as `INSERT … SELECT` from one JSON
                # parameter per slice (bounding the parameter's size, never a statement per row), the deferred
                # writes (a handful of statements) after them.
                for t, rows in tables.items():
                    statement = insert_json_rows(t, tuple(rows[0]))
                    for at in range(0, len(rows), _ONE_STATEMENT_ROWS):
                        await self.session.execute(statement, {"rows": json_rows(rows[at : at + _ONE_STATEMENT_ROWS])})
                for write, params in writes:
                    await self.session.execute(write, params)
                return
            if not tables and not writes:
                return
            shape = (tuple((t, tuple(rows[0])) for t, rows in tables.items()), tuple(w for w, _ in writes))
            params = {f"rows_{i}": json_rows(rows) for i, rows in enumerate(tables.values())}
            for _, write_params in writes:
                params.update(write_params)
            await self.session.execute(_combined(shape), params)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
            if constraint in self._conflicts:
                raise self._conflicts[constraint] from exc
            raise

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()

    async def rollback(self) -> None:
        self._reset()
        await self.session.rollback()
