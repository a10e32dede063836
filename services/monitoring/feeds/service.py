"""Partner feeds (数据比对): a file streamed in, validated row by row, good rows COPY'd, bad rows reported,
matched and run through the risk rules in one transaction. Idempotent by (partner, SHA-256) of the file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import NoReturn

from sqlalchemy.exc import IntegrityError

from services.monitoring.alerts import service as alerts
from services.monitoring.alerts.repository import Scope
from services.monitoring.config import Settings
from services.monitoring.feeds.kinds import AGENCY_KINDS, COLUMNS, RowContext, RowError, validate_row
from services.monitoring.feeds.reader import BadFile, FeedReader
from services.monitoring.feeds.repository import FeedRepository
from services.monitoring.feeds.schemas import FeedErrorPage, FeedOut, RowErrorOut
from services.monitoring.models import Feed
from shared import audit
from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.events.catalogue import FeedProcessed
from shared.regions import NATIONAL_SCOPE, InvalidRegionCode, RegionTable, check_format, is_within
from shared.schemas import attributes
from shared.uow import UnitOfWork
from shared.uploads import ErrorSample

log = logging.getLogger(__name__)


def to_out(feed: Feed) -> FeedOut:
    return FeedOut.model_validate({**attributes(feed, FeedOut), "errors_url": f"/feeds/{feed.id}/errors"})


def partner_of(principal: Principal, kind: str) -> str:
    """The agency posting, if it may post this kind (403 otherwise)."""
    agency = principal.partner_agency
    if agency is None:
        if principal.has_any("admin"):
            return "admin"
        raise Forbidden("requires a partner agency role (partner:<agency>)")
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
    side_units: Callable[[], UnitOfWork],
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
    """Load a feed; returns (result, whether this post created it). A file already posted by the partner answers
    with its first result and changes nothing."""
    partner = partner_of(principal, kind)
    scope = feed_scope(principal, region)
    today = date.today()
    feed = Feed(
        id=uuid.uuid4(),
        partner=partner,
        kind=kind,
        region_code=scope,
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
    # Progress and the error report are committed as they come, on a second connection, so GET /feeds/{id} shows
    # them while the rows themselves wait for the one commit at the end.
    async with side_units() as side:
        FeedRepository(side.session).add(feed)
        await audit.record(
            side,
            principal,
            "feed.receive",
            "feed",
            feed.id,
            region_code=scope,
            details={"kind": kind, "format": fmt, "mode": mode},
        )
        await side.commit()
    load = _Load(feed.id, settings.feed_chunk_rows, mode == "all_or_nothing", settings.feed_max_errors)
    rows = FeedRepository(uow.session)
    regions = RegionTable.load(settings.region_data_dir)
    context = RowContext(regions, scope, today, settings.pii_hmac_key.encode(), settings.crypto_profile)
    reader = FeedReader(stream, kind, fmt, encoding)
    columns = frozenset(COLUMNS[kind])
    first_id = await rows.next_record_id()
    try:
        async for line, row in reader.rows():
            load.read += 1
            if isinstance(row, str):
                load.reject(line, "line", row)
            elif fmt == "jsonl" and not row.keys() <= columns:
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
                await _flush_progress(side_units, load)
    except BadFile as exc:
        with contextlib.suppress(Exception):
            await _copied(load)  # rolled back with the request anyway
        message = _printable(exc.message)
        # The rows COPY'd so far go with the request's rollback: the feed says nothing was stored.
        detail = f"{exc.field}: {message}; nothing was stored"
        await _flush_progress(side_units, load, status="failed", detail=detail, rows_loaded=0)
        raise InvalidInput(exc.field, message, feed_id=str(feed.id)) from None
    except Exception:  # the client went away, the database failed: the post is over, say so
        if load.copying is not None:
            load.copying.cancel()
        detail = "the upload did not complete; nothing was stored"
        await _flush_progress(side_units, load, status="failed", detail=detail, rows_loaded=0)
        raise
    if load.all_or_nothing and load.rejected:
        load.good.clear()
    await _flush_good(rows, load)
    await _copied(load)
    await _flush_progress(side_units, load)

    first = await rows.by_file(partner, reader.sha256)
    if first is not None:
        return await _replay(uow, side_units, principal, feed.id, first)
    if load.all_or_nothing and load.rejected:
        await uow.rollback()
        try:
            async with side_units() as side:
                await FeedRepository(side.session).finish(
                    feed.id,
                    status="rejected",
                    sha256=reader.sha256,
                    rows_loaded=0,
                    detail=f"all_or_nothing: {load.rejected} bad row(s), nothing loaded"
                    + (f"; the error report holds the first {load.errors.kept}" if load.errors.omitted else ""),
                )
                side.emit(_processed(feed, "rejected", load, 0), key=feed.id, region=scope or None)
                await side.commit()
        except IntegrityError:  # the same file, posted at the same time, got there first
            first = await FeedRepository(uow.session).by_file(partner, reader.sha256)
            if first is None:
                raise
            return await _replay(uow, side_units, principal, feed.id, first)
        _refuse(to_out(await _reloaded(uow, feed.id)))

    matching = Scope(feed_id=feed.id, id_range=(first_id, await rows.next_record_id()), kinds=frozenset({kind}))
    raised = await alerts.raise_alerts(uow, today, partner, matching)
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
    uow.emit(_processed(feed, "loaded", load, raised), key=feed.id, region=scope or None)
    await audit.record(
        uow,
        principal,
        "feed.load",
        "feed",
        feed.id,
        region_code=scope,
        details={"kind": kind, "rows_loaded": load.loaded, "rows_rejected": load.rejected, "alerts_raised": raised},
    )
    return to_out(await _reloaded(uow, feed.id)), True


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


async def _replay(
    uow: UnitOfWork, side_units: Callable[[], UnitOfWork], principal: Principal, provisional: uuid.UUID, first: Feed
) -> tuple[FeedOut, bool]:
    """The file was posted before: drop this post's rows and provisional feed, answer the first result."""
    out = to_out(first)
    await uow.rollback()
    async with side_units() as side:
        await FeedRepository(side.session).forget(provisional)
        await side.commit()
    await audit.record(uow, principal, "feed.replay", "feed", out.id, region_code=out.region_code)
    if out.status == "rejected":
        _refuse(out)
    return out, False


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


