"""The one list convention of every service (列表约定): keyset pages, the same shape, the same filters' names.

A list is walked with an opaque `cursor` and a `limit` (default 50, at most 500): the first page has no cursor,
every page answers `{items, next, total}`, and the next page is asked for with `cursor=<next>` until `next` is
null. The order is stable (each list sorts on its own key, ending in a unique column, usually the id), and a page
is the rows after the cursor's key in that order, read from an index on that key: page 10,000 costs what page 1
costs, and a row inserted or changed meanwhile neither doubles nor hides the rows already walked.

The cursor is the base64url of the last row's sort key with the list's name, signed (HMAC-SHA256 under a key
derived from the service's secret, `pii_hmac_key`, which the settings refuse at its development default outside
development) and bound to the walk it pages: a digest of the endpoint, the filters (every query parameter but
`cursor` and `limit`, and the `X-Id-Number` header) and the caller (region and roles), the request's `Walk`, bound
by the kit when it reads the bearer token (`shared/deps.py`). A cursor of another list, one edited, cut short or
written without the secret, and one of another walk (another endpoint, other filters, a caller of another region or
roles) is a 422 naming `cursor`. So a cursor can neither carry one caller's count into another's walk nor be forged.

`total` is the number of rows the filters select when it is at most `TOTAL_CAP` (counted on a bounded read, so it
costs at most that many rows), and null beyond: a province's list says "more than 10,000", walk the pages. It is
counted for the first page and carried in the (signed, walk-bound) cursors after it: every page of one walk shows
the same total, the count when the walk began.

`region` narrows a list to a part of the caller's own scope, a township (9 digits) or village (12) usually: a GB/T
2260 code of 2, 4, 6, 9 or 12 ASCII digits (`REGION_PATTERN`, the code pattern of `shared.core.regions`); anything
else is a 422 naming it (a code of another length names no region: read as a prefix, 6106261 would list townships
610626101 to 610626109 as one). A region outside the scope selects nothing (an empty page, as for any record of
another region).

An ID number is never a query parameter (URLs end up in access logs): the lists that search by person take it in
the `X-Id-Number` header and match it by its keyed fingerprint (`shared.core.identity.id_fingerprint`); the header
is `shared.deps.IdNumberHeader`."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Row, Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.core.regions import CODE_PATTERN
from shared.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
TOTAL_CAP = 10_000
_TAG = 16  # bytes of the HMAC-SHA256 tag that opens a cursor
_WALK = 12  # bytes of the walk's digest after it
_KEY_LABEL = b"shared.pagination cursor v2"
#: What every list's `region` takes: a GB/T 2260 code, 2, 4, 6, 9 or 12 ASCII digits.
REGION_PATTERN = CODE_PATTERN


class ListQuery(BaseModel):
    """Where a page starts and how long it is; a list's own query model adds its filters."""

    cursor: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="`next` of the previous page; none for the first page",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")


class RegionListQuery(ListQuery):
    """A list in the caller's region, optionally narrowed to a township or village of it."""

    region: str | None = Field(
        default=None,
        pattern=REGION_PATTERN,
        description="a township (9 digits) or village (12) of your region; any GB/T 2260 code (2, 4, 6, 9 or 12 "
        "digits) within it",
    )


class Page(BaseModel, Generic[T]):
    """One page of a list. A service's page names its item type (`class CasePage(Page[CaseOut])`), so its OpenAPI
    schema keeps its own name."""

    items: list[T]
    next: str | None = Field(description="the cursor of the next page; null on the last page")
    total: int | None = Field(
        description=f"how many rows the filters select, when at most {TOTAL_CAP:,}; null when more"
    )


def narrowed(scope: str, region: str | None) -> str | None:
    """The region prefix a list reads: the caller's scope, or the narrower `region` inside it; None when `region`
    lies outside the scope (the list is empty)."""
    if not region:
        return scope
    if region.startswith(scope):
        return region
    if scope.startswith(region):
        return scope
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _typed(kind: type, value: Any) -> Any:
    """The JSON value as the column's type, or ValueError/TypeError."""
    if value is None:
        return None
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed
    if kind is date:
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


@functools.lru_cache(maxsize=8)
def cursor_key(secret: str) -> bytes:
    """The key that signs cursors, derived from the service's secret (its own purpose: the secret's other uses never
    see it)."""
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class Walk:
    """What a request's cursors are signed with (`key`) and bound to (`digest`: the endpoint, its filters and the
    caller). Built once a request by the kit (`shared.deps.current_principal`) into `walking`."""

    key: bytes
    digest: bytes

    @classmethod
    def of(cls, secret: str, endpoint: str, filters: Iterable[tuple[str, str]], caller: Sequence[str]) -> Walk:
        """The walk of `endpoint` (its path) with `filters` (name, value; any order) by `caller` (region, roles)."""
        key = cursor_key(secret)
        what = json.dumps([endpoint, sorted(filters), list(caller)], ensure_ascii=False, separators=(",", ":"))
        return cls(key, hmac.new(key, b"walk:" + what.encode(), hashlib.sha256).digest()[:_WALK])


