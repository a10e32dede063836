"""Idempotency-Key for POST requests: a retried request gets the first result and creates nothing new.

Front-desk apps work on flaky networks; when a response is lost they send the same request again with the
same `Idempotency-Key` header. The first request that completes stores its status and body under (caller, key)
in the service's own schema, *in the same transaction as its effect*, so the key exists iff the effect does:

* same key, same request, first one committed → the stored response is replayed (`Idempotent-Replayed: true`);
* same key, same request, first one in flight → the retry waits on the row lock of the uncommitted key, then
  replays (or, if the first failed and rolled back, runs itself); it never runs the effect twice;
* same key, different request (body, method or path) → 422 naming the `Idempotency-Key` header;
* a request that fails (4xx/5xx) leaves no key behind, so a corrected retry with the same key runs normally.

A key lives `<PREFIX>IDEMPOTENCY_RETENTION_HOURS` (24 by default: clients retry within minutes); the service's
worker then purges it with its stored response body (`shared.retention`).

This module is the store (the table, the fingerprint, `answer_once`); the header and the JSON response are the
HTTP edge's (`shared.deps.idempotency`, `shared.deps.IdempotencyKey`). A service adds the table to its metadata
(`idempotency_table(Base.metadata)`) and its migration, and its POST endpoints wrap their work:

    Idem = Annotated[IdempotencyKey, Depends(idempotency(idempotency_keys))]

    @router.post("/things", status_code=201, response_model=ThingOut)
    async def create(body: ThingIn, uow: UowDep, principal: Clerk, idem: Idem) -> Response:
        return await idem.run(uow, principal, body, lambda: service.create(uow, principal, body))
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, Update, bindparam, func, select
from sqlalchemy.dialects.postgresql import Insert, insert

from shared import audit
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.uow import UnitOfWork

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


def idempotency_table(metadata: MetaData) -> Table:
    """The key table, created in the service's own schema (one owner per table)."""
    return Table(
        "idempotency_keys",
        metadata,
        # Keys are scoped to the caller: two clerks' apps may well generate the same key.
        Column("principal", String(200), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("method", String(10), nullable=False),
        Column("path", String(500), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        # The exact bytes sent the first time, so a replay is byte-for-byte the same answer.
        Column("response_body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )


def fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 over the method, path and the canonical JSON of the validated request.

    Canonical (sorted keys) so that a retry serialised differently by the client still matches; multipart
    uploads pass a payload that names the file by its content hash, since their raw bytes differ per retry
    (the boundary)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    canonical = orjson.dumps({"method": method, "path": path, "payload": payload}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _render(result: Any) -> bytes:
    if isinstance(result, BaseModel):
        return result.model_dump_json().encode()
    return orjson.dumps(result)


@functools.cache
def _claim(t: Table) -> Insert:
    """Claim a key, or nothing if it is taken: built once per table, as a request's statement built afresh costs
    SQLAlchemy more than running it."""
    return (
        insert(t)
        .values(
            principal=bindparam("idem_principal"),
            key=bindparam("idem_key"),
            method=bindparam("idem_method"),
            path=bindparam("idem_path"),
            fingerprint=bindparam("idem_fingerprint"),
            status_code=0,
            response_body="",
        )
        .on_conflict_do_nothing(index_elements=[t.c.principal, t.c.key])
        .returning(t.c.key)
    )


@functools.cache
def _store_answer(t: Table) -> Update:
    """The key's answer, as one statement per table (built once: a deferred write with its own parameters)."""
    return (
        t.update()
        .where(t.c.principal == bindparam("idem_principal"), t.c.key == bindparam("idem_key"))
        .values(status_code=bindparam("idem_status"), response_body=bindparam("idem_body"))
    )


@dataclass(frozen=True)
class Answer:
    """A POST's answer as JSON bytes: the first one, or (`replayed`) the stored first one."""

    body: bytes
    status_code: int
    replayed: bool = False


async def answer_once(
    uow: UnitOfWork,
    table: Table,
    principal: Principal,
    key: str | None,
    method: str,
    path: str,
    payload: Any,
    work: Callable[[], Awaitable[Any]],
    *,
    status_code: int = 201,
) -> Answer:
    """Run `work` once per (caller, key) and answer its result as JSON, or the stored first result; without a key
    (None), just run it."""
    if key is None:
        return Answer(_render(await work()), status_code)
    digest = fingerprint(method, path, payload)
    # Claim the key first. While another transaction holds an uncommitted row for the same key, this
    # INSERT waits for it: if that one commits we replay below, if it rolls back our INSERT goes through.
    # status_code/response_body are placeholders, overwritten before this transaction commits.
    claimed = await uow.session.scalar(
        _claim(table),
        {
            "idem_principal": principal.sub,
            "idem_key": key,
            "idem_method": method,
            "idem_path": path,
            "idem_fingerprint": digest,
        },
    )
    if claimed is None:
        return await _replay(uow, table, principal, key, method, digest)
    body = _render(await work())
    # Stored at commit, in the same statement as the request's deferred rows and its outbox rows.
    uow.defer(
        _store_answer(table),
        {
            "idem_principal": principal.sub,
            "idem_key": key,
            "idem_status": status_code,
            "idem_body": body.decode(),
        },
    )
    return Answer(body, status_code)


async def _replay(uow: UnitOfWork, t: Table, principal: Principal, key: str, method: str, digest: str) -> Answer:
    row = (
        await uow.session.execute(
            select(t.c.fingerprint, t.c.status_code, t.c.response_body, t.c.path).where(
                t.c.principal == principal.sub, t.c.key == key
            )
        )
    ).one()
    if row.fingerprint != digest:
        raise InvalidInput(HEADER, "this key was already used for a different request; use a new key")
    # The replayed body may carry personal data, so handing it out again is a read like any other.
    await audit.record(
        uow,
        principal,
        "request.replay",
        "idempotency_key",
        key,
        details={"method": method, "path": row.path},
    )
    return Answer(row.response_body.encode(), row.status_code, replayed=True)
