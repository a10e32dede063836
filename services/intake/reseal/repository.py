"""Every query of the re-sealing job: chunks of rows sealed under another key (or fingerprinted under another
profile), keyset-ordered by id and locked for the chunk's transaction, and their set-based rewrite."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Row, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Household, Member


def _stale_members(key_id: str, profile: str):
    return or_(Member.id_number_key_id != key_id, Member.fingerprint_profile != profile)


def _stale_households(key_id: str, announce: bool):
    sealed = Household.bank_account_sealed.is_not(None)
    return sealed if announce else sealed & (Household.bank_account_key_id != key_id)


_UPDATE_MEMBERS = text("""
UPDATE intake.members m
SET id_number_sealed = v.sealed, id_number_key_id = v.key_id, id_fingerprint = v.fingerprint,
    fingerprint_profile = v.profile
FROM unnest(CAST(:ids AS uuid[]), CAST(:sealed AS text[]), CAST(:key_ids AS text[]), CAST(:fingerprints AS text[]),
            CAST(:profiles AS text[])) AS v(id, sealed, key_id, fingerprint, profile)
WHERE m.id = v.id
""")
_UPDATE_HOUSEHOLDS = text("""
UPDATE intake.households h
SET bank_account_sealed = v.sealed, bank_account_key_id = v.key_id, bank_account_changed_at = v.changed_at
FROM unnest(CAST(:ids AS uuid[]), CAST(:sealed AS text[]), CAST(:key_ids AS text[]),
            CAST(:changed AS timestamptz[])) AS v(id, sealed, key_id, changed_at)
WHERE h.id = v.id
""")


class ResealRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def members_left(self, key_id: str, profile: str) -> int:
        return int(await self.session.scalar(select(func.count()).where(_stale_members(key_id, profile))) or 0)

    async def members_chunk(self, key_id: str, profile: str, after: uuid.UUID | None, limit: int) -> Sequence[Row]:
        """The stale members of the next `limit` households (keyset by household id): a household's members are
        re-fingerprinted together, so it is announced once, with all its new identities."""
        stale = _stale_members(key_id, profile)
        households = select(Member.household_id).where(stale).distinct()
        if after is not None:
            households = households.where(Member.household_id > after)
        households = households.order_by(Member.household_id).limit(limit)
        query = select(
            Member.id,
            Member.household_id,
            Member.active,
            Member.id_number_key_id,
            Member.id_number_sealed,
            Member.fingerprint_profile,
        ).where(stale, Member.household_id.in_(households.scalar_subquery()))
        return (await self.session.execute(query.order_by(Member.household_id, Member.id).with_for_update())).all()

    async def update_members(self, rows: list[dict]) -> None:
        await self.session.execute(
            _UPDATE_MEMBERS,
            {
                "ids": [r["id"] for r in rows],
                "sealed": [r["sealed"] for r in rows],
                "key_ids": [r["key_id"] for r in rows],
                "fingerprints": [r["fingerprint"] for r in rows],
                "profiles": [r["profile"] for r in rows],
            },
        )

    async def households_left(self, key_id: str, announce: bool) -> int:
        return int(await self.session.scalar(select(func.count()).where(_stale_households(key_id, announce))) or 0)

    async def households_chunk(self, key_id: str, announce: bool, after: uuid.UUID | None, limit: int) -> Sequence[Row]:
        query = select(
            Household.id,
            Household.region_code,
            Household.bank_name,
            Household.bank_account_holder,
            Household.bank_account_key_id,
            Household.bank_account_sealed,
            Household.bank_account_changed_at,
        ).where(_stale_households(key_id, announce))
        if after is not None:
            query = query.where(Household.id > after)
        return (await self.session.execute(query.order_by(Household.id).limit(limit).with_for_update())).all()

    async def update_households(self, rows: list[dict]) -> None:
        await self.session.execute(
            _UPDATE_HOUSEHOLDS,
            {
                "ids": [r["id"] for r in rows],
                "sealed": [r["sealed"] for r in rows],
                "key_ids": [r["key_id"] for r in rows],
                "changed": [r["changed_at"] for r in rows],
            },
        )

    async def with_members(self, household_ids: set[uuid.UUID]) -> list[tuple[Household, list[Member]]]:
        """Active households among `household_ids` with their active members, in two queries."""
        households = list(
            await self.session.scalars(
                select(Household).where(Household.id.in_(household_ids), Household.active).order_by(Household.id)
            )
        )
        members: dict[uuid.UUID, list[Member]] = {h.id: [] for h in households}
        for m in await self.session.scalars(
            select(Member).where(Member.household_id.in_(list(members)), Member.active).order_by(Member.name, Member.id)
        ):
            members[m.household_id].append(m)
        return [(h, members[h.id]) for h in households]
