"""Every query of monitoring's read model of households, persons and the programmes they receive."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.models import Coverage, FeedRecord, KnownHousehold, KnownPerson
from shared.events.catalogue import CaseApproved

_HOUSEHOLD_COLUMNS = (
    "household_id",
    "region_code",
    "hukou_type",
    "counted_members",
    "monthly_income_fen",
    "per_capita_monthly_fen",
)
_SAVE_HOUSEHOLDS = """
INSERT INTO monitoring.households (household_id, region_code, hukou_type, counted_members, monthly_income_fen,
                                   per_capita_monthly_fen)
SELECT * FROM unnest(CAST(:household_id AS uuid[]), CAST(:region_code AS text[]), CAST(:hukou_type AS text[]),
                     CAST(:counted_members AS int[]), CAST(:monthly_income_fen AS bigint[]),
                     CAST(:per_capita_monthly_fen AS bigint[]))
ON CONFLICT (household_id) DO UPDATE SET
    region_code = EXCLUDED.region_code, hukou_type = EXCLUDED.hukou_type, counted_members = EXCLUDED.counted_members,
    monthly_income_fen = EXCLUDED.monthly_income_fen, per_capita_monthly_fen = EXCLUDED.per_capita_monthly_fen,
    updated_at = now()
"""
_SAVE_PERSONS = """
INSERT INTO monitoring.persons (id_fingerprint, member_id, household_id)
SELECT * FROM unnest(CAST(:fps AS text[]), CAST(:members AS uuid[]), CAST(:households AS uuid[]))
ON CONFLICT (id_fingerprint) DO UPDATE SET member_id = EXCLUDED.member_id, household_id = EXCLUDED.household_id,
                                           active = true
"""
# Members an earlier event of the run listed and the household's last one no longer does, listed by no household
# at the end of the run: as after the events one by one, they left that household (kept for deaths).
_SAVE_LEFT = """
INSERT INTO monitoring.persons (id_fingerprint, member_id, household_id, active)
SELECT fp, member, household, false
FROM unnest(CAST(:fps AS text[]), CAST(:members AS uuid[]), CAST(:households AS uuid[])) AS l(fp, member, household)
ON CONFLICT (id_fingerprint) DO UPDATE SET member_id = EXCLUDED.member_id, household_id = EXCLUDED.household_id,
                                           active = false
"""
_COVER = """
INSERT INTO monitoring.coverage (case_id, household_id, programme, member_ids, active, since_month, last_month)
SELECT r.case_id, r.household_id, r.programme, r.member_ids, true, r.since_month, r.last_month
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(case_id uuid, household_id uuid, programme text, member_ids uuid[], since_month date, last_month date)
ON CONFLICT (case_id) DO UPDATE SET
    member_ids = EXCLUDED.member_ids, active = true, since_month = EXCLUDED.since_month,
    last_month = EXCLUDED.last_month
