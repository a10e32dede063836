"""The statistics queries: everything counted from payment lines and the roll, so the figures add up with batches."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import HOUSEHOLD, Owed
from services.payments.statistics.schemas import ChangeQuery
from shared.core.period import Period
from shared.events.catalogue import PERSON_LEVEL
from shared.pagination import TOTAL_CAP, Keyset, Rows

# A household's persons: a person-level programme's lines are one person each (its member; a line of before
# schedules names none: its case's person), a household programme's line counts them (the largest in range).
_PERSON = f"CASE WHEN member_id = '{HOUSEHOLD}' THEN case_id ELSE member_id END"
_PERSON_LEVEL = ", ".join(repr(p) for p in PERSON_LEVEL)
_PERSONS = f"CASE WHEN programme IN ({_PERSON_LEVEL}) THEN count(DISTINCT {_PERSON}) ELSE max(persons) END"
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


def _month_changes(*, one_month: bool, programme: bool = False, after: bool = False) -> str:
    """The changes of the months `:first`…`:last` (or of the month `:first`), read from what is owed — the one record
    of what each person is owed each month, whatever the case's status (a 提标 on a 渐退 or a stopped case moves it
    too) —, per person as `owed` keys them: a household programme's household, a person-level programme's person.

    A person's change in month m is its row in force covering m that starts in m or ends in m (its rows never
    overlap, so the two branches never hold the same person and month twice): `before` is what it was owed in
    m − 1 (none: new), `continues` whether it is owed in m + 1 (not: stopped), and a change is an amount that
    moved. A row starting in m at the same amount (reviews that cancel out, a re-price before the first month) is
    no change. With `one_month` each branch is a range of its index in person order, after the cursor's person
    (`after`)."""
    where = "o.superseded_by IS NULL AND o.region_code LIKE :prefix"
    if programme:
        where += " AND o.programme = :programme"
    if after:
        where += " AND (o.household_id, o.programme, o.member_id) > (:household_id, :after_programme, :member_id)"

    def branch(edge: str, extra: str = "") -> str:
        month = f"o.{edge} = :first" if one_month else f"o.{edge} BETWEEN :first AND :last"
        return (
            f"SELECT o.household_id, o.programme, o.member_id, o.case_id, o.persons, o.amount_fen, o.from_month, "
            f"o.to_month, o.{edge} AS month FROM payments.owed o WHERE {month} AND {where}{extra}"
        )

    same = (
        "p.superseded_by IS NULL AND p.household_id = e.household_id AND p.programme = e.programme "
        "AND p.member_id = e.member_id"
    )
    return f"""
WITH edges AS (({branch("from_month")}) UNION ALL ({branch("to_month", " AND o.from_month < o.to_month")})),
months AS (
    SELECT e.*,
           CASE WHEN e.from_month < e.month THEN e.amount_fen
                ELSE (SELECT p.amount_fen FROM payments.owed p
                      WHERE {same} AND p.to_month = (e.month - interval '1 month')::date LIMIT 1) END AS before,
           CASE WHEN e.to_month IS NULL OR e.to_month > e.month THEN true
                ELSE EXISTS (SELECT 1 FROM payments.owed p
                             WHERE {same} AND p.from_month = (e.month + interval '1 month')::date) END AS continues
    FROM edges e
)
SELECT * FROM months WHERE before IS NULL OR NOT continues OR before <> amount_fen
"""


# The period's new / stopped / changed per programme: persons as the changes list has them (a household programme's
# households), each counted once whatever its months in the period.
_PERSON_KEY = "(household_id, member_id)"
_MOVEMENTS = f"""
SELECT programme,
       count(DISTINCT {_PERSON_KEY}) FILTER (WHERE before IS NULL) AS new,
       count(DISTINCT {_PERSON_KEY}) FILTER (WHERE NOT continues) AS stopped,
       count(DISTINCT {_PERSON_KEY}) FILTER (WHERE before <> amount_fen) AS changed
FROM ({_month_changes(one_month=False)}) c
GROUP BY programme
"""


# Programmes that pay no cash by right (低保边缘): their households and persons are those on the roll in the months.
NO_CASH = ("marginal",)
_NO_CASH_ON_ROLL = f"""
FROM payments.beneficiaries
WHERE region_code LIKE :prefix AND programme IN ({", ".join(repr(p) for p in NO_CASH)})
  AND start_month <= :last AND (end_month IS NULL OR end_month >= :first)
