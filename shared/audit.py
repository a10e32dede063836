"""Append-only audit records (审计留痕): who, when, what, which household, why.

Written in the same transaction as the change they describe; reads of personal data are audited too."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from shared.auth import Principal
from shared.context import correlation_id
from shared.db import insert_json_rows, json_rows
from shared.uow import UnitOfWork


def _row(actor: Principal | str, action: str, resource_type: str, resource_id: object | None,
         household_id: uuid.UUID | None, region_code: str | None, reason: str | None,
         details: dict[str, Any] | None) -> dict[str, Any]:
    sub, roles = (actor.sub, sorted(actor.roles)) if isinstance(actor, Principal) else (actor, ["system"])
    return {"actor": sub, "roles": roles, "action": action, "resource_type": resource_type,
            "resource_id": str(resource_id) if resource_id is not None else None, "household_id": household_id,
            "region_code": region_code, "reason": reason, "correlation_id": correlation_id.get(), "details": details}


async def record(
    uow: UnitOfWork,
    actor: Principal | str,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    household_id: uuid.UUID | None = None,
    region_code: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await uow.session.execute(insert(uow.tables.audit_log).values(
        _row(actor, action, resource_type, resource_id, household_id, region_code, reason, details)))


def defer(
    uow: UnitOfWork,
    actor: Principal | str,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    household_id: uuid.UUID | None = None,
    region_code: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """`record`, written at commit with the transaction's other deferred rows and its outbox rows in one statement
    (`UnitOfWork.add_rows`): for a request path that does not read its audit records back. Same transaction, so
    the record exists iff the change does."""
    uow.add_rows(uow.tables.audit_log,
                 [_row(actor, action, resource_type, resource_id, household_id, region_code, reason, details)])


async def record_many(uow: UnitOfWork, actor: Principal | str, action: str, resource_type: str,
                      entries: list[dict[str, Any]]) -> None:
    """One audit row per entry (`resource_id`, `household_id`, `region_code`, `reason`, `details`, and where they
    differ from the call's, `action` and `correlation_id`), in one statement: what a list read or a set-based
    event handler writes for the many records it touched."""
    if not entries:
        return
    rows = []
    for e in entries:
        row = _row(actor, e.get("action", action), resource_type, e.get("resource_id"), e.get("household_id"),
                   e.get("region_code"), e.get("reason"), e.get("details"))
        if "correlation_id" in e:
            row["correlation_id"] = e["correlation_id"]
        rows.append(row)
    await uow.session.execute(insert_json_rows(uow.tables.audit_log, tuple(rows[0])), {"rows": json_rows(rows)})