"""


class ReadModelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save_households(self, rows: Sequence[dict[str, Any]]) -> None:
        """Households as their events describe them (one row per household), one statement."""
        if rows:
            await self.session.execute(text(_SAVE_HOUSEHOLDS), {k: [r[k] for r in rows] for k in _HOUSEHOLD_COLUMNS})

    async def replace_persons(
        self,
        persons: dict[uuid.UUID, Sequence[tuple[str, uuid.UUID]]],
        listed_before: dict[uuid.UUID, Sequence[tuple[str, uuid.UUID]]] | None = None,
    ) -> list[str]:
        """Each household's members are exactly its `persons` (fingerprint, member id); returns the fingerprints
        not members before (anywhere), whose earlier feed rows now have a household. A fingerprint listed by two of
        the households is the later one's (the dict's order: the order of their events). One a household no longer
        lists is kept as having left it (`active` false): a partner's death row still finds them — so is one only an
        earlier event of the run listed (`listed_before`, per household)."""
        owner: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        for household_id, members in persons.items():
            for fp, member_id in members:
                owner.pop(fp, None)  # re-inserted: the later household's
                owner[fp] = (household_id, member_id)
        fingerprints = list(owner)
        left: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        for household_id, members in (listed_before or {}).items():
            for fp, member_id in members:
                if fp not in owner:
                    left[fp] = (household_id, member_id)
        known = (
            set(
                await self.session.scalars(
                    text("SELECT id_fingerprint FROM monitoring.persons WHERE id_fingerprint = ANY(:fps) AND active"),
                    {"fps": fingerprints + list(left)},
                )
            )
            if fingerprints or left
            else set()
        )
        # Members no longer listed by their household leave it (kept, not active, for deaths); one listed elsewhere
        # moves with the upsert below.
        await self.session.execute(
            text(
                "UPDATE monitoring.persons SET active = false WHERE household_id = ANY(CAST(:households AS uuid[])) "
                "AND NOT id_fingerprint = ANY(CAST(:fps AS text[])) AND active"
            ),
            {"households": list(persons), "fps": fingerprints},
        )
        if owner:
            await self.session.execute(
                text(_SAVE_PERSONS),
                {
                    "fps": fingerprints,
                    "members": [member for _, member in owner.values()],
                    "households": [household for household, _ in owner.values()],
                },
            )
        if left:
            await self.session.execute(
                text(_SAVE_LEFT),
                {
                    "fps": list(left),
                    "members": [member for _, member in left.values()],
                    "households": [household for household, _ in left.values()],
                },
            )
        return [fp for fp in [*fingerprints, *left] if fp not in known]

    async def records_of(self, fingerprints: Sequence[str]) -> list[int]:
        if not fingerprints:
            return []
        return list(
            await self.session.scalars(select(FeedRecord.id).where(FeedRecord.id_fingerprint.in_(list(fingerprints))))
        )

    async def deaths_on_file(self, households: Sequence[uuid.UUID]) -> list[int]:
        """The death rows already on file for the households' persons (those who left them too), whose member
        has not been reported dead yet: one statement for a run of households."""
        if not households:
            return []
        return list(
            await self.session.scalars(
                text(
                    "SELECT r.id FROM monitoring.persons p "
                    "JOIN monitoring.feed_records r ON r.id_fingerprint = p.id_fingerprint AND r.kind = 'death' "
                    "WHERE p.household_id = ANY(CAST(:households AS uuid[])) AND NOT EXISTS "
                    "(SELECT 1 FROM monitoring.reported_deaths d WHERE d.member_id = p.member_id)"
                ),
                {"households": list(households)},
            )
        )

    async def cover_many(self, approved: Sequence[tuple[CaseApproved, date, date | None]]) -> None:
        """Each approved case's coverage (its household, programme and members) from `since`, until `last` if set;
        one row per case, one statement (the members as JSON: arrays of arrays do not nest in unnest)."""
        if not approved:
            return
        await self.session.execute(
            text(_COVER),
            {
                "rows": json.dumps(
                    [
                        {
                            "case_id": str(data.case_id),
                            "household_id": str(data.household_id),
                            "programme": str(data.programme),
                            "member_ids": [str(m) for m in data.member_ids],
                            "since_month": since.isoformat(),
                            "last_month": last.isoformat() if last else None,
                        }
                        for data, since, last in approved
                    ]
                )
            },
        )

    async def programmes(self, household_id: uuid.UUID) -> frozenset[str]:
        """The programmes the household is on a roll for now (by eligibility's decisions)."""
        found = await self.session.scalars(
            select(Coverage.programme).where(Coverage.household_id == household_id, Coverage.active)
        )
        return frozenset(found)

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
        select(func.count())
        .select_from(KnownPerson)
        .where(KnownPerson.household_id == household_id, KnownPerson.active)
    )
    return HouseholdView(household, programmes, int(members or 0))
