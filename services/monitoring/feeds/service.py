"""Partner feeds (数据比对): a file streamed in, validated row by row, good rows COPY'd, bad rows reported,
matched and run through the risk rules in one transaction (a `FeedLoad` job). Idempotent by (partner, region,
SHA-256 of the file): the same bytes loaded for another region are another feed, loading that region's rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy.exc import IntegrityError

from services.monitoring.alerts import service as alerts
from services.monitoring.alerts.repository import AlertRepository, Scope
from services.monitoring.config import Settings
from services.monitoring.feeds.kinds import AGENCY_KINDS, COLUMNS, RowContext, RowError, validate_row
from services.monitoring.feeds.reader import BadFile, FeedReader
from services.monitoring.feeds.repository import FeedRepository
from services.monitoring.feeds.schemas import FeedErrorPage, FeedOut, RowErrorOut
from services.monitoring.models import Feed
from shared import audit
from shared.auth import Principal
from shared.core.period import china_today
from shared.core.regions import NATIONAL_SCOPE, InvalidRegionCode, RegionTable, check_format, is_within
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import FeedProcessed
from shared.jobs import Job
from shared.pagination import ListQuery
from shared.schemas import attributes
from shared.uow import UnitOfWork
from shared.uploads import ErrorSample

log = logging.getLogger(__name__)


def to_out(feed: Feed) -> FeedOut:
    return FeedOut.model_validate({**attributes(feed, FeedOut), "errors_url": f"/feeds/{feed.id}/errors"})


#: The poster recorded for a feed an admin posts: no agency (shared.auth.PARTNER_AGENCIES), so no partner role reads
#: it; admins and the region's officials do.
ADMIN_POSTER = "admin"


def partner_of(principal: Principal, kind: str) -> str:
    """The agency posting, if it may post this kind (403 otherwise)."""
    agency = principal.partner_agency
    if agency is None:
        if principal.has_any("admin"):
            return ADMIN_POSTER
        raise Forbidden("requires a known partner agency's role (partner:<agency>)")
    if kind not in AGENCY_KINDS.get(agency, frozenset()):
        allowed = sorted(AGENCY_KINDS.get(agency, frozenset()))
        raise Forbidden(f"agency {agency} may post only: {', '.join(allowed) or 'no feed kinds'}")
    return agency


def feed_scope(principal: Principal, region: str | None) -> str:
    """The region a feed's rows must lie in: the one asked for, within the poster's own scope."""
    scope = principal.region if region is None else region
    if scope:
        try:
            check_format(scope)
        except InvalidRegionCode as exc:
            raise InvalidInput("region", str(exc)) from exc
    inside = is_within(scope, principal.region) if scope else principal.region == NATIONAL_SCOPE
    if not inside:
        raise Forbidden(f"region {scope or 'national'} is outside your region {principal.region or 'national'}")
    return scope


def _printable(text: str) -> str:
    """A JSON key may carry \\u0000, which PostgreSQL text cannot store; error reports show it as �."""
    return text.replace("\x00", "\ufffd")


class _Load:
    """One file's load: counts, pending rows and errors, flushed in chunks. The error report keeps the first
    `keep_errors` bad rows and counts the rest."""

    def __init__(self, feed_id: uuid.UUID, chunk: int, all_or_nothing: bool, keep_errors: int) -> None:
        self.feed_id, self.chunk, self.all_or_nothing = feed_id, chunk, all_or_nothing
        self.read = self.loaded = 0
        self.good: list[tuple] = []
        self.errors: ErrorSample[tuple] = ErrorSample(keep_errors)
        self.copying: asyncio.Future[None] | None = None  # the COPY in flight while the next chunk is parsed

    @property
    def rejected(self) -> int:
        return self.errors.total

    def reject(self, line: int, field: str, message: str) -> None:
        self.errors.add((self.feed_id, line, _printable(field)[:60], _printable(message)))

    def omitted(self) -> str | None:
        """What the feed's detail says when the report does not hold every bad row."""
        if not self.errors.omitted:
            return None
        return f"{self.rejected} rows rejected; the error report holds the first {self.errors.kept}"


