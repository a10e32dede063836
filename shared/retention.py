"""Retention (保存期限): what the platform tables keep, and for how long, purged on a schedule by each worker.

- Idempotency keys hold replayed response bodies with personal data: they are kept for their documented
  lifetime (`idempotency_retention_hours`, a day: clients retry within minutes), then forgotten.
- Sent outbox rows and inbox rows are kept longer than the Kafka topics keep their messages
  (`topic_retention_days`), so an event replayed from the oldest offset a topic still has is recognised by its
  consumer's inbox, and a published event can still be traced to the change that made it. Unsent outbox rows are
  never purged: they are the relay's work.

Deletes run in chunks (`purge_batch_size` rows, each chunk its own short transaction), so a large backlog never
holds long locks or one huge transaction; the audit log is never purged (it is append-only by trigger)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import PlatformTables
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

PURGED = Counter("retention_purged_total", "Rows purged after their retention period", ["service", "table"])


def _chunk_delete(table: Table, condition: str, order: str | None) -> str:
    # By ctid, since the inbox's key is composite. Ordered where an index serves the order (outbox id, keys'
    # created_at); the inbox has no time index, and a plain scan stops at the limit (old rows come first).
    ordered = f" ORDER BY {order}" if order else ""
    return (
        f"DELETE FROM {table.fullname} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table.fullname} WHERE {condition}{ordered} LIMIT :limit))"
    )


class Purger:
    """Purges expired idempotency keys, sent outbox rows and inbox rows of one service's schema."""

    def __init__(self, engine: AsyncEngine, tables: PlatformTables, settings: ServiceSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.service = settings.service_name
        self.targets: list[tuple[Table, str, str | None, timedelta]] = [
            (
                tables.outbox,
                "sent_at IS NOT NULL AND sent_at < :cutoff",
                "id",
                timedelta(days=settings.outbox_retention_days),
            ),
            (tables.inbox, "received_at < :cutoff", None, timedelta(days=settings.inbox_retention_days)),
        ]
        keys = tables.idempotency_keys
        if keys is not None:
            self.targets.append(
                (keys, "created_at < :cutoff", "created_at", timedelta(hours=settings.idempotency_retention_hours))
            )

    async def purge_once(self, now: datetime | None = None) -> dict[str, int]:
        """Delete every expired row, chunk by chunk; returns the count per table."""
        now = now or datetime.now(UTC)
        counts: dict[str, int] = {}
        for table, condition, order, keep in self.targets:
            statement, total = text(_chunk_delete(table, condition, order)), 0
            while True:
                async with self.engine.begin() as conn:
                    deleted = (
                        await conn.execute(statement, {"cutoff": now - keep, "limit": self.settings.purge_batch_size})
                    ).rowcount
                total += deleted
                if deleted < self.settings.purge_batch_size:
                    break
            counts[table.name] = total
            if total:
                PURGED.labels(self.service, table.name).inc(total)
                log.info("%s: purged %d %s rows older than %s", self.service, total, table.name, keep)
        return counts

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.purge_once()
            except Exception:
                log.exception("%s: retention purge failed; trying again next round", self.service)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.purge_interval_seconds)
