"""Every roll query of payments: beneficiaries, their entitlement rows, one-off awards, payees."""

from __future__ import annotations

import functools
import uuid

from sqlalchemy import Table, bindparam, select, text, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from services.payments.models import (
    Beneficiary,
    CurrentPayee,
    Entitlement,
    OneOffAward,
    Owed,
    PaidElsewhere,
    Payee,
    ScheduledCase,
)
from services.payments.roll.domain import EntitlementRow, NewEntitlement, NewOwed, OwedRow, RollEntry
from services.payments.roll.schemas import BeneficiaryQuery
from shared.core.period import Period
from shared.db import insert_json_rows, json_rows
from shared.pagination import Keyset, Rows, keyset_page

# The roll's order (shared/pagination.py), served by ix_beneficiaries_created_at_id (migration 0004_list_indexes).
BENEFICIARIES = Keyset("beneficiaries", (Beneficiary.created_at, Beneficiary.id))


async def _supersede(session: AsyncSession, table: Table, superseded: dict[int, uuid.UUID]) -> None:
    """Dated rows (entitlements, owed) replaced by a later decision: marked `superseded_by` its event, in one
    statement (the pairs as two arrays, not a statement per row; the ids also as the rows' index condition, so they
    are found by primary key however stale the table's statistics), never edited otherwise nor deleted."""
    if superseded:
        await session.execute(
            _supersede_statement(table.fullname),
            {"ids": list(superseded), "bys": list(superseded.values())},
        )


@functools.cache
def _supersede_statement(table: str) -> TextClause:
    return text(
        f"UPDATE {table} AS t SET superseded_by = s.by "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:bys AS uuid[])) AS s(id, by) "
        "WHERE t.id = s.id AND t.id = ANY(CAST(:ids AS bigint[]))"
    )


# A run's new rows, each table's in one statement whatever the run's length (the rows one JSON parameter, in the
# run's order, so identity ids still follow the decisions); the ORM's executemany was a statement per row.
_BENEFICIARY_COLUMNS = (
    "id",
    "case_id",
    "household_id",
    "programme",
    "region_code",
    "persons",
    "status",
    "monthly_amount_fen",
    "start_month",
    "end_month",
    "end_reason",
    "tekun_arrangement",
)
_INSERT_BENEFICIARIES = insert_json_rows(Beneficiary.__table__, _BENEFICIARY_COLUMNS)
_ENTITLEMENT_COLUMNS = (
    "beneficiary_id",
    "from_month",
    "to_month",
    "monthly_amount_fen",
    "event_id",
    "event_type",
    "superseded_by",
)
_INSERT_ENTITLEMENTS = insert_json_rows(Entitlement.__table__, _ENTITLEMENT_COLUMNS)
_OWED_COLUMNS = (
    "household_id",
    "programme",
    "member_id",
    "region_code",
    "case_id",
    "persons",
    "from_month",
    "to_month",
    "amount_fen",
    "event_id",
    "reason",
    "superseded_by",
)
_INSERT_OWED = insert_json_rows(Owed.__table__, _OWED_COLUMNS)
_MARK_SCHEDULED = insert_json_rows(ScheduledCase.__table__, ("case_id", "event_id")).on_conflict_do_nothing(
    index_elements=["case_id"]
)
_PAID_ELSEWHERE_COLUMNS = (
    "household_id",
    "programme",
    "member_id",
    "region_code",
    "case_id",
    "from_month",
    "through_month",
    "amount_fen",
    "event_id",
)
_INSERT_PAID_ELSEWHERE = (
    insert_json_rows(PaidElsewhere.__table__, _PAID_ELSEWHERE_COLUMNS)
    .on_conflict_do_nothing(index_elements=["case_id", "member_id"])
    .returning(PaidElsewhere.__table__.c.id)
)
_PAYEE_COLUMNS = ("household_id", "key_id", "sealed", "account_last4", "changed_at", "event_id")
_INSERT_PAYEES = (
    insert_json_rows(Payee.__table__, _PAYEE_COLUMNS)
    .on_conflict_do_nothing(index_elements=["event_id"])
    .returning(Payee.__table__.c.id, Payee.__table__.c.event_id)
)
_current = insert_json_rows(CurrentPayee.__table__, ("household_id", "payee_id", "changed_at"))
_UPSERT_CURRENT_PAYEES = _current.on_conflict_do_update(
    index_elements=["household_id"],
    set_={"payee_id": _current.excluded.payee_id, "changed_at": _current.excluded.changed_at},
    where=CurrentPayee.__table__.c.changed_at <= _current.excluded.changed_at,
)


