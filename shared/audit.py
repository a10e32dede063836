"""Append-only audit records (审计留痕): who, when, what, which household, why.

One call, `record`, for one record or many: written in the same transaction as the change they describe (sent
at commit with the transaction's other rows and its outbox rows, `UnitOfWork.add_rows`), so a record exists iff
the change does; reads of personal data are audited too."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypedDict, Unpack, runtime_checkable

from shared.auth import Principal
from shared.context import correlation_id
from shared.uow import UnitOfWork

#: Who acted: a signed-in user, or a service acting on its own (its name, recorded with the role "system").
Actor = Principal | str


class Fields(TypedDict, total=False):
    """What an audit record says beyond who did what to which resource."""

    household_id: uuid.UUID | None
    region_code: str | None
    reason: str | None
    details: dict[str, Any] | None


class Entry(Fields, total=False):
    """One of many records of a call: its resource, and where they differ from the call's, its own fields, action
    and correlation id (a set-based event handler's records each carry their event's)."""

    resource_id: object
    action: str
    correlation_id: str | None


_FIELDS = frozenset(Fields.__annotations__)
_ENTRY = frozenset(Entry.__annotations__)


def _known(fields: Mapping[str, Any], known: frozenset[str] = _FIELDS) -> Mapping[str, Any]:
    # `Unpack` types the keywords for a checker only: a misspelt one would otherwise vanish from the record.
    if unknown := fields.keys() - known:
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
        "correlation_id": fields["correlation_id"] if "correlation_id" in fields else correlation_id.get(),
        "details": fields.get("details"),
    }


@runtime_checkable
class OfHousehold(Protocol):
    """A record that belongs to one household in one region: an application, a case, an alert, a beneficiary …"""

    @property
    def id(self) -> object: ...
    @property
    def household_id(self) -> uuid.UUID: ...
    @property
    def region_code(self) -> str: ...


def _entry(about: object) -> Mapping[str, Any]:
    if isinstance(about, Mapping):
        return _known(about, _ENTRY)
    if isinstance(about, OfHousehold):
        return {"resource_id": about.id, "household_id": about.household_id, "region_code": about.region_code}
    return {"resource_id": about}


async def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    resource_type: str,
    about: object = None,
    **fields: Unpack[Fields],
) -> None:
    """Audit `actor`'s `action` on what it is `about`:

    - a resource id (or None): one record, with `fields`;
    - a record of a household (`OfHousehold`: a case, an alert, an application …): one record, filed under its
      household and region;
    - a list of those or of `Entry` dicts: one record each (`fields` the default of every entry), in one
      statement: what a list read or a set-based event handler writes for the many records it touched.

    Nothing in the transaction reads them back: they are sent at commit with its other rows."""
    common = _known(fields)
    many = isinstance(about, Iterable) and not isinstance(about, str | bytes | Mapping | OfHousehold)
    rows = [
        _row(actor, e.get("action", action), resource_type, e.get("resource_id"), {**common, **e})
        for e in map(_entry, about if many else [about])  # type: ignore[arg-type]
    ]
    if rows:
        uow.add_rows(uow.tables.audit_log, rows)
