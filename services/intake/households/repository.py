"""Every household and member query of intake."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import String, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.households.schemas import HouseholdQuery
from services.intake.models import Application, Household, Member
from shared.pagination import Keyset, Rows, keyset_page
from shared.uow import UnitOfWork


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The households' order (shared/pagination.py), served by ix_households_created_at_id (migration 0004_list_indexes).
HOUSEHOLDS = Keyset("households", (Household.created_at, Household.id), descending=True)
_LAST_CHARACTER = "\U0010ffff"


class HouseholdRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def payee_backfill(self, limit: int) -> list[Household]:
        """Households whose account was never announced to payments, locked (a second worker skips them)."""
        rows = await self.session.scalars(
            select(Household)
            .where(Household.payee_backfill_pending)
            .order_by(Household.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    async def payees_announced(self, household_ids: list[uuid.UUID]) -> None:
        await self.session.execute(
            update(Household).where(Household.id.in_(household_ids)).values(payee_backfill_pending=False),
            execution_options={"synchronize_session": False},
        )

    async def get(self, household_id: uuid.UUID, *, for_update: bool = False) -> Household | None:
        # FOR UPDATE serialises concurrent edits of one household, so two desks never lose each other's
        # change.
        return await self.session.get(Household, household_id, with_for_update=for_update)

    async def members(self, household_id: uuid.UUID) -> list[Member]:
        rows = await self.session.scalars(
            select(Member).where(Member.household_id == household_id, Member.active).order_by(Member.name, Member.id)
        )
        return list(rows)

    async def member(self, household_id: uuid.UUID, member_id: uuid.UUID) -> Member | None:
        return await self.session.scalar(
            select(Member).where(Member.id == member_id, Member.household_id == household_id, Member.active)
        )

    async def active_fingerprints(self, fingerprints: Iterable[str]) -> set[str]:
        return set(await self.session.scalars(_ACTIVE_FINGERPRINTS, {"fingerprints": list(fingerprints)}))

    async def household_of_person(self, fingerprint: str) -> Household | None:
        return await self.session.scalar(
            select(Household)
            .join(Member, Member.household_id == Household.id)
            .where(Member.id_fingerprint == fingerprint, Member.active, Household.active)
        )

    async def page(self, region_prefix: str, q: HouseholdQuery, fingerprint: str | None) -> Rows[Household]:
        """`q`'s households under `region_prefix` (the caller's region or the part of it asked for), newest first;
        `fingerprint`: those with this person among their active members."""
        query = select(Household).where(
            Household.active, Household.region_code.startswith(region_prefix, autoescape=True)
        )
        if q.hukou_type:
            query = query.where(Household.hukou_type == q.hukou_type)
        if q.address:
            query = query.where(Household.address.ilike("%" + _escape_like(q.address) + "%"))
        if q.name:
            # A range of ix_members_name_c (byte order, whatever the database's collation): a name's prefix.
            name = Member.name.collate("C")
            query = query.where(
                Household.id.in_(
                    select(Member.household_id).where(Member.active, name >= q.name, name < q.name + _LAST_CHARACTER)
                )
            )
        if fingerprint:
            query = query.where(
                Household.id.in_(select(Member.household_id).where(Member.id_fingerprint == fingerprint, Member.active))
            )
        return await keyset_page(self.session, query, HOUSEHOLDS, q)

    async def member_overview(self, household_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str | None, int]]:
        """Per household: the head's name and the number of active members, in one query."""
        if not household_ids:
            return {}
        rows = await self.session.execute(
            select(Member.household_id, func.max(Member.name).filter(Member.relation == "head"), func.count())
            .where(Member.household_id.in_(household_ids), Member.active)
            .group_by(Member.household_id)
        )
        return {hid: (head, count) for hid, head, count in rows}

    async def with_members(self, household_id: uuid.UUID) -> tuple[Household | None, list[Member]]:
        """A household and its active members (by name) in one round trip."""
        rows = (await self.session.execute(_WITH_MEMBERS, {"household_id": household_id})).all()
        if not rows:
            return None, []
        return rows[0][0], [m for _, m in rows if m is not None]

    def add_member(self, member: Member) -> None:
        self.session.add(member)

    async def has_consent(self, household_id: uuid.UUID) -> bool:
        """Whether an application of the household carries the signed consent to the economic check."""
        return bool(
            await self.session.scalar(
                select(
                    select(Application.id)
                    .where(Application.household_id == household_id, Application.consent_signed)
                    .exists()
                )
            )
        )


def add_new(uow: UnitOfWork, household: Household, members: list[Member]) -> None:
    """A new household and its members, written at commit with the audit and outbox rows (nothing reads them back
    in the request: the answer is built from these objects)."""
    uow.add_rows(
        Household.__table__,
        [
            {
                "id": household.id,
                "region_code": household.region_code,
                "hukou_type": household.hukou_type,
                "address": household.address,
                "incomes": household.incomes,
                "properties": household.properties,
                "rigid_expenses": household.rigid_expenses,
                "active": True,
                "bank_name": household.bank_name,
                "bank_account_holder": household.bank_account_holder,
                "bank_account_sealed": household.bank_account_sealed,
                "bank_account_key_id": household.bank_account_key_id,
                "bank_account_last4": household.bank_account_last4,
                "bank_account_changed_at": household.bank_account_changed_at,
                "version": household.version,
                "created_at": household.created_at,
                "updated_at": household.updated_at,
            }
        ],
    )
    uow.add_rows(
        Member.__table__,
        [
            {
                "id": m.id,
                "household_id": m.household_id,
                "name": m.name,
                "id_number_sealed": m.id_number_sealed,
                "id_number_key_id": m.id_number_key_id,
                "id_number_masked": m.id_number_masked,
                "id_fingerprint": m.id_fingerprint,
                "fingerprint_profile": m.fingerprint_profile,
                "active": True,
                "birth_date": m.birth_date,
                "sex": m.sex,
                "relation": m.relation,
                "facts": m.facts,
            }
            for m in members
        ],
    )


# The statements on every registration's and application's path, built once with named parameters (an array for
# the fingerprints, so one prepared statement serves any household size): building them cost more than running them.
_ACTIVE_FINGERPRINTS = select(Member.id_fingerprint).where(
    Member.id_fingerprint == any_(bindparam("fingerprints", type_=ARRAY(String))), Member.active
)
_WITH_MEMBERS = (
    select(Household, Member)
    .outerjoin(Member, (Member.household_id == Household.id) & Member.active)
    .where(Household.id == bindparam("household_id"))
    .order_by(Member.name, Member.id)
)
