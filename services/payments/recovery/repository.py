"""Every recovery query of payments: batches not yet at the bank that follow a decision, and overpayments (多发)
kept equal to what the bank holds beyond what is owed, set-based."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.balances.repository import PAID_ELSEWHERE_MONTHS
from services.payments.models import Overpayment
from services.payments.recovery.schemas import OverpaymentQuery
from shared.pagination import Keyset, Rows, keyset_page

# The overpayments' order (shared/pagination.py): as recorded, by id; the primary key serves a region's pages, and
# ix_overpayments_household_id (migration 0016) one household's.
OVERPAYMENTS = Keyset("overpayments", (Overpayment.id,))

_NOT_EXPORTED = "('building', 'built', 'approved')"
_PERSONS = (
    "unnest(CAST(:hs AS uuid[]), CAST(:ps AS text[]), CAST(:ms AS uuid[])) AS s(household_id, programme, member_id)"
)


def _person_params(persons: list[tuple[uuid.UUID, str, uuid.UUID]]) -> dict[str, Any]:
    return {"hs": [h for h, _, _ in persons], "ps": [p for _, p, _ in persons], "ms": [m for _, _, m in persons]}


# Fen a deduction holds while its line holds money (pending or paid).
_LIVE_DEDUCTIONS = """
SELECT d.overpayment_id, d.household_id, d.programme, d.member_id, d.region_code, d.period, d.amount_fen
FROM payments.deductions d JOIN payments.payment_lines dl ON dl.id = d.line_id
WHERE dl.status IN ('pending', 'paid')
"""

# 扣回 kept true: an open overpayment whose live deductions cover it closes `recovered`; a `recovered` one whose
# deduction came back (its line failed, was cancelled or reversed) opens again for what is left.
_SETTLE = f"""
UPDATE payments.overpayments p
SET status = CASE WHEN x.left_fen <= 0 THEN 'closed' ELSE 'open' END,
    closed_reason = CASE WHEN x.left_fen <= 0 THEN 'recovered' END,
    closed_by = CASE WHEN x.left_fen <= 0 THEN 'payments' END,
    closed_at = CASE WHEN x.left_fen <= 0 THEN now() END
FROM (SELECT o.id, o.amount_fen - coalesce(sum(d.amount_fen), 0) AS left_fen
      FROM payments.overpayments o
      LEFT JOIN ({_LIVE_DEDUCTIONS}) d ON d.overpayment_id = o.id
      WHERE (o.status = 'open' OR o.closed_reason = 'recovered') AND {{scope}}
        AND EXISTS (SELECT 1 FROM payments.deductions e WHERE e.overpayment_id = o.id)
      GROUP BY o.id, o.amount_fen) x