_SET_PERSONS = text("""
UPDATE payments.beneficiaries AS b SET persons = v.persons
FROM unnest(CAST(:cases AS uuid[]), CAST(:persons AS int[])) AS v(case_id, persons)
WHERE b.case_id = v.case_id AND b.persons <> v.persons
""")


class BeneficiaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, beneficiary_id: uuid.UUID) -> Beneficiary | None:
        return await self.session.get(Beneficiary, beneficiary_id)

    async def set_persons(self, persons: dict[uuid.UUID, int]) -> None:
        """The persons each case's beneficiary is paid for (by case id), where they changed."""
        if persons:
            await self.session.execute(_SET_PERSONS, {"cases": list(persons), "persons": list(persons.values())})

    async def page(self, region_prefix: str, q: BeneficiaryQuery) -> Rows[Beneficiary]:
        query = select(Beneficiary).where(Beneficiary.region_code.startswith(region_prefix, autoescape=True))
        if q.household_id:
            query = query.where(Beneficiary.household_id == q.household_id)
        if q.programme:
            query = query.where(Beneficiary.programme == q.programme)
        if q.status:
            query = query.where(Beneficiary.status == q.status)
        return await keyset_page(self.session, query, BENEFICIARIES, q)

    async def history(self, beneficiary_id: uuid.UUID) -> list[Entitlement]:
        return list(
            await self.session.scalars(
                select(Entitlement).where(Entitlement.beneficiary_id == beneficiary_id).order_by(Entitlement.id)
            )
        )

    # --- set-based: a run of decisions ---------------------------------------------------------------------------

    async def roll_for_update(self, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, RollEntry]:
        """The beneficiaries of these cases, locked (in id order, so two runs never deadlock), with the entitlement
        rows in force: one locking read and one read per run, however many events."""
        b = Beneficiary
        rows = (
            await self.session.execute(
                select(
                    b.id,
                    b.case_id,
                    b.household_id,
                    b.programme,
                    b.region_code,
                    b.persons,
                    b.start_month,
                    b.monthly_amount_fen,
                    b.status,
                    b.end_month,
                    b.end_reason,
                    b.tekun_arrangement,
                )
                .where(b.case_id.in_(case_ids))
                .order_by(b.id)
                .with_for_update()
            )
        ).all()
        entries = {
            r.case_id: RollEntry(
                id=r.id,
                case_id=r.case_id,
                household_id=r.household_id,
                programme=r.programme,
                region_code=r.region_code,
                persons=r.persons,
                start_month=Period.of(r.start_month),
                monthly_amount_fen=r.monthly_amount_fen,
                status=r.status,
                end_month=Period.of(r.end_month) if r.end_month else None,
                end_reason=r.end_reason,
                tekun_arrangement=r.tekun_arrangement,
            )
            for r in rows
        }
        if entries:
            by_id = {e.id: e for e in entries.values()}
            e = Entitlement
            for row in await self.session.execute(
                select(e.beneficiary_id, e.id, e.from_month, e.to_month, e.monthly_amount_fen, e.event_type)
                .where(e.beneficiary_id.in_(by_id), e.superseded_by.is_(None))
                .order_by(e.from_month)
            ):
                by_id[row.beneficiary_id].in_force.append(
                    EntitlementRow(
                        Period.of(row.from_month),
                        Period.of(row.to_month) if row.to_month else None,
                        row.monthly_amount_fen,
                        row.id,
                        row.event_type,
                    )
                )
        return entries

    async def decisions_applied(self, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these decision events already shaped a history (one query for the run)."""
        e = Entitlement
        rows = await self.session.scalars(
            union(
                select(e.event_id).where(e.event_id.in_(event_ids)),
                select(e.superseded_by).where(e.superseded_by.in_(event_ids)),
            )
        )
        return set(rows)

    async def write_run(
        self,
        new: list[RollEntry],
        changed: list[RollEntry],
        superseded: dict[int, uuid.UUID],
        added: list[NewEntitlement],
    ) -> None:
        """A run's changes, each kind in one statement: new beneficiaries, changed ones, superseded rows, added
        rows (in the run's order, so the history's ids follow the decisions)."""
        if new:
            await self.session.execute(
                _INSERT_BENEFICIARIES,
                {
                    "rows": json_rows(
                        [
                            {
                                "id": b.id,
                                "case_id": b.case_id,
                                "household_id": b.household_id,
                                "programme": b.programme,
                                "region_code": b.region_code,
                                "persons": b.persons,
                                "status": b.status,
                                "monthly_amount_fen": b.monthly_amount_fen,
                                "start_month": b.start_month.first_day,
                                "end_month": b.end_month.first_day if b.end_month else None,
                                "end_reason": b.end_reason,
                                "tekun_arrangement": b.tekun_arrangement,
                            }
                            for b in new
                        ]
                    )
                },
            )
        t = Beneficiary.__table__
        if changed:
            await self.session.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(
                    monthly_amount_fen=bindparam("b_amount"),
                    status=bindparam("b_status"),
                    end_month=bindparam("b_end_month"),
                    end_reason=bindparam("b_end_reason"),
                ),
                [
                    {
                        "b_id": b.id,
                        "b_amount": b.monthly_amount_fen,
                        "b_status": b.status,
                        "b_end_month": b.end_month.first_day if b.end_month else None,
                        "b_end_reason": b.end_reason,
                    }
                    for b in changed
                ],
            )
        await _supersede(self.session, Entitlement.__table__, superseded)
        if added:
            await self.session.execute(
                _INSERT_ENTITLEMENTS,
                {
                    "rows": json_rows(
                        [
                            {
                                "beneficiary_id": a.beneficiary_id,
                                "from_month": a.row.from_month.first_day,
                                "to_month": a.row.to_month.first_day if a.row.to_month else None,
                                "monthly_amount_fen": a.row.monthly_amount_fen,
                                "event_id": a.event_id,
                                "event_type": a.event_type,
                                "superseded_by": a.superseded_by,
                            }
                            for a in added
                        ]
                    )
                },
            )


class OwedRepository:
    """What each person is owed (应发): the rows in force of the households a run concerns, and the run's writes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def in_force_for_update(self, household_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, str], list[OwedRow]]:
        """The rows in force of these households, locked in id order (two runs never deadlock)."""
        o = Owed
        rows = await self.session.execute(
            select(
                o.id,
                o.household_id,
                o.programme,
                o.member_id,
                o.from_month,
                o.to_month,
                o.amount_fen,
                o.persons,
                o.case_id,
                o.region_code,
                o.reason,
            )
            .where(o.household_id.in_(household_ids), o.superseded_by.is_(None))
            .order_by(o.id)
            .with_for_update()
        )
        found: dict[tuple[uuid.UUID, str], list[OwedRow]] = {}
        for r in rows:
            found.setdefault((r.household_id, r.programme), []).append(
                OwedRow(
                    r.member_id,
                    Period.of(r.from_month),
                    Period.of(r.to_month) if r.to_month else None,
                    r.amount_fen,
                    r.persons,
                    r.case_id,
                    r.region_code,
                    r.reason,
                    r.id,
                )
            )
        return found

    async def applied(self, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        o = Owed
        return set(
            await self.session.scalars(
                union(
                    select(o.event_id).where(o.event_id.in_(event_ids)),
                    select(o.superseded_by).where(o.superseded_by.in_(event_ids)),
                )
            )
        )

    async def scheduled(self, case_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these cases eligibility already sends schedules for."""
        return set(await self.session.scalars(select(ScheduledCase.case_id).where(ScheduledCase.case_id.in_(case_ids))))

    async def mark_scheduled(self, firsts: dict[uuid.UUID, uuid.UUID]) -> None:
        if firsts:
            await self.session.execute(
                _MARK_SCHEDULED, {"rows": json_rows([{"case_id": c, "event_id": e} for c, e in firsts.items()])}
            )

    async def write(self, superseded: dict[int, uuid.UUID], added: list[NewOwed]) -> None:
        await _supersede(self.session, Owed.__table__, superseded)
        if added:
            await self.session.execute(
                _INSERT_OWED,
                {
                    "rows": json_rows(
                        [
                            {
                                "household_id": a.household_id,
                                "programme": a.programme,
                                "member_id": a.row.member_id,
                                "region_code": a.row.region_code,
                                "case_id": a.row.case_id,
                                "persons": a.row.persons,
                                "from_month": a.row.from_month.first_day,
                                "to_month": a.row.to_month.first_day if a.row.to_month else None,
                                "amount_fen": a.row.amount_fen,
                                "event_id": a.event_id,
                                "reason": a.row.reason,
                                "superseded_by": a.superseded_by,
                            }
                            for a in added
                        ]
                    )
                },
            )

    async def set_by_case(self, case_id: uuid.UUID) -> list[Owed]:
        """Every row a case's decisions set (its beneficiary's entitlement history), superseded ones included, person
        by person in the order they were written (ix_owed_case_id)."""
        return list(
            await self.session.scalars(select(Owed).where(Owed.case_id == case_id).order_by(Owed.member_id, Owed.id))
        )


class PaidElsewhereRepository:
    """Months the old system paid (存量对象导入), per person: the balance counts them as paid."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many_once(self, rows: list[dict]) -> int:
        """Each row unless its case and member already have one (a replayed approval): one statement."""
        if not rows:
            return 0
        result = await self.session.execute(_INSERT_PAID_ELSEWHERE, {"rows": json_rows(rows)})
        return len(result.all())

    async def of_household(self, household_id: uuid.UUID) -> list[PaidElsewhere]:
        return list(
            await self.session.scalars(
                select(PaidElsewhere).where(PaidElsewhere.household_id == household_id).order_by(PaidElsewhere.id)
            )
        )


class AwardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many_once(self, awards: list[dict]) -> set[uuid.UUID]:
        """Records one-off awards, each unless its case already has one; the case ids of those new."""
        if not awards:
            return set()
        result = await self.session.execute(
            pg_insert(OneOffAward).on_conflict_do_nothing(index_elements=["case_id"]).returning(OneOffAward.case_id),
            awards,
        )
        return set(result.scalars())

    async def in_region(self, region_prefix: str, household_id: uuid.UUID | None, limit: int) -> list[OneOffAward]:
        query = select(OneOffAward).where(OneOffAward.region_code.startswith(region_prefix))
        if household_id:
            query = query.where(OneOffAward.household_id == household_id)
        return list(await self.session.scalars(query.order_by(OneOffAward.created_at).limit(limit)))


class PayeeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_many(self, changes: list[dict]) -> None:
        """A run of payee changes (in event order): new versions stored once each, then per household the latest
        one becomes current unless a later change is already current (out of order)."""
        if not changes:
            return
        stored = (await self.session.execute(_INSERT_PAYEES, {"rows": json_rows(changes)})).all()
        ids = {r.event_id: r.id for r in stored}
        latest: dict[uuid.UUID, dict] = {}
        for c in changes:  # in order: of equal times the later event wins, as one by one
            if c["event_id"] in ids and (
                c["household_id"] not in latest or latest[c["household_id"]]["changed_at"] <= c["changed_at"]
            ):
                # An account removed leaves the household without one: its lines fail until a new account arrives.
                latest[c["household_id"]] = {
                    "household_id": c["household_id"],
                    "changed_at": c["changed_at"],
                    "payee_id": ids[c["event_id"]] if c["sealed"] else None,
                }
        if not latest:
            return
        await self.session.execute(_UPSERT_CURRENT_PAYEES, {"rows": json_rows(list(latest.values()))})

    async def current(self, household_id: uuid.UUID) -> Payee | None:
        return await self.session.scalar(
            select(Payee)
            .join(CurrentPayee, CurrentPayee.payee_id == Payee.id)
            .where(CurrentPayee.household_id == household_id)
        )
