"""Every recovery query of payments: batches not yet at the bank that follow a decision, and overpayments (多发)
kept equal to what the bank holds beyond what is owed, set-based."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.models import Overpayment

_NOT_EXPORTED = "('building', 'built', 'approved')"
_PERSONS = (
    "unnest(CAST(:hs AS uuid[]), CAST(:ps AS text[]), CAST(:ms AS uuid[])) AS s(household_id, programme, member_id)"
)


def _person_params(persons: list[tuple[uuid.UUID, str, uuid.UUID]]) -> dict[str, Any]:
    return {"hs": [h for h, _, _ in persons], "ps": [p for _, p, _ in persons], "ms": [m for _, _, m in persons]}


# Per person and month of the scope with money sent (lines of exported batches, pending or paid, less what was repaid):
# the overpayment is max(sent − owed − waived, 0). Open rows (and those awaiting a waiver) are kept summing to it: a
# lower amount adds a row for the difference, and when a later decision (or a 退汇) brings it down, they close
# (`restored`) and one row for what is still over is opened.
_RECORD = """
WITH sent AS (
    SELECT l.household_id, l.programme, l.member_id, l.period, sum(l.amount_fen) AS fen,
           (array_agg(l.case_id ORDER BY l.id DESC))[1] AS case_id,
           (array_agg(l.region_code ORDER BY l.id DESC))[1] AS region_code
    FROM payments.payment_lines l JOIN payments.batches bt ON bt.id = l.batch_id
    WHERE l.kind <> 'one_off' AND l.status IN ('pending', 'paid') AND bt.status IN ('exported', 'reconciled')
      AND l.{scope}
    GROUP BY l.household_id, l.programme, l.member_id, l.period
), recorded AS (
    SELECT household_id, programme, member_id, period,
           coalesce(sum(amount_fen) FILTER (WHERE status <> 'closed'), 0) AS fen,
           coalesce(sum(amount_fen) FILTER (WHERE closed_reason = 'repaid'), 0) AS repaid,
           coalesce(sum(amount_fen) FILTER (WHERE closed_reason = 'waived'), 0) AS waived,
           (array_agg(case_id))[1] AS case_id, (array_agg(region_code))[1] AS region_code
    FROM payments.overpayments o WHERE (o.status <> 'closed' OR o.closed_reason IN ('repaid', 'waived')) AND o.{scope}
    GROUP BY household_id, programme, member_id, period
), target AS (
    SELECT coalesce(s.household_id, r.household_id) AS household_id, coalesce(s.programme, r.programme) AS programme,
           coalesce(s.member_id, r.member_id) AS member_id, coalesce(s.period, r.period) AS period,
           coalesce(s.case_id, r.case_id) AS case_id, coalesce(s.region_code, r.region_code) AS region_code,
           coalesce(s.fen, 0) - coalesce(r.repaid, 0) AS sent, coalesce(o.amount_fen, 0) AS owed,
           o.amount_fen IS NULL AS after_end,
           greatest(coalesce(s.fen, 0) - coalesce(r.repaid, 0) - coalesce(o.amount_fen, 0) - coalesce(r.waived, 0), 0)
               AS over,
           coalesce(r.fen, 0) AS open
    FROM sent s
    FULL JOIN recorded r ON r.household_id = s.household_id AND r.programme = s.programme
                        AND r.member_id = s.member_id AND r.period = s.period
    LEFT JOIN payments.owed o ON o.household_id = coalesce(s.household_id, r.household_id)
         AND o.programme = coalesce(s.programme, r.programme) AND o.member_id = coalesce(s.member_id, r.member_id)
         AND o.superseded_by IS NULL AND o.from_month <= coalesce(s.period, r.period)
         AND (o.to_month IS NULL OR o.to_month >= coalesce(s.period, r.period))
), closed AS (
    UPDATE payments.overpayments p SET status = 'closed', closed_reason = 'restored', closed_at = now()
    FROM target t
    WHERE t.over < t.open AND p.status <> 'closed' AND p.household_id = t.household_id AND p.programme = t.programme
      AND p.member_id = t.member_id AND p.period = t.period
    RETURNING p.id
)
INSERT INTO payments.overpayments (beneficiary_id, case_id, household_id, programme, member_id, region_code, period,
                                   paid_fen, owed_fen, amount_fen, reason)
SELECT (SELECT b.id FROM payments.beneficiaries b WHERE b.case_id = t.case_id), t.case_id, t.household_id,
       t.programme, t.member_id, t.region_code, t.period, t.sent, t.owed,
       CASE WHEN t.over < t.open THEN t.over ELSE t.over - t.open END,
       CASE WHEN t.after_end THEN 'after_end' ELSE 'reduced' END
FROM target t
WHERE t.over > t.open OR (t.over < t.open AND t.over > 0)
RETURNING beneficiary_id, household_id, region_code, period, amount_fen, reason
"""


class RecoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def batches_holding(self, persons: list[tuple[uuid.UUID, str, uuid.UUID]]) -> list[uuid.UUID]:
        """Batches not yet exported that hold lines of these persons, locked (an export waits, so no line changes
        under a bank file), in the order their money is counted: oldest month first."""
        rows = await self.session.execute(
            text(
                f"SELECT id FROM payments.batches WHERE status IN {_NOT_EXPORTED} AND id IN ("
                f"SELECT l.batch_id FROM payments.payment_lines l JOIN {_PERSONS} ON l.household_id = s.household_id "
                "AND l.programme = s.programme AND l.member_id = s.member_id WHERE l.status IN ('pending', 'failed')) "
                "ORDER BY period, created_at, id FOR UPDATE"
            ),
            _person_params(persons),
        )
        return [r[0] for r in rows]

    async def cancel_lines_of(
        self, batch_id: uuid.UUID, persons: list[tuple[uuid.UUID, str, uuid.UUID]], why: str
    ) -> list[Any]:
        """Cancels the batch's lines of these persons (to be computed again): (household_id, amount_fen) of each."""
        return list(
            await self.session.execute(
                text(
                    f"UPDATE payments.payment_lines l SET status = 'cancelled', reason = :why FROM {_PERSONS} "
                    "WHERE l.batch_id = :batch AND l.household_id = s.household_id AND l.programme = s.programme "
                    "AND l.member_id = s.member_id AND l.status IN ('pending', 'failed') "
                    "RETURNING l.household_id, l.payment_id, l.amount_fen"
                ),
                {**_person_params(persons), "why": why, "batch": batch_id},
            )
        )

    async def remade(self, batch_id: uuid.UUID, payment_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, int]]:
        """(payment id, fen) of the batch's live lines among these ids: the lines computed again unchanged."""
        rows = await self.session.execute(
            text(
                "SELECT payment_id, amount_fen FROM payments.payment_lines WHERE batch_id = :batch "
                "AND payment_id = ANY(CAST(:ids AS uuid[])) AND status IN ('pending', 'failed')"
            ),
            {"batch": batch_id, "ids": payment_ids},
        )
        return {(r.payment_id, r.amount_fen) for r in rows}

    async def record_for_households(self, household_ids: list[uuid.UUID]) -> list[Any]:
        return list(
            await self.session.execute(text(_RECORD.format(scope="household_id = ANY(:hs)")), {"hs": household_ids})
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

    async def get(self, overpayment_id: int, *, for_update: bool = False) -> Overpayment | None:
        query = select(Overpayment).where(Overpayment.id == overpayment_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def save(self, overpayment_id: int, **values: Any) -> None:
        await self.session.execute(update(Overpayment).where(Overpayment.id == overpayment_id).values(**values))