async def ingest(
    uow: UnitOfWork,
    units: Callable[[], UnitOfWork],
    principal: Principal,
    settings: Settings,
    *,
    kind: str,
    fmt: str,
    encoding: str | None,
    mode: str,
    region: str | None,
    stream: AsyncIterator[bytes],
) -> tuple[FeedOut, bool]:
    """Load a feed; returns (result, whether this post created it). A file already posted by the partner for the
    same region answers with its first result and changes nothing. The load is a job of its own (`FeedLoad`, its
    units of work from `units`); the request's unit of work reads the result and records a replay."""
    feed_load = FeedLoad(Job(units), principal, settings, kind=kind, fmt=fmt, mode=mode, region=region)
    return await feed_load.run(uow, FeedReader(stream, kind, fmt, encoding))


class _PostedBefore(Exception):
    """The file was posted before by the same partner for the same region: its first result."""

    def __init__(self, first: FeedOut) -> None:
        self.first = first


class _BadRowsRefused(Exception):
    """all_or_nothing, and a row is bad: nothing is loaded."""


class FeedLoad:
    """One partner file's load, a job owning its transactions: the feed is received (committed, with its audit
    record) before a row is read; the rows are COPY'd, matched and run through the risk rules in one transaction,
    committed at the end; meanwhile progress and the error report are committed as they come, in steps of their
    own, so GET /feeds/{id} shows them while the rows wait for the load's commit."""

    def __init__(
        self, job: Job, principal: Principal, settings: Settings, *, kind: str, fmt: str, mode: str, region: str | None
    ) -> None:
        self.job, self.principal, self.settings = job, principal, settings
        self.partner = partner_of(principal, kind)
        self.scope = feed_scope(principal, region)
        self.feed = Feed(
            id=uuid.uuid4(),
            partner=self.partner,
            kind=kind,
            region_code=self.scope,
            format=fmt,
            mode=mode,
            status="receiving",
            rows_read=0,
            rows_loaded=0,
            rows_rejected=0,
            alerts_raised=0,
            uploaded_by=principal.sub,
            created_at=datetime.now(UTC),
        )
        self.load = _Load(self.feed.id, settings.feed_chunk_rows, mode == "all_or_nothing", settings.feed_max_errors)

    async def run(self, uow: UnitOfWork, reader: FeedReader) -> tuple[FeedOut, bool]:
        await self.job.step(self._receive)
        try:
            await self._settle(reader)
        except _PostedBefore as posted:
            return await self._replay(uow, posted.first)
        except IntegrityError:  # the same file, posted at the same time, took (partner, region, sha256) first
            first = await FeedRepository(uow.session).by_file(self.partner, self.scope, reader.sha256)
            if first is None:
                await self._abandon()
                raise
            return await self._replay(uow, to_out(first))
        except Exception:
            await self._abandon()
            raise
        feed = to_out(await _reloaded(uow, self.feed.id))
        if feed.status == "rejected":
            _refuse(feed)
        return feed, True

    async def _settle(self, reader: FeedReader) -> None:
        """The feed loaded, or rejected whole (all_or_nothing with a bad row); `_PostedBefore` if it was posted
        before."""
        try:
            async with self.job.transaction() as rows:
                await self._load(rows, reader)
        except _BadRowsRefused:
            await self.job.step(lambda side: self._rejected(side, reader.sha256))

    async def _abandon(self) -> None:
        """Whatever failed once the feed was received (the client went away, the database failed): the load was
        rolled back, so the feed says so rather than stay `receiving` for ever (an outcome already set stays)."""
        await self._progress(status="failed", detail="the load did not complete; nothing was stored", rows_loaded=0)

    async def _receive(self, side: UnitOfWork) -> None:
        feed = self.feed
        FeedRepository(side.session).add(feed)
        await audit.record(
            side,
            self.principal,
            "feed.receive",
            "feed",
            feed.id,
            region_code=self.scope,
            details={"kind": feed.kind, "format": feed.format, "mode": feed.mode},
        )

    async def _load(self, uow: UnitOfWork, reader: FeedReader) -> None:
        """The rows COPY'd, matched and run through the risk rules, in `uow`'s one transaction."""
        feed, load, kind = self.feed, self.load, self.feed.kind
        today = china_today()
        rows = FeedRepository(uow.session)
        regions = RegionTable.load(self.settings.region_data_dir)
        context = RowContext(
            regions, self.scope, today, self.settings.pii_hmac_key.encode(), self.settings.crypto_profile
        )
        columns = frozenset(COLUMNS[kind])
        first_id = await rows.next_record_id()
        try:
            async for line, row in reader.rows():
                load.read += 1
                if isinstance(row, str):
                    load.reject(line, "line", row)
                elif feed.format == "jsonl" and not row.keys() <= columns:
                    load.reject(line, sorted(row.keys() - columns)[0], "unknown field")
                else:
                    try:
                        record = validate_row(kind, row, context)
                    except RowError as exc:
                        load.reject(line, exc.field, exc.message)
                    else:
                        if not (load.all_or_nothing and load.rejected):
                            load.good.append((feed.id, record[0], line, *record[1:]))
                if len(load.good) >= load.chunk:
                    await _flush_good(rows, load)
                if load.read % load.chunk == 0:
                    await self._progress()
        except BadFile as exc:
            with contextlib.suppress(Exception):
                await _copied(load)  # rolled back with the load anyway
            message = _printable(exc.message)
            # The rows COPY'd so far go with the load's rollback: the feed says nothing was stored.
            detail = f"{exc.field}: {message}; nothing was stored"
            await self._progress(status="failed", detail=detail, rows_loaded=0)
            raise InvalidInput(exc.field, message, feed_id=str(feed.id)) from None
        except Exception:  # the post is over (run() marks the feed failed): no COPY may outlive the transaction
            if load.copying is not None:
                load.copying.cancel()
            raise
        if load.all_or_nothing and load.rejected:
            load.good.clear()
        await _flush_good(rows, load)
        await _copied(load)
        await self._progress()

        # Under the matching lock, held until this transaction commits: the same file posted at the same time
        # waits here for the first load's commit, then finds it.
        await AlertRepository(uow.session).lock_matching()
        first = await rows.by_file(self.partner, self.scope, reader.sha256)
        if first is not None:
            raise _PostedBefore(to_out(first))
        if load.all_or_nothing and load.rejected:
            raise _BadRowsRefused()

        matching = Scope(feed_id=feed.id, id_range=(first_id, await rows.next_record_id()), kinds=frozenset({kind}))
        raised = await alerts.raise_alerts(uow, today, self.partner, matching)
        await rows.finish(
            feed.id,
            status="loaded",
            sha256=reader.sha256,
            rows_read=load.read,
            rows_loaded=load.loaded,
            rows_rejected=load.rejected,
            alerts_raised=raised,
            detail=load.omitted(),
        )
        uow.emit(_processed(feed, "loaded", load, raised), key=feed.id, region=self.scope or None)
        await audit.record(
            uow,
            self.principal,
            "feed.load",
            "feed",
            feed.id,
            region_code=self.scope,
            details={"kind": kind, "rows_loaded": load.loaded, "rows_rejected": load.rejected, "alerts_raised": raised},
        )

    async def _rejected(self, side: UnitOfWork, sha256: str) -> None:
        load = self.load
        await FeedRepository(side.session).finish(
            self.feed.id,
            status="rejected",
            sha256=sha256,
            rows_loaded=0,
            detail=f"all_or_nothing: {load.rejected} bad row(s), nothing loaded"
            + (f"; the error report holds the first {load.errors.kept}" if load.errors.omitted else ""),
        )
        side.emit(_processed(self.feed, "rejected", load, 0), key=self.feed.id, region=self.scope or None)

    async def _replay(self, uow: UnitOfWork, first: FeedOut) -> tuple[FeedOut, bool]:
        """The file was posted before (same partner, same region): this post's rows are gone with its load; its
        provisional feed goes too, and the answer is the first result."""
        await self.job.step(lambda side: FeedRepository(side.session).forget(self.feed.id))
        if first.mode != self.feed.mode:
            # The same file is the same feed, with the mode it was first posted with: answering the old result
            # would pass it off as this mode's (as roll imports refuse a changed option).
            message = f"this file is feed {first.id}, posted with mode {first.mode}"
            raise Conflict(message, errors=[{"field": "mode", "message": message}], feed_id=str(first.id))
        await audit.record(uow, self.principal, "feed.replay", "feed", first.id, region_code=first.region_code)
        if first.status == "rejected":
            _refuse(first)
        return first, False

    async def _progress(self, **extra: object) -> None:
        """The counts and the error report so far, committed in a step of their own."""
        load = self.load

        async def save(side: UnitOfWork) -> None:
            repo = FeedRepository(side.session)
            if errors := load.errors.take():
                await repo.copy_errors(errors)
            values: dict[str, object] = {
                "rows_read": load.read,
                "rows_loaded": load.loaded,
                "rows_rejected": load.rejected,
                **extra,
            }
            outcome = "status" in extra
            if outcome:
                values["finished_at"] = datetime.now(UTC)
            # An outcome is set once: a feed already failed (a bad file) or finished keeps its own.
            await repo.progress(load.feed_id, only_receiving=outcome, **values)

        await self.job.step(save)


