"""What holds money per person and month: the same terms the balance of `_BALANCE` subtracts from what is owed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.balances.schemas import HeldIn

# 已由原系统发放, one row per person and month (`period`) the old system paid before the roll was imported, holding the
# file's amount (`fen`) as that month's regular payment. The one definition of what those months hold, for the balance
# (`_BALANCE`), what holds money (`_HELD`) and what was paid beyond what is owed (`_RECORD`, the overpayments): a month
# the old system paid is paid for each alike. `{first}` and `{last}` bound the months a query reads (SQL expressions:
# the months are generated, never stored), `{scope}` picks the rows of `e`.
PAID_ELSEWHERE_MONTHS = """SELECT e.household_id, e.programme, e.member_id, e.region_code, e.case_id,
       CAST(pm AS date) AS period, e.amount_fen AS fen
FROM payments.paid_elsewhere e
CROSS JOIN LATERAL generate_series(CAST(greatest(e.from_month, {first}) AS timestamp),
                                   CAST(least(e.through_month, {last}) AS timestamp), interval '1 month') pm
WHERE {scope}"""

_HELD_ELSEWHERE = PAID_ELSEWHERE_MONTHS.format(
    first=":first",
    last=":last",
    scope="(e.household_id, e.programme, e.member_id) IN (SELECT * FROM who) AND e.region_code LIKE :prefix "
    "AND e.from_month <= :last AND e.through_month >= :first",
)
_HELD = f"""
WITH who AS (
    SELECT * FROM unnest(CAST(:hs AS uuid[]), CAST(:ps AS text[]), CAST(:ms AS uuid[]))
        AS w(household_id, programme, member_id)
)
SELECT m.household_id, m.programme, m.member_id, m.period, sum(m.fen) AS held_fen
FROM (
    SELECT l.household_id, l.programme, l.member_id, l.period, l.amount_fen + l.deducted_fen AS fen
    FROM payments.payment_lines l JOIN who USING (household_id, programme, member_id)
    WHERE l.status IN ('pending', 'paid') AND l.kind <> 'one_off' AND l.region_code LIKE :prefix
      AND l.period BETWEEN :first AND :last
    UNION ALL  -- money paid back (退回) is money not paid
    SELECT o.household_id, o.programme, o.member_id, o.period, -o.amount_fen
    FROM payments.overpayments o JOIN who USING (household_id, programme, member_id)
    WHERE o.closed_reason = 'repaid' AND o.region_code LIKE :prefix AND o.period BETWEEN :first AND :last
    UNION ALL  -- and so is money recovered by deduction (扣回) by a later line that holds money
    SELECT d.household_id, d.programme, d.member_id, d.period, -d.amount_fen
    FROM payments.deductions d JOIN who USING (household_id, programme, member_id)
    WHERE d.region_code LIKE :prefix AND d.period BETWEEN :first AND :last
      AND EXISTS (SELECT 1 FROM payments.payment_lines dl WHERE dl.id = d.line_id AND dl.status IN ('pending', 'paid'))
    UNION ALL  -- months the old system paid before the roll was imported (已由原系统发放), as the batch counts them
    SELECT e.household_id, e.programme, e.member_id, e.period, e.fen FROM ({_HELD_ELSEWHERE}) e
) m
GROUP BY m.household_id, m.programme, m.member_id, m.period
ORDER BY m.household_id, m.programme, m.member_id, m.period
"""


async def held(session: AsyncSession, region_prefix: str, q: HeldIn) -> list[Any]:
    return list(
        await session.execute(
            text(_HELD),
            {
                "hs": [p.household_id for p in q.persons],
                "ps": [p.programme for p in q.persons],
                "ms": [p.member_id for p in q.persons],
                "prefix": region_prefix + "%",
                "first": q.from_month.first_day,
                "last": q.through.first_day,
            },
        )
    )
