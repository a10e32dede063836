"""Every feed query of monitoring: the provisional feed row and its progress, COPY of good rows and of the
error report, the first result of a file already posted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.feeds.kinds import RECORD_COLUMNS
from services.monitoring.models import SCHEMA, Feed, FeedError
from shared.pagination import Keyset, ListQuery, Rows, keyset_page

# The error report's order (shared/pagination.py): by line, served by ix_feed_errors_feed_id_line_id (migration 0007).
ERRORS = Keyset("feed-errors", (FeedError.line, FeedError.id))


async def _raw(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside its transaction (for COPY). The driver begins the
    transaction lazily on the first statement, so one is run first: a COPY on its own would commit at once."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return (await connection.get_raw_connection()).driver_connection


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, feed: Feed) -> None:
        self.session.add(feed)

    async def get(self, feed_id: uuid.UUID) -> Feed | None:
        return await self.session.get(Feed, feed_id)

    async def by_file(self, partner: str, region_code: str, sha256: str) -> Feed | None:
        """The feed this partner loaded this file for this region, if any (uq_feeds_partner_region_code_sha256)."""
        return await self.session.scalar(
            select(Feed).where(Feed.partner == partner, Feed.region_code == region_code, Feed.sha256 == sha256)
        )

    async def progress(self, feed_id: uuid.UUID, *, only_receiving: bool = False, **values: Any) -> None:
        condition = [Feed.id == feed_id, *([Feed.status == "receiving"] if only_receiving else [])]
        await self.session.execute(update(Feed).where(*condition).values(**values))

    async def finish(self, feed_id: uuid.UUID, **values: Any) -> None:
        await self.progress(feed_id, finished_at=datetime.now(UTC), **values)

    async def forget(self, feed_id: uuid.UUID) -> None:
        await self.session.execute(delete(Feed).where(Feed.id == feed_id))

    async def next_record_id(self) -> int:
        """A value of the rows' id sequence: taken before and after a feed's COPY, it bounds the feed's rows."""
        return int(
            await self.session.scalar(text("SELECT nextval(pg_get_serial_sequence('monitoring.feed_records', 'id'))"))
        )

    async def copy_records(self, records: Sequence[tuple]) -> None:
        await (await _raw(self.session)).copy_records_to_table(
            "feed_records", schema_name=SCHEMA, columns=list(RECORD_COLUMNS), records=records
        )

    async def copy_errors(self, errors: Sequence[tuple]) -> None:
        await (await _raw(self.session)).copy_records_to_table(
            "feed_errors", schema_name=SCHEMA, columns=["feed_id", "line", "field", "message"], records=errors
        )

    async def errors(self, feed_id: uuid.UUID, q: ListQuery) -> Rows[FeedError]:
        return await keyset_page(self.session, select(FeedError).where(FeedError.feed_id == feed_id), ERRORS, q)
