"""The statistics queries: everything counted from payment lines and the roll, so the figures add up with batches."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Live lines (paid, or with the bank) of the months in range; failed and cancelled lines are money not paid.
_PAID = """
WITH lines AS (
    SELECT programme, household_id, persons, amount_fen, status, kind
    FROM payments.payment_lines
    WHERE region_code LIKE :prefix AND period BETWEEN :first AND :last AND status IN ('pending', 'paid')
), per_household AS (
    SELECT programme, household_id, max(persons) AS persons FROM lines WHERE kind <> 'one_off'
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
"""

# 特困 集中 vs 分散供养: the same live lines, by the arrangement the approval carried (unknown when it did not).
_TEKUN = """
WITH lines AS (
    SELECT l.household_id, l.persons, l.amount_fen, coalesce(b.tekun_arrangement, 'unknown') AS arrangement
    FROM payments.payment_lines l JOIN payments.beneficiaries b ON b.id = l.beneficiary_id
    WHERE l.programme = 'tekun' AND l.region_code LIKE :prefix AND l.period BETWEEN :first AND :last
      AND l.status IN ('pending', 'paid')
), per_household AS (
    SELECT arrangement, household_id, max(persons) AS persons FROM lines GROUP BY arrangement, household_id
)
SELECT l.arrangement,
       (SELECT count(*) FROM per_household h WHERE h.arrangement = l.arrangement) AS households,
       (SELECT coalesce(sum(persons), 0) FROM per_household h WHERE h.arrangement = l.arrangement) AS persons,
       sum(l.amount_fen) AS money_fen
FROM lines l GROUP BY l.arrangement ORDER BY l.arrangement
"""

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


class StatisticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def figures(self, region: str, first: date, last: date) -> tuple[list[Any], dict[str, Any], list[Any]]:
        params = {"prefix": region + "%", "first": first, "last": last}
        paid = (await self.session.execute(text(_PAID), params)).mappings().all()
        moves = {r["programme"]: r for r in (await self.session.execute(text(_MOVEMENTS), params)).mappings()}
        tekun = (await self.session.execute(text(_TEKUN), params)).mappings().all()
        return list(paid), moves, list(tekun)
