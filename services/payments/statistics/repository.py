"""The statistics queries: everything counted from payment lines and the roll, so the figures add up with batches."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ARRAY, ScalarSelect, Select, Uuid, any_, cast, exists, func, or_, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import HOUSEHOLD, Beneficiary, CurrentPayee, Entitlement, Payee
from services.payments.statistics.schemas import ChangeQuery
from shared.core.period import Period
from shared.events.catalogue import PERSON_LEVEL
from shared.pagination import TOTAL_CAP, Keyset, Rows

# A household's persons: a person-level programme's lines are one person each (its member; a line of before
# schedules names none: its case's person), a household programme's line counts them (the largest in range).
_PERSON = f"CASE WHEN member_id = '{HOUSEHOLD}' THEN case_id ELSE member_id END"
_PERSONS = (
    f"CASE WHEN programme IN ({', '.join(repr(p) for p in PERSON_LEVEL)}) "
    f"THEN count(DISTINCT {_PERSON}) ELSE max(persons) END"
)
# Live lines (paid, or with the bank) of the months in range; failed and cancelled lines are money not paid.
_PAID = """
WITH lines AS (
    SELECT programme, household_id, case_id, member_id, persons, amount_fen, status, kind
    FROM payments.payment_lines
    WHERE region_code LIKE :prefix AND period BETWEEN :first AND :last AND status IN ('pending', 'paid')
), per_household AS (
    SELECT programme, household_id, {persons} AS persons FROM lines WHERE kind <> 'one_off'
    GROUP BY programme, household_id
)
SELECT l.programme,
       (SELECT count(*) FROM per_household h WHERE h.programme = l.programme) AS households,
       (SELECT coalesce(sum(persons), 0) FROM per_household h WHERE h.programme = l.programme) AS persons,
       sum(l.amount_fen) AS issued_fen,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.status = 'paid'), 0) AS paid_fen,
       count(*) FILTER (WHERE l.kind = 'one_off') AS one_off_households,
       coalesce(sum(l.persons) FILTER (WHERE l.kind = 'one_off'), 0) AS one_off_persons,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.kind = 'one_off'), 0) AS one_off_fen,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.kind = 'supplement'), 0) AS supplement_fen,
       coalesce(sum(l.amount_fen) FILTER (WHERE l.kind IN ('arrears', 'reissue')), 0) AS arrears_fen
FROM lines l GROUP BY l.programme ORDER BY l.programme
""".replace("{persons}", _PERSONS)

_PAID_FIGURES = (
    "households",
    "persons",
    "issued_fen",
    "paid_fen",
    "one_off_households",
    "one_off_persons",
    "one_off_fen",
    "supplement_fen",
    "arrears_fen",
)

# 特困 集中 vs 分散供养: the same live lines, by the arrangement the approval carried (unknown when it did not).
_TEKUN = """
WITH lines AS (
    SELECT l.household_id, l.case_id, l.member_id, l.amount_fen, coalesce(b.tekun_arrangement, 'unknown') AS arrangement
    FROM payments.payment_lines l JOIN payments.beneficiaries b ON b.id = l.beneficiary_id
    WHERE l.programme = 'tekun' AND l.region_code LIKE :prefix AND l.period BETWEEN :first AND :last
      AND l.status IN ('pending', 'paid')
), per_household AS (
    SELECT arrangement, household_id, count(DISTINCT {person}) AS persons FROM lines GROUP BY arrangement, household_id
)
SELECT l.arrangement,
       (SELECT count(*) FROM per_household h WHERE h.arrangement = l.arrangement) AS households,
       (SELECT coalesce(sum(persons), 0) FROM per_household h WHERE h.arrangement = l.arrangement) AS persons,
       sum(l.amount_fen) AS money_fen
FROM lines l GROUP BY l.arrangement ORDER BY l.arrangement
""".replace("{person}", _PERSON)

_MOVEMENTS = """
SELECT b.programme,
       count(*) FILTER (WHERE b.start_month BETWEEN :first AND :last) AS new,
       count(*) FILTER (WHERE b.end_month BETWEEN :first AND :last) AS stopped,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM payments.entitlements e WHERE e.beneficiary_id = b.id
                        AND e.event_type = 'amount_changed' AND e.superseded_by IS NULL
                        AND e.from_month BETWEEN :first AND :last)) AS changed
FROM payments.beneficiaries b
WHERE b.region_code LIKE :prefix
GROUP BY b.programme
"""


# Programmes that pay no cash by right (低保边缘): their households and persons are those on the roll in the months.
NO_CASH = ("marginal",)
_ON_ROLL = f"""
SELECT programme, count(*) AS households, coalesce(sum(persons), 0) AS persons
FROM payments.beneficiaries
WHERE region_code LIKE :prefix AND programme IN ({", ".join(repr(p) for p in NO_CASH)})
  AND start_month <= :last AND (end_month IS NULL OR end_month >= :first)