WHERE p.id = x.id AND ((p.status = 'open' AND x.left_fen <= 0) OR (p.closed_reason = 'recovered' AND x.left_fen > 0))
RETURNING p.id, p.beneficiary_id, p.household_id, p.region_code, p.period, p.status, x.left_fen AS amount_fen
"""


async def settle(session: AsyncSession, scope: str, params: dict[str, Any]) -> list[Any]:
    """Overpayments of the scope (`scope` names the overpayments as `o`) closed or opened again by their deductions."""
    return list(await session.execute(text(_SETTLE.format(scope=scope)), params))


# An open overpayment partly deducted that is repaid or waived is split first: the deducted part becomes an
# overpayment closed `recovered` holding those deductions, and the repayment or waiver is of what is left.
_SPLIT = """
WITH live AS (
    SELECT d.id, d.amount_fen FROM payments.deductions d JOIN payments.payment_lines dl ON dl.id = d.line_id
    WHERE d.overpayment_id = :id AND dl.status IN ('pending', 'paid')
), part AS (
    INSERT INTO payments.overpayments (beneficiary_id, case_id, household_id, programme, member_id, region_code,
                                       period, paid_fen, owed_fen, amount_fen, reason, status, closed_reason,
                                       closed_by, closed_at, recorded_at)
    SELECT o.beneficiary_id, o.case_id, o.household_id, o.programme, o.member_id, o.region_code, o.period,
           o.paid_fen, o.owed_fen, t.fen, o.reason, 'closed', 'recovered', 'payments', now(), o.recorded_at
    FROM payments.overpayments o, (SELECT sum(amount_fen) AS fen FROM live) t
    WHERE o.id = :id AND t.fen > 0 AND t.fen < o.amount_fen
    RETURNING id, amount_fen
), moved AS (
    UPDATE payments.deductions d SET overpayment_id = part.id FROM part WHERE d.id IN (SELECT id FROM live)
)
UPDATE payments.overpayments o SET amount_fen = o.amount_fen - part.amount_fen FROM part WHERE o.id = :id
"""

# Per person and month of the scope with money sent (lines of exported batches, pending or paid, and the months the
# old system paid, `PAID_ELSEWHERE_MONTHS` as the balance counts them, less what was repaid): the overpayment is
# max(sent − owed − waived, 0). Open rows (and those awaiting a waiver) are kept summing to it: a lower amount adds a
# row for the difference, and when a later decision (or a 退汇) brings it down, they close (`restored`) and one row
# for what is still over is opened.
_RECORD = """
WITH sent AS (
    SELECT s.household_id, s.programme, s.member_id, s.period, sum(s.fen) AS fen,
           (array_agg(s.case_id ORDER BY s.rank DESC))[1] AS case_id,
           (array_agg(s.region_code ORDER BY s.rank DESC))[1] AS region_code
    FROM (SELECT l.household_id, l.programme, l.member_id, l.period, l.amount_fen + l.deducted_fen AS fen,
                 l.case_id, l.region_code, l.id AS rank
          FROM payments.payment_lines l JOIN payments.batches bt ON bt.id = l.batch_id
          WHERE l.kind <> 'one_off' AND l.status IN ('pending', 'paid') AND bt.status IN ('exported', 'reconciled')
            AND l.{scope}
          UNION ALL  -- paid as surely as a line the bank holds; a line's case and region (later) come first
          SELECT e.household_id, e.programme, e.member_id, e.period, e.fen, e.case_id, e.region_code, 0
          FROM ({elsewhere}) e) s
    GROUP BY s.household_id, s.programme, s.member_id, s.period
), deducted AS (  -- 扣回: recovered by a later line that holds money, given back for the month like a repayment
    SELECT d.household_id, d.programme, d.member_id, d.period, sum(d.amount_fen) AS fen
    FROM ({live}) d WHERE d.{scope}
    GROUP BY d.household_id, d.programme, d.member_id, d.period
), recorded AS (
    SELECT o.household_id, o.programme, o.member_id, o.period,
           coalesce(sum(o.amount_fen - coalesce(dl.fen, 0)) FILTER (WHERE o.status <> 'closed'), 0) AS fen,
           coalesce(sum(o.amount_fen) FILTER (WHERE o.closed_reason = 'repaid'), 0) AS repaid,
           coalesce(sum(o.amount_fen) FILTER (WHERE o.closed_reason = 'waived'), 0) AS waived,
           (array_agg(o.case_id))[1] AS case_id, (array_agg(o.region_code))[1] AS region_code
    FROM payments.overpayments o
    LEFT JOIN (SELECT overpayment_id, sum(amount_fen) AS fen FROM ({live}) d WHERE d.{scope}
               GROUP BY overpayment_id) dl ON dl.overpayment_id = o.id
    WHERE (o.status <> 'closed' OR o.closed_reason IN ('repaid', 'waived')) AND o.{scope}
    GROUP BY o.household_id, o.programme, o.member_id, o.period
), target AS (
    SELECT coalesce(s.household_id, r.household_id) AS household_id, coalesce(s.programme, r.programme) AS programme,
           coalesce(s.member_id, r.member_id) AS member_id, coalesce(s.period, r.period) AS period,
           coalesce(s.case_id, r.case_id) AS case_id, coalesce(s.region_code, r.region_code) AS region_code,
           coalesce(s.fen, 0) - coalesce(r.repaid, 0) - coalesce(dd.fen, 0) AS sent,
           coalesce(o.amount_fen, 0) AS owed, o.amount_fen IS NULL AS after_end,
           greatest(coalesce(s.fen, 0) - coalesce(r.repaid, 0) - coalesce(dd.fen, 0) - coalesce(o.amount_fen, 0)
                    - coalesce(r.waived, 0), 0) AS over,
           coalesce(r.fen, 0) AS open
    FROM sent s
    FULL JOIN recorded r ON r.household_id = s.household_id AND r.programme = s.programme
                        AND r.member_id = s.member_id AND r.period = s.period
    LEFT JOIN deducted dd ON dd.household_id = coalesce(s.household_id, r.household_id)
         AND dd.programme = coalesce(s.programme, r.programme) AND dd.member_id = coalesce(s.member_id, r.member_id)
         AND dd.period = coalesce(s.period, r.period)
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

    async def record_for_households(self, household_ids: list[uuid.UUID]) -> tuple[list[Any], list[Any]]:
        """(overpayments settled by their deductions, overpayments recorded) of these households."""
        return await self._record("household_id = ANY(:hs)", {"hs": household_ids})

    async def record_in_region(self, region_prefix: str) -> tuple[list[Any], list[Any]]:
        return await self._record("region_code LIKE :prefix", {"prefix": region_prefix + "%"})

    async def _record(self, scope: str, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        """`scope` names a row's column unqualified (each table of `_RECORD` prefixes it)."""
        settled = await settle(self.session, "o." + scope, params)
        elsewhere = PAID_ELSEWHERE_MONTHS.format(first="e.from_month", last="e.through_month", scope="e." + scope)
        sql = _RECORD.format(scope=scope, live=_LIVE_DEDUCTIONS, elsewhere=elsewhere)
        return settled, list(await self.session.execute(text(sql), params))

    async def settle_batch(self, batch_id: uuid.UUID) -> list[Any]:
        """Overpayments deducted by the batch's lines, settled again (after its lines were cancelled)."""
        scope = (
            "o.id IN (SELECT d.overpayment_id FROM payments.deductions d JOIN payments.payment_lines l "
            "ON l.id = d.line_id WHERE l.batch_id = :batch)"
        )
        return await settle(self.session, scope, {"batch": batch_id})

    async def split_deducted(self, overpayment_id: int) -> None:
        await self.session.execute(text(_SPLIT), {"id": overpayment_id})

    async def page(self, region_prefix: str, q: OverpaymentQuery) -> Rows[Overpayment]:
        query = select(Overpayment).where(Overpayment.region_code.startswith(region_prefix, autoescape=True))
        if q.household_id:
            query = query.where(Overpayment.household_id == q.household_id)
        if q.programme:
            query = query.where(Overpayment.programme == q.programme)
        if q.status:
            query = query.where(Overpayment.status == q.status)
        return await keyset_page(self.session, query, OVERPAYMENTS, q)

    async def get(self, overpayment_id: int, *, for_update: bool = False) -> Overpayment | None:
        query = select(Overpayment).where(Overpayment.id == overpayment_id).execution_options(populate_existing=True)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def save(self, overpayment_id: int, **values: Any) -> None:
        await self.session.execute(update(Overpayment).where(Overpayment.id == overpayment_id).values(**values))
