"""Every query of the standard-rise recompute: cases on the roll read in chunks, changes written set-based."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.eligibility.cases.workflow import Status
from services.eligibility.models import CaseStep
from shared.context import correlation_id
from shared.db import PlatformTables


@dataclass(frozen=True)
class RollRow:
    """A case on the roll as the recompute reads it (snapshot and details still JSON text)."""

    id: uuid.UUID
    household_id: uuid.UUID
    programme: str
    region_code: str
    monthly_amount_fen: int
    effective_month: date | None
    details: str
    snapshot: str


# Only approved cases are recomputed: a case in 渐退 keeps the amount it had until its last month, and one-off
# help has no monthly amount. The trace probe picks the cases whose rule read the changed key (计算依据). The ids
# are found in one scan; chunks are then read by primary key, so the run stays linear however many there are.
_AFFECTED = text("""
    SELECT id FROM eligibility.cases
    WHERE status = :status AND monthly_amount_fen IS NOT NULL
      AND region_code LIKE :prefix AND assessment -> 'trace' @> CAST(:probe AS jsonb)
    ORDER BY id
""")
_CHUNK = text("""
    SELECT id, household_id, programme, region_code, monthly_amount_fen, effective_month,
           details::text AS details, snapshot::text AS snapshot
    FROM eligibility.cases
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status = :status AND monthly_amount_fen IS NOT NULL
    ORDER BY id
""")

# One statement per chunk. The old amount in the join is an optimistic check: a case changed meanwhile (a review
# committed since the chunk was read) is left alone, and only the rows returned get an event.
_APPLY = text("""
    UPDATE eligibility.cases AS c
    SET monthly_amount_fen = v.new_fen, assessment = CAST(v.assessment AS jsonb), updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:old AS bigint[]), CAST(:new AS bigint[]), CAST(:assessments AS text[]))
         AS v(id, old_fen, new_fen, assessment)
    WHERE c.id = v.id AND c.monthly_amount_fen = v.old_fen AND c.status = :status
    RETURNING c.id
""")


class RecomputeRepository:
    def __init__(self, session: AsyncSession, tables: PlatformTables) -> None:
        self.session = session
        self.tables = tables

    async def affected(self, prefix: str, key: str) -> list[uuid.UUID]:
        """Ids of the approved cases under `prefix` whose stored assessment read `key`."""
        return list(
            (
                await self.session.execute(
                    _AFFECTED,
                    {
                        "status": Status.APPROVED.value,
                        "prefix": prefix + "%",
                        "probe": orjson.dumps([{"key": key}]).decode(),
                    },
                )
            ).scalars()
        )

    async def roll_chunk(self, ids: Sequence[uuid.UUID]) -> list[RollRow]:
        rows = await self.session.execute(_CHUNK, {"ids": list(ids), "status": Status.APPROVED.value})
        return [RollRow(*row) for row in rows]

    async def apply(self, changes: Sequence[tuple[uuid.UUID, int, int, str]]) -> set[uuid.UUID]:
        """(case id, old amount, new amount, assessment JSON) → the ids actually updated."""
        if not changes:
            return set()
        ids, old, new, assessments = (list(column) for column in zip(*changes, strict=True))
        result = await self.session.execute(
            _APPLY, {"ids": ids, "old": old, "new": new, "assessments": assessments, "status": Status.APPROVED.value}
        )
        return set(result.scalars())

    async def record(self, steps: list[dict[str, Any]], audits: list[dict[str, Any]]) -> None:
        """The case steps and audit rows of a chunk, each as one multi-row insert."""
        if steps:
            await self.session.execute(insert(CaseStep.__table__), steps)  # Core: no ORM bookkeeping per row
        if audits:
            cid = correlation_id.get()
            await self.session.execute(insert(self.tables.audit_log), [{**a, "correlation_id": cid} for a in audits])
