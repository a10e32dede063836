"""The 提标 recompute's rows: the job (`StandardRecompute`) and its work list (`StandardRecomputeCase`), every query
the job and its endpoints make."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import delete, or_, select, text, tuple_, update

from services.eligibility.cases.repository import PRICED_WITH_FILTER, priced_with_params
from services.eligibility.models import StandardRecompute, StandardRecomputeCase
from shared.pagination import Keyset, ListQuery, Rows, keyset_page

RECOMPUTES = Keyset("recomputes", (StandardRecompute.requested_at, StandardRecompute.id), descending=True)


_RECOMPUTES = uuid.UUID("5b0c1d2e-7f3a-4e51-9a6b-0c8d2e4f6a10")


def recompute_id(region: str, key: str, start: date) -> uuid.UUID:
    """One recompute per dated value (region, key, start), whichever replay of its event queues it."""
    return uuid.uuid5(_RECOMPUTES, f"{region}/{key}/{start.isoformat()}")


class Place(NamedTuple):
    """Where a recompute has got to: the last case of its work list written, in (household, case) order."""

    household_id: uuid.UUID
    case_id: uuid.UUID

    @classmethod
    def reached(cls, row: StandardRecompute) -> Place | None:
        """The recompute's place as committed (None before its first chunk)."""
        return cls(row.after_household, row.after_case) if row.after_case is not None else None


# The work list, snapshotted when the job starts: every case under the scope whose schedule read the key.
_SNAPSHOT = text(f"""
    INSERT INTO eligibility.standard_recompute_cases (recompute_id, household_id, case_id)
    SELECT CAST(:recompute_id AS uuid), household_id, id FROM eligibility.cases WHERE {PRICED_WITH_FILTER}
    ON CONFLICT DO NOTHING
""")


class RecomputeRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def queue(self, row: StandardRecompute) -> bool:
        """Add a recompute unless one for the same value exists (a replayed event queues nothing)."""
        if await self.session.get(StandardRecompute, row.id) is not None:
            return False
        self.session.add(row)
        return True

    async def get(self, recompute_id: uuid.UUID, *, for_update: bool = False) -> StandardRecompute | None:
        if not for_update:
            return await self.session.get(StandardRecompute, recompute_id)
        query = select(StandardRecompute).where(StandardRecompute.id == recompute_id)
        return (await self.session.execute(query.with_for_update(skip_locked=True))).scalar_one_or_none()

    async def unfinished(self) -> list[uuid.UUID]:
        """The recomputes still to run or finish, in the order they were asked for."""
        query = select(StandardRecompute.id).where(StandardRecompute.status != "done").order_by(StandardRecompute.seq)
        return list((await self.session.execute(query)).scalars())

    async def snapshot(self, recompute_id: uuid.UUID, prefix: str, key: str) -> int:
        """Fill the work list; how many cases it holds."""
        params = {"recompute_id": recompute_id, **priced_with_params(prefix, key)}
        return (await self.session.execute(_SNAPSHOT, params)).rowcount

    async def next_cases(self, recompute_id: uuid.UUID, after: Place | None, size: int) -> list[Place]:
        """The next `size` cases of the work list after `after`, extended to the last household's every case (a
        chunk holds whole households, so each counts a household once)."""
        work = StandardRecomputeCase
        query = select(work.household_id, work.case_id).where(work.recompute_id == recompute_id)
        if after is not None:
            query = query.where(tuple_(work.household_id, work.case_id) > tuple_(*after))
        found = [
            Place(*r) for r in await self.session.execute(query.order_by(work.household_id, work.case_id).limit(size))
        ]
        if len(found) == size:
            last = found[-1]
            rest = query.where(work.household_id == last.household_id, work.case_id > last.case_id)
            found += [Place(*r) for r in await self.session.execute(rest.order_by(work.case_id))]
        return found

    async def advance(self, recompute_id: uuid.UUID, place: Place, figures: dict[str, Any]) -> None:
        """Record a written chunk: the place reached and the figures so far."""
        await self.session.execute(
            update(StandardRecompute)
            .where(StandardRecompute.id == recompute_id)
            .values(after_household=place.household_id, after_case=place.case_id, **figures)
        )

    async def finish(self, recompute_id: uuid.UUID) -> None:
        """Done: its work list goes."""
        await self.session.execute(
            delete(StandardRecomputeCase).where(StandardRecomputeCase.recompute_id == recompute_id)
        )

    async def page(
        self, prefixes: list[str], scope: str, query: ListQuery, key: str | None, start: date | None
    ) -> Rows[StandardRecompute]:
        """The recomputes a caller in `scope` sees: those of a region it covers, or of a region covering it
        (`prefixes`: its own region's and each larger one's code), newest first."""
        regions = StandardRecompute.region
        visible = or_(regions.in_(prefixes), regions.like(f"{scope}%") if scope else regions.isnot(None))
        q = select(StandardRecompute).where(visible)
        if key is not None:
            q = q.where(StandardRecompute.key == key)
        if start is not None:
            q = q.where(StandardRecompute.start == start)
        return await keyset_page(self.session, q, RECOMPUTES, query)