"""
_ON_ROLL = f"""
SELECT programme, count(*) AS households, coalesce(sum(persons), 0) AS persons {_NO_CASH_ON_ROLL}
GROUP BY programme
"""


# 合计 across programmes (the county view's totals): each household once, and its persons once — the 花名册's count
# (`batches/files.py`): a household's persons are its household programmes' (the largest count in range, 低保
# counting its members; a no-cash programme's from the roll, as `_ON_ROLL`) or, if more, the distinct persons its
# person-level programmes pay (`_PERSON`): a 低保 household with a member's disability subsidy is 1 户, its 低保
# persons; two members each with a programme of their own are 2 persons. One-off help is counted as 户次 / 人次, not
# here, as its rows count no household.
_TOTALS = f"""
WITH held AS (
    SELECT household_id,
           CASE WHEN programme IN ({_PERSON_LEVEL}) THEN NULL ELSE persons END AS persons,
           CASE WHEN programme IN ({_PERSON_LEVEL}) THEN {_PERSON} END AS person
    FROM payments.payment_lines
    WHERE region_code LIKE :prefix AND period BETWEEN :first AND :last AND status IN ('pending', 'paid')
      AND kind <> 'one_off'
    UNION ALL
    SELECT household_id, persons, NULL {_NO_CASH_ON_ROLL}
), per_household AS (
    SELECT household_id, greatest(coalesce(max(persons), 0), count(DISTINCT person)) AS persons
    FROM held GROUP BY household_id
)
SELECT count(*) AS households, coalesce(sum(persons), 0) AS persons FROM per_household
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

    async def totals(self, region: str, first: date, last: date) -> tuple[int, int]:
        """(households, persons) of the months across programmes, each counted once (`_TOTALS`)."""
        params = {"prefix": region + "%", "first": first, "last": last}
        row = (await self.session.execute(text(_TOTALS), params)).one()
        return int(row.households), int(row.persons)

    async def changes(self, region_prefix: str, month: Period, q: ChangeQuery) -> Rows[Any]:
        """The persons (a household programme's households) of the region that joined, stopped or changed amount in
        `month` (`_month_changes`), a page at a time in person order: each with what it was owed the month before and
        this month, the persons of this month, its beneficiary (the case owed this month) and its current payee's
        sealed account (the holder's name is opened by the service). A page is read from the month's rows of `owed`,
        never from the roll, so it costs the same at any depth of a province's month."""
        after, total = CHANGES.decode(q.cursor) if q.cursor else (None, None)
        params: dict[str, Any] = {"prefix": region_prefix + "%", "first": month.first_day, "limit": q.limit + 1}
        if q.programme:
            params["programme"] = q.programme
        if after:
            params.update(household_id=after[0], after_programme=after[1], member_id=after[2])
        found = _month_changes(one_month=True, programme=q.programme is not None, after=after is not None)
        if q.cursor is None:
            counted = await self.session.scalar(
                text(f"SELECT count(*) FROM (SELECT 1 FROM ({found}) c LIMIT {TOTAL_CAP + 1}) n"), params
            )
            total = counted if counted is not None and counted <= TOTAL_CAP else None
        page = f"""
SELECT c.*, b.id AS beneficiary_id, b.region_code, b.end_month, b.end_reason, p.key_id, p.sealed, p.changed_at
FROM ({found} ORDER BY household_id, programme, member_id LIMIT :limit) c
JOIN payments.beneficiaries b ON b.case_id = c.case_id
LEFT JOIN payments.current_payees cp ON cp.household_id = c.household_id
LEFT JOIN payments.payees p ON p.id = cp.payee_id
ORDER BY c.household_id, c.programme, c.member_id
"""
        rows = list((await self.session.execute(text(page), params)).mappings())
        more, rows = len(rows) > q.limit, rows[: q.limit]
        last = rows[-1] if rows else None
        key = (last["household_id"], last["programme"], last["member_id"]) if last else None
        return Rows(rows=rows, next=CHANGES.encode(key, total) if more and key else None, total=total)


# A month's changes in person order (GET /statistics/changes): the cursor carries the last person's key.
CHANGES = Keyset("changes", (Owed.household_id, Owed.programme, Owed.member_id))
