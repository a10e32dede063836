"""Every query of monitoring's read model of households, persons and the programmes they receive."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.models import Coverage, FeedRecord, KnownHousehold, KnownPerson
from shared.events.catalogue import CaseApproved
from shared.schemas import attributes


class ReadModelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save_household(self, **values: object) -> None:
        stmt = insert(KnownHousehold).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[KnownHousehold.household_id],
                set_={k: stmt.excluded[k] for k in values if k != "household_id"},
            )
        )

    async def replace_persons(self, household_id: uuid.UUID, persons: Sequence[tuple[str, uuid.UUID]]) -> list[str]:
        """The household's members are exactly `persons` (fingerprint, member id); returns the fingerprints
        not known before (anywhere), whose earlier feed rows now have a household."""
        fingerprints = [fp for fp, _ in persons]
        known = set(
            await self.session.scalars(
                select(KnownPerson.id_fingerprint).where(KnownPerson.id_fingerprint.in_(fingerprints))
            )
        )
        await self.session.execute(
            delete(KnownPerson).where(
                KnownPerson.household_id == household_id, KnownPerson.id_fingerprint.not_in(fingerprints)
            )
        )
        if persons:
            stmt = insert(KnownPerson).values(
                [{"id_fingerprint": fp, "member_id": mid, "household_id": household_id} for fp, mid in persons]
            )
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[KnownPerson.id_fingerprint],
                    set_={"member_id": stmt.excluded.member_id, "household_id": stmt.excluded.household_id},
                )
            )
        return [fp for fp in fingerprints if fp not in known]

    async def records_of(self, fingerprints: Sequence[str]) -> list[int]:
        if not fingerprints:
            return []
        return list(
            await self.session.scalars(select(FeedRecord.id).where(FeedRecord.id_fingerprint.in_(list(fingerprints))))
        )

    async def cover(self, approved: CaseApproved, since: date, last: date | None) -> None:
        """The approved case's coverage (its household, programme and members) from `since`, until `last` if set."""
        stmt = insert(Coverage).values(
            **attributes(approved, Coverage), active=True, since_month=since, last_month=last
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Coverage.case_id],
                set_={
                    "member_ids": stmt.excluded.member_ids,
                    "active": True,
                    "since_month": stmt.excluded.since_month,
                    "last_month": stmt.excluded.last_month,
                },
            )
        )

    async def uncover(self, case_id: uuid.UUID, last: date) -> None:
        await self.session.execute(
            update(Coverage).where(Coverage.case_id == case_id).values(active=False, last_month=last)
        )


class HouseholdView:
    """What monitoring knows of one household (no names, no ID numbers)."""

    def __init__(self, household: KnownHousehold, programmes: list[str], members: int) -> None:
        self.household, self.programmes, self.members = household, programmes, members


async def household_view(session: AsyncSession, household_id: uuid.UUID) -> HouseholdView | None:
    household = await session.get(KnownHousehold, household_id)
    if household is None:
        return None
    programmes = sorted(
        set(
            await session.scalars(
                select(Coverage.programme).where(Coverage.household_id == household_id, Coverage.active)
            )
        )
    )
    members = await session.scalar(
        select(func.count()).select_from(KnownPerson).where(KnownPerson.household_id == household_id)
    )
    return HouseholdView(household, programmes, int(members or 0))