#: Outside a request (a job, a test reading a repository), cursors are signed with a key of this process alone: they
#: page only there, never in a request.
_UNBOUND = Walk(os.urandom(32), bytes(_WALK))
#: The walk of the request being answered: the kit binds it when it reads the bearer token, the request context
#: middleware (`shared/app.py`) sets it back when the request ends.
walking: ContextVar[Walk] = ContextVar("walking", default=_UNBOUND)


def _tag(walk: Walk, payload: bytes) -> bytes:
    return hmac.new(walk.key, walk.digest + payload, hashlib.sha256).digest()[:_TAG]


def _signed(walk: Walk, payload: bytes) -> str:
    return base64.urlsafe_b64encode(_tag(walk, payload) + walk.digest + payload).rstrip(b"=").decode()


@dataclass(frozen=True)
class Keyset:
    """A list's sort: its name (a cursor carries it, so another list's is refused), its key columns, the last of
    them unique, and its direction (one for all columns: the page condition is one row comparison,
    `(a, b, id) > (:a, :b, :id)`, which a b-tree on `(a, b, id)` answers as a range)."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = False

    def order_by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def after(self, key: Sequence[Any]) -> Any:
        row, values = (
            tuple_(*self.columns),
            tuple_(*(literal(v, c.type) for c, v in zip(self.columns, key, strict=True))),
        )
        return row < values if self.descending else row > values

    def key_of(self, row: Any) -> tuple[Any, ...]:
        """The sort key of a page's last row: an entity, or a result row whose first column is the entity."""
        entity = row[0] if isinstance(row, Row) else row
        return tuple(getattr(entity, c.key) for c in self.columns)

    def encode(self, key: Sequence[Any], total: int | None = None, *, walk: Walk | None = None) -> str:
        """The cursor of the page after the row with this sort key in `walk` (the request's); it carries the first
        page's total along."""
        payload = json.dumps([self.name, total, *map(_plain, key)], separators=(",", ":")).encode()
        return _signed(walk or walking.get(), payload)

    def decode(self, cursor: str, *, walk: Walk | None = None) -> tuple[tuple[Any, ...], int | None]:
        """The sort key a cursor of this list and of `walk` (the request's) stands for, and the total it carries;
        InvalidInput on `cursor` for anything else."""
        walk = walk or walking.get()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidInput("cursor", "not a cursor of this list: use `next` of the previous page") from None
        tag, digest, payload = raw[:_TAG], raw[_TAG : _TAG + _WALK], raw[_TAG + _WALK :]
        try:
            name, total, *values = json.loads(payload)
        except (ValueError, TypeError):
            raise InvalidInput("cursor", "not a cursor of this list: use `next` of the previous page") from None
        # The list's name is told before the signature is checked (a cursor of another list says so, whoever wrote
        # it); nothing read from a cursor is used before it is.
        if name != self.name:
            raise InvalidInput("cursor", f"a cursor of another list ({name}), not of {self.name}")
        if not hmac.compare_digest(tag, _tag(Walk(walk.key, digest), payload)):
            raise InvalidInput("cursor", "the cursor was altered or cut short: use `next` of the previous page")
        if not hmac.compare_digest(digest, walk.digest):
            raise InvalidInput(
                "cursor",
                "a cursor of another walk (another endpoint, other filters, or a caller of another region or roles): "
                "page with the `next` of this request's previous page, or start without a cursor",
            )
        if len(values) != len(self.columns):
            raise InvalidInput("cursor", "not a cursor of this list")
        try:
            key = tuple(_typed(c.type.python_type, v) for c, v in zip(self.columns, values, strict=True))
        except (ValueError, TypeError):
            raise InvalidInput("cursor", "not a cursor of this list") from None
        if key[-1] is None or not (total is None or (type(total) is int and 0 <= total <= TOTAL_CAP)):
            raise InvalidInput("cursor", "not a cursor of this list")
        return key, total


@dataclass(frozen=True)
class Rows(Generic[T]):
    """A page of rows as a repository read it: the rows, the next page's cursor, the bounded total."""

    rows: list[T]
    next: str | None
    total: int | None


async def keyset_page(
    session: AsyncSession, query: Select[Any], keyset: Keyset, page: ListQuery, *, scalars: bool = True
) -> Rows[Any]:
    """`query` (its filters, no order) one page at a time in `keyset`'s order, from `page.cursor` on.

    The page is `limit + 1` rows after the cursor's key (the extra one only tells that there is a next page). The
    first page also counts the rows, bounded; its total rides in the cursors after it, so a later page is one
    statement."""
    paged, total = query, None
    if page.cursor is not None:
        key, total = keyset.decode(page.cursor)
        paged = paged.where(keyset.after(key))
    else:
        bounded = query.with_only_columns(literal(1), maintain_column_froms=True).limit(TOTAL_CAP + 1)
        counted = int(await session.scalar(select(func.count()).select_from(bounded.subquery())) or 0)
        total = counted if counted <= TOTAL_CAP else None
    paged = paged.order_by(*keyset.order_by()).limit(page.limit + 1)
    result = await (session.scalars(paged) if scalars else session.execute(paged))
    rows = list(result.all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Rows(rows=rows, next=keyset.encode(keyset.key_of(rows[-1]), total) if more else None, total=total)