async def _reloaded(uow: UnitOfWork, feed_id: uuid.UUID) -> Feed:
    repo = FeedRepository(uow.session)
    feed = await repo.get(feed_id)
    assert feed is not None
    await uow.session.refresh(feed)
    return feed


def _processed(feed: Feed, status: str, load: _Load, raised: int) -> FeedProcessed:
    return FeedProcessed(
        feed_id=feed.id,
        partner=feed.partner,
        kind=feed.kind,
        region_code=feed.region_code,
        status=status,
        rows_read=load.read,
        rows_loaded=load.loaded if status == "loaded" else 0,  # type: ignore[arg-type]
        rows_rejected=load.rejected,
        alerts_raised=raised,
    )


def _refuse(feed: FeedOut) -> NoReturn:
    """all_or_nothing with bad rows: a 422 pointing at the error report; nothing was loaded."""
    raise InvalidInput(
        "body",
        f"{feed.rows_rejected} bad row(s): nothing loaded (mode=all_or_nothing); see {feed.errors_url}",
        feed_id=str(feed.id),
        errors_url=feed.errors_url,
        rows_rejected=feed.rows_rejected,
    )


async def _flush_good(rows: FeedRepository, load: _Load) -> None:
    """Hand a chunk to COPY and go on parsing: PostgreSQL loads it (on its own core) while Python validates the
    next one. One COPY at a time on the connection."""
    await _copied(load)
    if load.good:
        chunk, load.good = load.good, []
        load.copying = asyncio.ensure_future(rows.copy_records(chunk))
        load.loaded += len(chunk)


