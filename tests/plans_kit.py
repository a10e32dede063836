"""The plans PostgreSQL makes for the statements a repository call sends: for tests that a look-up reads an index,
not the whole table, whatever the table's size (EXPLAIN of the very statement and parameters, captured)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


async def statement_plans(
    db: AsyncEngine, call: Callable[[AsyncSession], Awaitable[Any]], keep: Callable[[str], bool] = lambda _: True
) -> list[dict]:
    """The plans (EXPLAIN, JSON) of the statements `call(session)` sends that `keep` keeps."""
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.sync_engine, "before_cursor_execute", capture)
    try:
        async with AsyncSession(db) as session:
            await call(session)
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", capture)
    statements = [(s, p) for s, p in seen if keep(s)]
    assert statements
    plans = []
    async with db.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for statement, parameters in statements:
            explained = await raw.fetchval("EXPLAIN (FORMAT JSON) " + statement, *parameters)
            plans.append((json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"])
    return plans


def nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def show(found: list[dict]) -> str:
    keys = ("Node Type", "Relation Name", "Index Name", "Index Cond", "Filter")
    return str([{k: n[k] for k in keys if k in n} for n in found])