GROUP BY programme
"""


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def figures(self, region: str, first: date, last: date) -> tuple[list[Any], dict[str, Any], list[Any]]:
        """(money and counts per programme from the live lines — a no-cash programme's counts from the roll —,
        movements per programme, 特困 by arrangement)."""
        params = {"prefix": region + "%", "first": first, "last": last}
        paid = [dict(r) for r in (await self.session.execute(text(_PAID), params)).mappings()]
        for r in (await self.session.execute(text(_ON_ROLL), params)).mappings():
            row = next((p for p in paid if p["programme"] == r["programme"]), None)
            if row is None:
                paid.append(row := dict.fromkeys(_PAID_FIGURES, 0) | {"programme": r["programme"]})
            row.update(households=r["households"], persons=r["persons"])
        moves = {r["programme"]: r for r in (await self.session.execute(text(_MOVEMENTS), params)).mappings()}
        tekun = (await self.session.execute(text(_TEKUN), params)).mappings().all()
        return paid, moves, list(tekun)

    async def changes(self, region_prefix: str, month: Period, q: ChangeQuery) -> Rows[Any]:
        """The beneficiaries that joined, stopped or changed amount in `month` (the same tests as `_MOVEMENTS`), a
        page at a time by id: each with what it was owed the month before and this month, and its current payee's
        sealed account (the holder's name is opened by the service).

        A page is read from the month's changes, never from the roll: each kind of change is a range of its own
        index in id order after the cursor, cut to the page before the three are merged (as a batch's chunks are
        found), so a page costs the same at any depth of a province's month."""
        first = month.first_day
        after, total = CHANGES.decode(q.cursor) if q.cursor else ((None,), None)
        if q.cursor is None:
            counted = await self.session.scalar(
                select(func.count()).select_from(
                    select(_changed_ids(region_prefix, first, q.programme, None, None).subquery())
                    .limit(TOTAL_CAP + 1)
                    .subquery()
                )
            )
            total = counted if counted is not None and counted <= TOTAL_CAP else None
        ids = list(await self.session.scalars(_changed_ids(region_prefix, first, q.programme, after[0], q.limit + 1)))
        more, ids = len(ids) > q.limit, ids[: q.limit]
        # The month before as a day, not a Period: the first month a Period can hold has none before it.
        before = (first - timedelta(days=1)).replace(day=1)
        changed = exists().where(
            Entitlement.beneficiary_id == Beneficiary.id,
            Entitlement.event_type == "amount_changed",
            Entitlement.superseded_by.is_(None),
            Entitlement.from_month == first,
        )
        query = (
            select(
                Beneficiary,
                changed.label("changed"),
                _owed_in(before).label("before"),
                _owed_in(first).label("after"),
                Payee.key_id,
                Payee.sealed,
                Payee.changed_at,
            )
            .outerjoin(CurrentPayee, CurrentPayee.household_id == Beneficiary.household_id)
            .outerjoin(Payee, Payee.id == CurrentPayee.payee_id)
            .where(Beneficiary.id == any_(cast(ids, ARRAY(Uuid))))
            .order_by(Beneficiary.id)
        )
        rows = list((await self.session.execute(query)).all()) if ids else []
        return Rows(rows=rows, next=CHANGES.encode((ids[-1],), total) if more else None, total=total)


# A month's changes in id order (GET /statistics/changes): the cursor carries the last id.
CHANGES = Keyset("changes", (Beneficiary.id,))


def _changed_ids(
    region_prefix: str, first: date, programme: str | None, after: uuid.UUID | None, limit: int | None
) -> Select[Any]:
    """The ids of the beneficiaries of the region that joined, stopped or changed amount in the month starting
    `first`, after `after`, in id order: each kind from its own index ((start_month, id), (end_month, id),
    (from_month, beneficiary_id) of the amount changes), each cut to `limit` before the union."""
    in_region = [Beneficiary.region_code.startswith(region_prefix, autoescape=True)]
    if programme:
        in_region.append(Beneficiary.programme == programme)

    def branch(query: Select[Any], key: Any) -> Select[Any]:
        if after is not None:
            query = query.where(key > after)
        return query.order_by(key).limit(limit) if limit else query

    joined = branch(select(Beneficiary.id).where(Beneficiary.start_month == first, *in_region), Beneficiary.id)
    stopped = branch(select(Beneficiary.id).where(Beneficiary.end_month == first, *in_region), Beneficiary.id)
    changed = branch(
        select(Entitlement.beneficiary_id.label("id"))
        .join(Beneficiary, Beneficiary.id == Entitlement.beneficiary_id)
        .where(
            Entitlement.event_type == "amount_changed",
            Entitlement.superseded_by.is_(None),
            Entitlement.from_month == first,
            *in_region,
        ),
        Entitlement.beneficiary_id,
    )
    merged = union(joined, stopped, changed).subquery()
    query = select(merged.c.id).order_by(merged.c.id)
    return query.limit(limit) if limit else query


def _owed_in(month: date) -> ScalarSelect[Any]:
    """The monthly amount a beneficiary's history in force (rows not superseded) owes for `month`, if any."""
    return (
        select(Entitlement.monthly_amount_fen)
        .where(
            Entitlement.beneficiary_id == Beneficiary.id,
            Entitlement.superseded_by.is_(None),
            Entitlement.from_month <= month,
            or_(Entitlement.to_month.is_(None), Entitlement.to_month >= month),
            Beneficiary.start_month <= month,
            or_(Beneficiary.end_month.is_(None), Beneficiary.end_month >= month),
        )
        .order_by(Entitlement.from_month.desc(), Entitlement.id.desc())
        .limit(1)
        .scalar_subquery()
    )