async def _flush_progress(side_units: Callable[[], UnitOfWork], load: _Load, **extra: object) -> None:
    async with side_units() as side:
        repo = FeedRepository(side.session)
        if errors := load.errors.take():
            await repo.copy_errors(errors)
        values: dict[str, object] = {
            "rows_read": load.read,
            "rows_loaded": load.loaded,
            "rows_rejected": load.rejected,
            **extra,
        }
        if "status" in extra:
            values["finished_at"] = datetime.now(UTC)
        await repo.progress(load.feed_id, **values)
        await side.commit()


async def _visible(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID) -> Feed:
    """The agency that posted a feed, and county officials and auditors, see it, each only within their region."""
    feed = await FeedRepository(uow.session).get(feed_id)
    if feed is None:
        raise NotFound(f"feed {feed_id} not found")
    own = principal.partner_agency == feed.partner
    official = principal.has_any("county_approver", "auditor", "admin")
    if not ((own or official) and principal.covers(feed.region_code)):
        raise NotFound(f"feed {feed_id} not found")
    return feed


async def read(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID) -> FeedOut:
    feed = await _visible(uow, principal, feed_id)
    return to_out(feed)


async def errors(uow: UnitOfWork, principal: Principal, feed_id: uuid.UUID, limit: int, offset: int) -> FeedErrorPage:
    feed = await _visible(uow, principal, feed_id)
    repo = FeedRepository(uow.session)
    items = await repo.errors(feed.id, limit, offset)
    return FeedErrorPage(
        feed_id=feed.id,
        items=[RowErrorOut(line=e.line, field=e.field, message=e.message) for e in items],
        total=feed.rows_rejected,
        stored=await repo.error_count(feed.id),
        limit=limit,
        offset=offset,
    )
