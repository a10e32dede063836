"""Append-only audit records (审计留痕): who, when, what, which household, why.

Written in the same transaction as the change they describe; reads of personal data are audited too."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import insert

from shared.auth import Principal
from shared.context import correlation_id
from shared.db import insert_json_rows, json_rows
from shared.uow import UnitOfWork

#: Who acted: a signed-in user, or a service acting on its own (its name, recorded with the role "system").
Actor = Principal | str


class Fields(TypedDict, total=False):
    """What an audit record says beyond who did what to which resource."""

    household_id: uuid.UUID | None
    region_code: str | None
    reason: str | None
    details: dict[str, Any] | None


_FIELDS = frozenset(Fields.__annotations__)


def _known(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    # `Unpack` types the keywords for a checker only: a misspelt one would otherwise vanish from the record.
    if unknown := fields.keys() - _FIELDS:
        raise TypeError(f"unknown audit fields: {sorted(unknown)}")
    return fields


def _row(
    actor: Actor, action: str, resource_type: str, resource_id: object | None, fields: Mapping[str, Any]
) -> dict[str, Any]:
    sub, roles = (actor.sub, sorted(actor.roles)) if isinstance(actor, Principal) else (actor, ["system"])
    return {
        "actor": sub,
        "roles": roles,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id) if resource_id is not None else None,
        "household_id": fields.get("household_id"),
        "region_code": fields.get("region_code"),
        "reason": fields.get("reason"),
        "correlation_id": correlation_id.get(),
        "details": fields.get("details"),
    }


async def record(
    uow: UnitOfWork, actor: Actor, action: str, resource_type: str, resource_id: object = None, **fields: Unpack[Fields]
) -> None:
    await uow.session.execute(
        insert(uow.tables.audit_log).values(_row(actor, action, resource_type, resource_id, _known(fields)))
    )


class OfHousehold(Protocol):
    """A record that belongs to one household in one region: an application, a case, an alert, a beneficiary …"""

    @property
    def id(self) -> object: ...
    @property
    def household_id(self) -> uuid.UUID: ...
    @property
    def region_code(self) -> str: ...


async def record_on(
    uow: UnitOfWork, actor: Actor, action: str, resource_type: str, resource: OfHousehold, **fields: Unpack[Fields]
) -> None:
    """`record` of an action on `resource`, filed under its household and region."""
    filed = {"household_id": resource.household_id, "region_code": resource.region_code}
    await record(uow, actor, action, resource_type, resource.id, **filed, **fields)


async def record_each(
    uow: UnitOfWork, actor: Actor, action: str, resource_type: str, resources: Iterable[OfHousehold]
) -> None:
    """`record_on` for each of many records, in one statement: what a list read writes for the records it shows."""
    await record_many(
        uow,
        actor,
        action,
        resource_type,
        [{"resource_id": r.id, "household_id": r.household_id, "region_code": r.region_code} for r in resources],
    )


def defer(
    uow: UnitOfWork, actor: Actor, action: str, resource_type: str, resource_id: object = None, **fields: Unpack[Fields]
) -> None:
    """`record`, written at commit with the transaction's other deferred rows and its outbox rows in one statement
    (`UnitOfWork.add_rows`): for a request path that does not read its audit records back. Same transaction, so
    the record exists iff the change does."""
    uow.add_rows(uow.tables.audit_log, [_row(actor, action, resource_type, resource_id, _known(fields))])


async def record_many(
    uow: UnitOfWork, actor: Actor, action: str, resource_type: str, entries: list[dict[str, Any]]
) -> None:
    """One audit row per entry (`resource_id`, `household_id`, `region_code`, `reason`, `details`, and where they
    differ from the call's, `action` and `correlation_id`), in one statement: what a list read or a set-based
    event handler writes for the many records it touched."""
    if not entries:
        return
    rows = []
    for e in entries:
        row = _row(actor, e.get("action", action), resource_type, e.get("resource_id"), e)
        if "correlation_id" in e:
            row["correlation_id"] = e["correlation_id"]
        rows.append(row)
    await uow.session.execute(insert_json_rows(uow.tables.audit_log, tuple(rows[0])), {"rows": json_rows(rows)})