async def _copied(load: _Load) -> None:
    if load.copying is not None:
        copying, load.copying = load.copying, None
        await copying


async def _visible(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID) -> Feed:
    """The agency that posted a feed, and county officials, auditors and admins, see it, each only within their
    region. A feed an admin posted is no agency's: no partner role sees it."""
    feed = await FeedRepository(uow.session).get(feed_id)
    if feed is None:
        raise NotFound(f"feed {feed_id} not found")
    agency = principal.partner_agency  # a known agency only, never the admin poster
    own = agency is not None and agency != ADMIN_POSTER and agency == feed.partner
    official = principal.has_any("county_approver", "auditor", "admin")
    if not ((own or official) and principal.covers(feed.region_code)):
        raise NotFound(f"feed {feed_id} not found")
    return feed


async def read(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID) -> FeedOut:
    feed = await _visible(uow, principal, feed_id)
    return to_out(feed)


async def errors(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID, query: ListQuery) -> FeedErrorPage:
    feed = await _visible(uow, principal, feed_id)
    page = await FeedRepository(uow.session).errors(feed.id, query)
    return FeedErrorPage(
        items=[RowErrorOut.model_validate(e, from_attributes=True) for e in page.rows],
        next=page.next,
        total=page.total,
        feed_id=feed.id,
        rejected=feed.rows_rejected,
    )
