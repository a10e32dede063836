"""Every roll query of payments: beneficiaries, their entitlement rows, one-off awards, payees."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import Beneficiary, CurrentPayee, Entitlement, OneOffAward, Payee
from services.payments.roll.domain import EntitlementRow, HistoryChange
from shared.period import Period


class BeneficiaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_case(self, case_id: uuid.UUID, *, for_update: bool = False) -> Beneficiary | None:
        query = select(Beneficiary).where(Beneficiary.case_id == case_id)
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def get(self, beneficiary_id: uuid.UUID) -> Beneficiary | None:
        return await self.session.get(Beneficiary, beneficiary_id)

    async def in_region(self, region_prefix: str, household_id: uuid.UUID | None, limit: int) -> list[Beneficiary]:
        query = select(Beneficiary).where(Beneficiary.region_code.startswith(region_prefix))
        if household_id:
            query = query.where(Beneficiary.household_id == household_id)
        return list(await self.session.scalars(query.order_by(Beneficiary.created_at).limit(limit)))

    def add(self, beneficiary: Beneficiary) -> None:
        self.session.add(beneficiary)

    async def decision_applied(self, event_id: uuid.UUID) -> bool:
        """Whether a decision event already shaped the history (a replay beyond the inbox changes nothing)."""
        return bool(await self.session.scalar(select(exists().where(
            or_(Entitlement.event_id == event_id, Entitlement.superseded_by == event_id)))))

    async def in_force(self, beneficiary_id: uuid.UUID) -> list[EntitlementRow]:
        rows = await self.session.execute(
            select(Entitlement.id, Entitlement.from_month, Entitlement.to_month, Entitlement.monthly_amount_fen)
            .where(Entitlement.beneficiary_id == beneficiary_id, Entitlement.superseded_by.is_(None))
            .order_by(Entitlement.from_month))
        return [EntitlementRow(Period.of(f), Period.of(t) if t else None, a, i) for i, f, t, a in rows]

    async def history(self, beneficiary_id: uuid.UUID) -> list[Entitlement]:
        return list(await self.session.scalars(
            select(Entitlement).where(Entitlement.beneficiary_id == beneficiary_id).order_by(Entitlement.id)))

    async def apply(self, beneficiary_id: uuid.UUID, change: HistoryChange, event_id: uuid.UUID,
                    event_type: str) -> None:
        if change.superseded:
            await self.session.execute(update(Entitlement).where(Entitlement.id.in_(change.superseded))
                                       .values(superseded_by=event_id))
        if change.added:
            await self.session.execute(insert(Entitlement), [
                {"beneficiary_id": beneficiary_id, "from_month": r.from_month.first_day,
                 "to_month": r.to_month.first_day if r.to_month else None,
                 "monthly_amount_fen": r.monthly_amount_fen, "event_id": event_id, "event_type": event_type}
                for r in change.added])


class AwardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, award: dict) -> bool:
        """Records a one-off award unless its case already has one; True when new."""
        result = await self.session.execute(
            pg_insert(OneOffAward).values(**award).on_conflict_do_nothing(index_elements=["case_id"])
            .returning(OneOffAward.id))
        return result.scalar() is not None

    async def in_region(self, region_prefix: str, household_id: uuid.UUID | None, limit: int) -> list[OneOffAward]:
        query = select(OneOffAward).where(OneOffAward.region_code.startswith(region_prefix))
        if household_id:
            query = query.where(OneOffAward.household_id == household_id)
        return list(await self.session.scalars(query.order_by(OneOffAward.created_at).limit(limit)))


class PayeeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, household_id: uuid.UUID, key_id: str | None, sealed: str | None, last4: str | None,
                     changed_at: datetime, event_id: uuid.UUID) -> None:
        """A new payee version; it becomes current unless a later change is already current (out of order)."""
        payee_id = (await self.session.execute(
            pg_insert(Payee).values(household_id=household_id, key_id=key_id, sealed=sealed, account_last4=last4,
                                    changed_at=changed_at, event_id=event_id)
            .on_conflict_do_nothing(index_elements=["event_id"]).returning(Payee.id))).scalar()
        if payee_id is None:
            return
        # An account removed leaves the household without one: its lines fail until a new account arrives.
        usable = payee_id if sealed else None
        current = pg_insert(CurrentPayee).values(household_id=household_id, payee_id=usable, changed_at=changed_at)
        await self.session.execute(current.on_conflict_do_update(
            index_elements=["household_id"], set_={"payee_id": usable, "changed_at": changed_at},
            where=CurrentPayee.changed_at <= changed_at))

    async def current(self, household_id: uuid.UUID) -> Payee | None:
        return await self.session.scalar(
            select(Payee).join(CurrentPayee, CurrentPayee.payee_id == Payee.id)
            .where(CurrentPayee.household_id == household_id))
