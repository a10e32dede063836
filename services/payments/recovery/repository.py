"""Every recovery query of payments: lines cancelled by a late stop, and overpayments recorded set-based."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import Overpayment
from shared.period import Period

_NOT_EXPORTED = "('building', 'built', 'approved')"
_LATE_STOP = "after the last month owed (停保 or death recorded after the batch was built)"
_STOPS = "unnest(CAST(:ids AS uuid[]), CAST(:lasts AS date[])) AS s(beneficiary_id, last_month)"


def _stop_params(stops: list[tuple[uuid.UUID, Period]]) -> dict[str, Any]:
    return {"ids": [b for b, _ in stops], "lasts": [last.first_day for _, last in stops]}


# For each month of the scope with money at the bank (live lines of exported batches): paid − owed now − already
# recorded, where positive. Owed is the entitlement in force for the month, 0 after the last month.
_RECORD = """
INSERT INTO payments.overpayments (beneficiary_id, case_id, household_id, programme, region_code, period, paid_fen,
                                   owed_fen, amount_fen, reason)
SELECT b.id, b.case_id, b.household_id, b.programme, b.region_code, m.period, m.paid,
       coalesce(e.monthly_amount_fen, 0), m.paid - coalesce(e.monthly_amount_fen, 0) - coalesce(o.recorded, 0),
       CASE WHEN e.monthly_amount_fen IS NULL THEN 'after_end' ELSE 'reduced' END
FROM (SELECT l.beneficiary_id, l.period, sum(l.amount_fen) AS paid
      FROM payments.payment_lines l JOIN payments.batches bt ON bt.id = l.batch_id
      WHERE l.kind IN ('regular', 'reissue', 'supplement') AND l.status NOT IN ('failed', 'cancelled')
        AND bt.status IN ('exported', 'reconciled') AND l.{scope}
      GROUP BY l.beneficiary_id, l.period) m
JOIN payments.beneficiaries b ON b.id = m.beneficiary_id
LEFT JOIN payments.entitlements e ON e.beneficiary_id = b.id AND e.superseded_by IS NULL
     AND e.from_month <= m.period AND (e.to_month IS NULL OR e.to_month >= m.period)
LEFT JOIN (SELECT beneficiary_id, period, sum(amount_fen) AS recorded FROM payments.overpayments o WHERE o.{scope}
           GROUP BY beneficiary_id, period) o ON o.beneficiary_id = m.beneficiary_id AND o.period = m.period
WHERE m.paid - coalesce(e.monthly_amount_fen, 0) - coalesce(o.recorded, 0) > 0
RETURNING beneficiary_id, household_id, region_code, period, amount_fen, reason
"""


class RecoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def batches_paying_after(self, stops: list[tuple[uuid.UUID, Period]]) -> list[uuid.UUID]:
        """Batches not yet exported holding live lines of the stopped beneficiaries for months after their last
        month, locked (an export waits, so no line is cancelled under a bank file)."""
        rows = await self.session.execute(
            text(
                f"SELECT id FROM payments.batches WHERE status IN {_NOT_EXPORTED} AND id IN ("
                f"SELECT l.batch_id FROM payments.payment_lines l JOIN {_STOPS} ON l.beneficiary_id = s.beneficiary_id "
                "AND l.period > s.last_month WHERE l.status IN ('pending', 'failed')) ORDER BY id FOR UPDATE"
            ),
            _stop_params(stops),
        )
        return [r[0] for r in rows]

    async def cancel_lines_after(self, stops: list[tuple[uuid.UUID, Period]], batch_ids: list[uuid.UUID]) -> list[Any]:
        """Cancels them: (batch_id, beneficiary_id, amount_fen) of each line cancelled."""
        return list(
            await self.session.execute(
                text(
                    f"UPDATE payments.payment_lines l SET status = 'cancelled', reason = :why FROM {_STOPS} "
                    "WHERE l.batch_id = ANY(:batches) AND l.beneficiary_id "
                    "= s.beneficiary_id AND l.period > s.last_month "
                    "AND l.status IN ('pending', 'failed') RETURNING l.batch_id, l.beneficiary_id, l.amount_fen"
                ),
                {**_stop_params(stops), "why": _LATE_STOP, "batches": batch_ids},
            )
        )

    async def record_for_beneficiaries(self, beneficiary_ids: list[uuid.UUID]) -> list[Any]:
        return list(
            await self.session.execute(text(_RECORD.format(scope="beneficiary_id = ANY(:bs)")), {"bs": beneficiary_ids})
        )

    async def record_in_region(self, region_prefix: str) -> list[Any]:
        return list(
            await self.session.execute(
                text(_RECORD.format(scope="region_code LIKE :prefix")), {"prefix": region_prefix + "%"}
            )
        )

    async def in_region(self, region_prefix: str, status: str | None, after: int, limit: int) -> list[Overpayment]:
        query = select(Overpayment).where(Overpayment.region_code.startswith(region_prefix), Overpayment.id > after)
        if status:
            query = query.where(Overpayment.status == status)
        return list(await self.session.scalars(query.order_by(Overpayment.id).limit(limit)))
