"""Every batch query of payments. Lines are made by PostgreSQL (`INSERT … SELECT` over the roll), never row by row:
the deterministic payment id (UUIDv5) is computed in SQL with the same namespace and name as `payment_id()`, and the
partial unique indexes on `payment_lines` make a second live line for the same slot impossible (`ON CONFLICT DO
NOTHING` drops it)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.payments.balances.repository import PAID_ELSEWHERE_MONTHS
from services.payments.batches.domain import BatchKind, BatchStatus, DisbursementBatch, Settlement
from services.payments.batches.schemas import BatchQuery, LineQuery
from services.payments.models import HOUSEHOLD, Batch, Payee, PaymentLine
from services.payments.recovery.repository import settle
from shared.core.period import Period
from shared.pagination import Keyset, Rows, keyset_page

# The namespace of payment ids: uuid5(PAYMENT_NS, "<household>/<programme>/<member>/<YYYY-MM>/<kind>/<batch>") for a
# month's money, uuid5(PAYMENT_NS, "<case>/<programme>/-/one_off") for a one-off award (paid once, whatever the batch).
PAYMENT_NS = uuid.UUID("6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13")
# Serialises every computation of balances into lines (a build step, a batch following a decision): two of them
# running at once could each see the other's months as unpaid.
BALANCE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('payments.balance'))"


def payment_id(
    household_id: uuid.UUID, programme: str, member_id: uuid.UUID, period: Period, kind: str, batch_id: uuid.UUID
) -> uuid.UUID:
    """The id SQL computes for a month's line of a batch."""
    return uuid.uuid5(PAYMENT_NS, f"{household_id}/{programme}/{member_id}/{period}/{kind}/{batch_id}")


def one_off_payment_id(case_id: uuid.UUID, programme: str) -> uuid.UUID:
    return uuid.uuid5(PAYMENT_NS, f"{case_id}/{programme}/-/one_off")


_COLUMNS = (
    "payment_id, batch_id, kind, case_id, beneficiary_id, household_id, member_id, programme, region_code, period, "
    "amount_fen, persons, payee_id, status, reason, reissue_of"
)
_NO_ACCOUNT = "no bank account on file"

# 扣回 in the balance: a line's month holds what it sends and what it withheld (amount_fen + deducted_fen), and what a
# live deduction recovered for an overpaid month is, for that month, money given back (as a repayment is). Kept apart
# from the rest of `_BALANCE` so that a change to one does not touch the other.
_DEDUCTED = """UNION ALL  -- money recovered by deduction (扣回) by a later line that holds money
                     SELECT household_id, programme, member_id, period, -amount_fen, false
                     FROM payments.deductions d WHERE {line_scope} AND EXISTS (
                         SELECT 1 FROM payments.payment_lines dl
                         WHERE dl.id = d.line_id AND dl.status IN ('pending', 'paid'))"""

# The months owed nothing for which money came back to the county — a live deduction recovered it, or the person
# repaid (退回) an overpayment — whose overpayment went away (the line that overpaid was reversed by the bank, or a
# decision stopped the month): owed 0, so what was given back for them is the balance, paid back like any arrears.
# (Their other facts are the overpayment's and, for a deduction, the withholding line's; for a repayment, the month's
# largest line's. No reason: owed nothing, they are never 提标补发.)
_GIVEN_BACK = """UNION ALL
          SELECT g.household_id, g.programme, g.member_id, max(g.region_code),
                 (array_agg(g.case_id ORDER BY g.rank DESC))[1], (array_agg(g.persons ORDER BY g.rank DESC))[1],
                 0, g.period, NULL
          FROM (SELECT o.household_id, o.programme, o.member_id, o.region_code, op.case_id, dl.persons, o.period,
                       o.id AS rank
                FROM payments.deductions o
                JOIN payments.payment_lines dl ON dl.id = o.line_id AND dl.status IN ('pending', 'paid')
                JOIN payments.overpayments op ON op.id = o.overpayment_id
                WHERE o.period <= :upto AND o.region_code LIKE :prefix AND {owed_scope}
                UNION ALL
                SELECT o.household_id, o.programme, o.member_id, o.region_code, o.case_id,
                       coalesce((SELECT l.persons FROM payments.payment_lines l
                                 WHERE l.household_id = o.household_id AND l.programme = o.programme
                                   AND l.member_id = o.member_id AND l.period = o.period
                                 ORDER BY l.amount_fen DESC LIMIT 1), 1),
                       o.period, o.id
                FROM payments.overpayments o
                WHERE o.closed_reason = 'repaid' AND o.period <= :upto AND o.region_code LIKE :prefix
                  AND {owed_scope}) g
          WHERE NOT EXISTS (SELECT 1 FROM payments.owed w
                            WHERE w.household_id = g.household_id AND w.programme = g.programme
                              AND w.member_id = g.member_id AND w.superseded_by IS NULL AND w.amount_fen > 0
                              AND w.from_month <= g.period AND (w.to_month IS NULL OR w.to_month >= g.period))
          GROUP BY g.household_id, g.programme, g.member_id, g.period"""

# What a balance line is (its kind): one rule for every batch that pays balances (regular, 提标补发, 重发), and for a
# batch following a decision. A regular batch's own month is its `regular` line (unless a regular line already holds
# it). Any other month is 提标补发 (`supplement`) when money already holds it (paid, with the bank, pending, or paid
# by the old system: `s.fen` > 0) and what is owed for it now is a 提标's (the owed row's reason `standard_rise`): a
# rise on a month paid at the old amount. Otherwise it is the batch's past kind: 补发 (`arrears`: a month never paid,
# a late approval, a review's raise, a failed or reversed line), or `reissue` (重发) in a reissue batch. The amount is
# the balance whatever the label; the bank memo, the roster and the statistics read the label.
_KIND = """CASE WHEN :regular AND o.period = :period AND NOT coalesce(s.has_regular, false) THEN 'regular'
                WHEN o.reason = 'standard_rise' AND coalesce(s.fen, 0) > 0 THEN 'supplement'
                ELSE :past_kind END"""

# 应发 − 已付 − 在途 − 待发: for each person and month up to :upto, what is owed (the owed row in force) minus every
# line that holds money for it (paid, or pending in a batch exported or not), plus what was paid back, minus what the
# old system paid for it before the roll was imported (`paid_elsewhere`, as that month's regular payment). A failed,
# cancelled or reversed line holds nothing, so its month comes back by itself. The batch's own month is its `regular`
# line (unless a regular line already holds it); other months are labelled by `_KIND`.
# A regular batch leaves out the persons another live regular batch of the same month holds (one batch per person
# and month, whatever the region level).
_ELSEWHERE = PAID_ELSEWHERE_MONTHS.format(first="e.from_month", last=":upto", scope="{line_scope}")
_BALANCE = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT uuid_generate_v5(CAST(:ns AS uuid), w.household_id::text || '/' || w.programme || '/' || w.member_id::text
                        || '/' || to_char(w.period, 'YYYY-MM') || '/' || w.kind || '/'
                        || CAST(CAST(:batch_id AS uuid) AS text)),
       CAST(:batch_id AS uuid), w.kind, w.case_id, w.beneficiary_id, w.household_id, w.member_id, w.programme,
       w.region_code, w.period, w.balance, w.persons, w.payee_id,
       CASE WHEN w.payee_id IS NULL THEN 'failed' ELSE 'pending' END,
       CASE WHEN w.payee_id IS NULL THEN '{_NO_ACCOUNT}' END, NULL
FROM (
    -- Looked up per line by their unique keys (a chunk is a small part of the roll: never a scan of all of it).
    SELECT o.*, o.amount_fen - coalesce(s.fen, 0) AS balance,
           {_KIND} AS kind,
           (SELECT b.id FROM payments.beneficiaries b WHERE b.case_id = o.case_id) AS beneficiary_id,
           (SELECT cp.payee_id FROM payments.current_payees cp WHERE cp.household_id = o.household_id) AS payee_id
    FROM (SELECT o.household_id, o.programme, o.member_id, o.region_code, o.case_id, o.persons, o.amount_fen,
                 CAST(m AS date) AS period, o.reason
          FROM payments.owed o
          CROSS JOIN LATERAL generate_series(CAST(o.from_month AS timestamp),
                                             CAST(least(coalesce(o.to_month, :upto), :upto) AS timestamp),
                                             interval '1 month') m
          WHERE o.superseded_by IS NULL AND o.amount_fen > 0 AND o.from_month <= :upto
            AND o.region_code LIKE :prefix AND {{owed_scope}}
          {_GIVEN_BACK}) o
    LEFT JOIN (SELECT household_id, programme, member_id, period, sum(fen) AS fen, bool_or(regular) AS has_regular
               FROM (SELECT household_id, programme, member_id, period, amount_fen + deducted_fen AS fen,
                            kind = 'regular' AS regular
                     FROM payments.payment_lines
                     WHERE status IN ('pending', 'paid') AND kind <> 'one_off' AND {{line_scope}}
                     UNION ALL  -- money paid back (退回) is money not paid
                     SELECT household_id, programme, member_id, period, -amount_fen, false
                     FROM payments.overpayments WHERE closed_reason = 'repaid' AND {{line_scope}}
                     UNION ALL  -- months the old system paid before the roll was imported: its regular payment
                     SELECT household_id, programme, member_id, period, fen, true FROM ({_ELSEWHERE}) e
                     {_DEDUCTED}) m
               GROUP BY household_id, programme, member_id, period) s
           ON s.household_id = o.household_id AND s.programme = o.programme AND s.member_id = o.member_id
          AND s.period = o.period
    WHERE o.amount_fen > coalesce(s.fen, 0)
    OFFSET 0  -- each lookup once per line, not once per use
) w
WHERE NOT EXISTS (SELECT 1 FROM payments.payment_lines h
                  WHERE h.batch_id = ANY(CAST(:held_by AS uuid[])) AND h.household_id = w.household_id
                    AND h.programme = w.programme AND h.member_id = w.member_id AND h.status <> 'cancelled')
ON CONFLICT DO NOTHING
"""
# The next households of a region to balance, in id order: those owed something, and those owed nothing now that
# money came back from (a live deduction, a repayment: `_GIVEN_BACK` may owe them what they gave back). Each branch
# is cut to the chunk's size before the union, so the owed rows are read as one ordered slice of their index.
_NEXT_CHUNK = text("""
    SELECT household_id FROM (
        (SELECT DISTINCT household_id FROM payments.owed WHERE superseded_by IS NULL
         AND region_code LIKE :prefix AND household_id > :after ORDER BY household_id LIMIT :size)
        UNION
        (SELECT DISTINCT household_id FROM payments.overpayments WHERE closed_reason = 'repaid'
         AND region_code LIKE :prefix AND household_id > :after ORDER BY household_id LIMIT :size)
        UNION
        (SELECT DISTINCT household_id FROM payments.deductions
         WHERE region_code LIKE :prefix AND household_id > :after ORDER BY household_id LIMIT :size)
    ) h ORDER BY household_id LIMIT :size
""")
_CANDIDATES = text("""
    SELECT count(*) FROM (
        SELECT household_id FROM payments.owed WHERE superseded_by IS NULL AND region_code LIKE :prefix
        UNION
        SELECT household_id FROM payments.overpayments WHERE closed_reason = 'repaid' AND region_code LIKE :prefix
        UNION
        SELECT household_id FROM payments.deductions WHERE region_code LIKE :prefix
    ) h
""")
# A chunk is its households, scoped the way that reads least: a county's chunk is most of the households in its id
# range, so the range reads one ordered slice of each index; a village's households are spread over the whole id
# space (its range would reach every household of the province), so the list is looked up one by one
# (`BatchRepository.chunk_scope` chooses).
_CHUNK_RANGE = "{alias}household_id > :after AND {alias}household_id <= :last"
_CHUNK_LIST = "{alias}household_id = ANY(CAST(:hs AS uuid[]))"
_HOUSEHOLDS_LINES = _CHUNK_LIST.format(alias="")
_PERSONS = (
    "(o.household_id, o.programme, o.member_id) IN (SELECT * FROM unnest(CAST(:hs AS uuid[]), CAST(:ps AS text[]), "
    "CAST(:ms AS uuid[])))"
)

# 扣回: the lines a regular batch has just made for a scope withhold, to recover the same person's open
# overpayments, at most :percent % of each line (integer fen, rounded down: below 100 % a line never comes to
# nothing). Set-based: the overpayments' fen still to recover (amount − live deductions) and the lines' caps are laid
# end to end per person, oldest month first on both sides, and each overlap is one deduction: the line keeps
# amount − withheld (`deducted_fen` what it withheld), the deduction is recorded against its overpayment, and an
# overpayment fully deducted closes `recovered`. (Whether a deduction counts is its line's status, read where it is
# used: a line failed, cancelled or reversed gives it back; `RecoveryRepository.settle` reopens the overpayment.)
_DEDUCT = """
WITH op AS (
    SELECT o.id, o.household_id, o.programme, o.member_id, o.region_code, o.period,
           o.amount_fen - coalesce((SELECT sum(d.amount_fen) FROM payments.deductions d
                                    JOIN payments.payment_lines dl ON dl.id = d.line_id
                                    WHERE d.overpayment_id = o.id AND dl.status IN ('pending', 'paid')), 0) AS left_fen
    FROM payments.overpayments o
    WHERE o.status = 'open' AND {over_scope}
), opc AS (
    SELECT *, sum(left_fen) OVER w - left_fen AS start_fen FROM op WHERE left_fen > 0
    WINDOW w AS (PARTITION BY household_id, programme, member_id ORDER BY period, id)
), ln AS MATERIALIZED (  -- computed once: joined to each person's overpayments, never re-run per row
    SELECT l.id, l.household_id, l.programme, l.member_id, l.period,
           l.amount_fen * CAST(:percent AS bigint) / 100 AS cap
    -- From the persons with something to recover (usually few) to their lines (ix_payment_lines_household), never
    -- a scan of the batch's lines.
    FROM (SELECT DISTINCT household_id, programme, member_id FROM opc) p
    JOIN payments.payment_lines l ON l.household_id = p.household_id AND l.programme = p.programme
                                 AND l.member_id = p.member_id
    WHERE l.batch_id = :batch_id AND l.status = 'pending' AND l.kind <> 'one_off' AND l.deducted_fen = 0
      AND {line_scope}
), lnc AS MATERIALIZED (
    SELECT *, sum(cap) OVER w - cap AS start_fen FROM ln WHERE cap > 0
    WINDOW w AS (PARTITION BY household_id, programme, member_id ORDER BY period, id)
), alloc AS (
    SELECT lnc.id AS line_id, opc.id AS overpayment_id, opc.household_id, opc.programme, opc.member_id,
           opc.region_code, opc.period,
           least(lnc.start_fen + lnc.cap, opc.start_fen + opc.left_fen) - greatest(lnc.start_fen, opc.start_fen)
               AS fen
    FROM lnc JOIN opc ON opc.household_id = lnc.household_id AND opc.programme = lnc.programme
                     AND opc.member_id = lnc.member_id
                     AND lnc.start_fen < opc.start_fen + opc.left_fen AND opc.start_fen < lnc.start_fen + lnc.cap
), withheld AS (
    UPDATE payments.payment_lines l SET amount_fen = l.amount_fen - a.fen, deducted_fen = a.fen
    FROM (SELECT line_id, sum(fen) AS fen FROM alloc GROUP BY line_id) a
    WHERE l.id = a.line_id
    RETURNING l.id
), recorded AS (
    INSERT INTO payments.deductions (line_id, overpayment_id, household_id, programme, member_id, region_code,
                                     period, amount_fen)
    SELECT line_id, overpayment_id, household_id, programme, member_id, region_code, period, fen FROM alloc
    RETURNING id
)
UPDATE payments.overpayments o
SET status = 'closed', closed_reason = 'recovered', closed_by = 'payments', closed_at = now()
FROM (SELECT overpayment_id, sum(fen) AS fen FROM alloc GROUP BY overpayment_id) a
JOIN op ON op.id = a.overpayment_id
WHERE o.id = a.overpayment_id AND a.fen = op.left_fen
RETURNING o.id, o.beneficiary_id, o.household_id, o.region_code, o.period, a.fen AS amount_fen
"""
_PERSONS_OF = (
    "({alias}.household_id, {alias}.programme, {alias}.member_id) IN (SELECT * FROM unnest(CAST(:hs AS uuid[]), "
    "CAST(:ps AS text[]), CAST(:ms AS uuid[])))"
)

_ONE_OFF = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT uuid_generate_v5(CAST(:ns AS uuid), a.case_id::text || '/' || a.programme || '/-/one_off'),
       :batch_id, 'one_off', a.case_id, NULL, a.household_id, NULL, a.programme, a.region_code, :period,
       a.amount_fen, a.persons, cp.payee_id,
       CASE WHEN cp.payee_id IS NULL THEN 'failed' ELSE 'pending' END,
       CASE WHEN cp.payee_id IS NULL THEN '{_NO_ACCOUNT}' END, NULL
FROM payments.one_off_awards a
LEFT JOIN payments.current_payees cp ON cp.household_id = a.household_id
WHERE a.region_code LIKE :prefix AND a.approved_month <= :period AND a.amount_fen > 0 {{only_cases}}
  AND NOT EXISTS (SELECT 1 FROM payments.payment_lines l WHERE l.kind = 'one_off' AND l.case_id = a.case_id
                  AND l.status IN ('pending', 'paid'))
ON CONFLICT DO NOTHING
"""


# The batch's columns that hold its fields as they are; kind, period, status and case ids are converted.
_PLAIN = (
    "region_code",
    "created_by",
    "created_at",
    "approved_by",
    "approved_at",
    "cancelled_by",
    "exported_at",
    "reconciled_at",
    "progress_done",
    "progress_total",
    "line_count",
    "total_fen",
    "recovery_percent",
)


def _to_domain(row: Batch) -> DisbursementBatch:
    return DisbursementBatch(
        id=row.id,
        **{c: getattr(row, c) for c in _PLAIN},
        kind=BatchKind(row.kind),
        period=Period.of(row.period),
        status=BatchStatus(row.status),
        case_ids=[uuid.UUID(c) for c in row.case_ids] if row.case_ids is not None else None,
    )


def _values(b: DisbursementBatch) -> dict[str, Any]:
    return {
        **{c: getattr(b, c) for c in _PLAIN},
        "kind": b.kind.value,
        "period": b.period.first_day,
        "status": b.status.value,
        "case_ids": [str(c) for c in b.case_ids] if b.case_ids is not None else None,
    }


line = aliased(PaymentLine, name="line")
# The lists' orders (shared/pagination.py): batches newest first (ix_batches_created_at_id, migration
# 0004_list_indexes), a batch's lines by id (ix_payment_lines_batch).
BATCHES = Keyset("batches", (Batch.created_at, Batch.id), descending=True)
LINES = Keyset("batches/lines", (line.id,))


class Chunk(NamedTuple):
    """A step's share of a batch's region: its households in id order after the cursor `after`, and whether they
    are most of the households owed in their id range (`dense`: scoped by the range, else by the list)."""

    after: uuid.UUID
    households: list[uuid.UUID]
    dense: bool

    def scope(self, alias: str = "") -> str:
        return (_CHUNK_RANGE if self.dense else _CHUNK_LIST).format(alias=f"{alias}." if alias else "")

    @property
    def params(self) -> dict[str, Any]:
        return {"after": self.after, "last": self.households[-1], "hs": self.households}


class BatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_unless_regular_exists(self, batch: DisbursementBatch) -> DisbursementBatch | None:
        """Insert the batch; for a regular batch whose region and month already have a live one, insert nothing
        and return that one (a concurrent insert waits for the other transaction, then finds its row)."""
        stmt = pg_insert(Batch).values(id=batch.id, **_values(batch))
        if batch.kind is BatchKind.REGULAR:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["region_code", "period"], index_where=text("kind = 'regular' AND status <> 'cancelled'")
            )
        inserted = (await self.session.execute(stmt.returning(Batch.id))).scalar()
        if inserted is not None:
            return None
        existing = await self.session.scalar(
            select(Batch).where(
                Batch.kind == "regular",
                Batch.region_code == batch.region_code,
                Batch.period == batch.period.first_day,
                Batch.status != "cancelled",
            )
        )
        assert existing is not None
        return _to_domain(existing)

    async def get(
        self, batch_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> DisbursementBatch | None:
        query = select(Batch).where(Batch.id == batch_id).execution_options(populate_existing=True)
        if for_update:
            query = query.with_for_update(skip_locked=skip_locked)
        row = await self.session.scalar(query)
        return _to_domain(row) if row else None

    async def save(self, batch: DisbursementBatch) -> None:
        await self.session.execute(update(Batch).where(Batch.id == batch.id).values(**_values(batch)))

    async def save_progress(self, batch_id: uuid.UUID, done: int, total: int | None, cursor: uuid.UUID | None) -> None:
        await self.session.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(progress_done=done, progress_total=total, build_cursor=cursor)
        )

    async def build_cursor(self, batch_id: uuid.UUID) -> uuid.UUID | None:
        return await self.session.scalar(select(Batch.build_cursor).where(Batch.id == batch_id))

    async def building(self) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(select(Batch.id).where(Batch.status == "building").order_by(Batch.created_at))
        )

    async def page(self, region_prefix: str, q: BatchQuery, period: Period | None) -> Rows[DisbursementBatch]:
        query = select(Batch).where(Batch.region_code.startswith(region_prefix, autoescape=True))
        if period:
            query = query.where(Batch.period == period.first_day)
        if q.kind:
            query = query.where(Batch.kind == q.kind)
        if q.status:
            query = query.where(Batch.status == q.status.value)
        page = await keyset_page(self.session, query, BATCHES, q)
        return Rows([_to_domain(r) for r in page.rows], page.next, page.total)

    # --- building lines ------------------------------------------------------------------------------------------

    async def count_candidates(self, region: str) -> int:
        """The households `next_chunk` goes through in the region (the build's progress counts them)."""
        return int(await self.session.scalar(_CANDIDATES, {"prefix": region + "%"}))

    async def next_chunk(self, region: str, after: uuid.UUID | None, size: int) -> Chunk | None:
        """The next `size` households of the region owed something or with money given back (`_NEXT_CHUNK`), in id
        order (the last one is the cursor); None when there are no more."""
        after = after or uuid.UUID(int=0)
        households = list(
            await self.session.scalars(_NEXT_CHUNK, {"prefix": region + "%", "after": after, "size": size})
        )
        if not households:
            return None
        # Counted up to twice the chunk only: a few milliseconds at 50,000, whatever the size of the database.
        in_range = await self.session.scalar(
            text(
                "SELECT count(*) FROM (SELECT DISTINCT household_id FROM payments.owed WHERE superseded_by IS NULL "
                "AND household_id > :after AND household_id <= :last LIMIT :cap) r"
            ),
            {"after": after, "last": households[-1], "cap": 2 * len(households)},
        )
        return Chunk(after, households, dense=in_range < 2 * len(households))

    async def lock_balances(self) -> None:
        await self.session.execute(text(BALANCE_LOCK))

    async def plan_for_chunk(self) -> None:
        """Plan this transaction's statements for their own values and give them room. From a statement's sixth run
        PostgreSQL may reuse a generic plan, which cannot know a chunk's size (a village's thousand households or a
        county's fifty thousand) and searches a list of households linearly per row instead of hashing it. Its
        estimate of the months each owed row spans (`generate_series`: a thousand) made every chunk of a county
        look like millions of rows: JIT compilation took a second of each seven, and the chunk's paid months,
        sorted and aggregated in the default 4 MB, spilled to disk."""
        await self.session.execute(
            text(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true), "
                "set_config('work_mem', '64MB', true)"
            )
        )

    async def insert_balance_lines(self, batch: DisbursementBatch, chunk: Chunk) -> int:
        """The balance lines of a chunk of the region's households (`next_chunk`)."""
        sql = _BALANCE.format(owed_scope=chunk.scope("o"), line_scope=chunk.scope())
        params = {**await self._balance_params(batch), **chunk.params}
        return (await self.session.execute(text(sql), params)).rowcount

    async def insert_balance_lines_of(
        self, batch: DisbursementBatch, persons: list[tuple[uuid.UUID, str, uuid.UUID]]
    ) -> int:
        """The balance lines of these persons only (a batch following a decision about them)."""
        sql = _BALANCE.format(owed_scope=_PERSONS, line_scope=_HOUSEHOLDS_LINES)
        params = {
            **await self._balance_params(batch),
            "hs": [h for h, _, _ in persons],
            "ps": [p for _, p, _ in persons],
            "ms": [m for _, _, m in persons],
        }
        return (await self.session.execute(text(sql), params)).rowcount

    async def deduct(self, batch: DisbursementBatch, chunk: Chunk) -> list[Any]:
        """扣回 from the chunk's new lines of a regular batch; the overpayments it closed (`recovered`)."""
        await settle(self.session, chunk.scope("o"), chunk.params)
        sql = _DEDUCT.format(over_scope=chunk.scope("o"), line_scope=chunk.scope("l"))
        return list(await self.session.execute(text(sql), {**chunk.params, **self._deduct_params(batch)}))

    async def deduct_of(self, batch: DisbursementBatch, persons: list[tuple[uuid.UUID, str, uuid.UUID]]) -> list[Any]:
        """扣回 from these persons' new lines of a regular batch (a batch following a decision about them)."""
        who = {"hs": [h for h, _, _ in persons], "ps": [p for _, p, _ in persons], "ms": [m for _, _, m in persons]}
        await settle(self.session, _PERSONS_OF.format(alias="o"), who)
        sql = _DEDUCT.format(over_scope=_PERSONS_OF.format(alias="o"), line_scope=_PERSONS_OF.format(alias="l"))
        return list(await self.session.execute(text(sql), {**who, **self._deduct_params(batch)}))

    @staticmethod
    def _deduct_params(batch: DisbursementBatch) -> dict[str, Any]:
        return {"batch_id": batch.id, "percent": batch.recovery_percent}

    async def _balance_params(self, batch: DisbursementBatch) -> dict[str, Any]:
        regular = batch.kind is BatchKind.REGULAR
        held_by: list[uuid.UUID] = []
        if regular:
            held_by = list(
                await self.session.scalars(
                    select(Batch.id).where(
                        Batch.kind == "regular",
                        Batch.period == batch.period.first_day,
                        Batch.status != "cancelled",
                        Batch.id != batch.id,
                    )
                )
            )
        return {
            **self._params(batch),
            "regular": regular,
            # A regular batch pays its own month; a batch on demand (补发, 重发) the months before its month of issue.
            "upto": (batch.period if regular else batch.period.plus(-1)).first_day,
            "past_kind": "reissue" if batch.kind is BatchKind.REISSUE else "arrears",
            "held_by": [str(b) for b in held_by],
        }

    async def insert_one_off_lines(self, batch: DisbursementBatch) -> int:
        only = "AND a.case_id = ANY(CAST(:cases AS uuid[]))" if batch.case_ids is not None else ""
        params = self._params(batch)
        if batch.case_ids is not None:
            params["cases"] = [str(c) for c in batch.case_ids]
        return (await self.session.execute(text(_ONE_OFF.format(only_cases=only)), params)).rowcount

    @staticmethod
    def _params(batch: DisbursementBatch) -> dict[str, Any]:
        return {
            "ns": str(PAYMENT_NS),
            "batch_id": batch.id,
            "period": batch.period.first_day,
            "prefix": batch.region_code + "%",
        }

    async def cancel_lines(self, batch_id: uuid.UUID) -> None:
        # Failed lines too (no account on file): a cancelled batch's months are not re-issued from it.
        await self.session.execute(
            update(PaymentLine)
            .where(PaymentLine.batch_id == batch_id, PaymentLine.status.in_(("pending", "failed")))
            .values(status="cancelled")
        )

    async def settlement(self, batch_id: uuid.UUID) -> Settlement:
        """lines = paid + failed + pending, in count and fen (cancelled lines are not part of a batch's money)."""
        # A line the bank paid and later returned (退汇) is money not paid, like a failed one.
        paid, failed = PaymentLine.status == "paid", PaymentLine.status.in_(("failed", "reversed"))
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(PaymentLine.amount_fen), 0),
                    func.count().filter(paid),
                    func.coalesce(func.sum(PaymentLine.amount_fen).filter(paid), 0),
                    func.count().filter(failed),
                    func.coalesce(func.sum(PaymentLine.amount_fen).filter(failed), 0),
                ).where(PaymentLine.batch_id == batch_id, PaymentLine.status != "cancelled")
            )
        ).one()
        return Settlement(*(int(v) for v in row))

    async def lines(self, batch_id: uuid.UUID, q: LineQuery) -> Rows[Any]:
        """A page of the batch's lines, each with its account's last four digits and whether the household's account
        changed since its last payment (the payee version of its last paid line differs; None before any payment)."""
        last_paid = (
            select(PaymentLine.payee_id)
            .where(
                PaymentLine.household_id == line.household_id,
                PaymentLine.status == "paid",
                PaymentLine.id < line.id,
                PaymentLine.payee_id.is_not(None),
            )
            .order_by(PaymentLine.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                line,
                Payee.account_last4,
                case((last_paid.is_(None), None), else_=last_paid.is_distinct_from(line.payee_id)).label(
                    "account_changed"
                ),
            )
            .outerjoin(Payee, Payee.id == line.payee_id)
            .where(line.batch_id == batch_id)
        )
        if q.status:
            query = query.where(line.status == q.status)
        return await keyset_page(self.session, query, LINES, q, scalars=False)


class FileRow(NamedTuple):
    """One line as the bank file and the roster need it, its payee still sealed."""

    payment_id: str
    amount_fen: int
    period: str
    programme: str
    kind: str
    household_id: str
    region_code: str
    persons: int
    key_id: str
    sealed: str
    # The payee version's changed_at in microseconds since 1970: part of the sealed account's associated data.
    changed_us: int
    # Who a person-level programme's line pays (its member; a line of before schedules or a one-off: its case), so
    # the roster counts a person once however many lines pay them.
    person: str


# Text COPY: none of these values can hold a tab, newline or backslash (ids, codes, integers, base64).
_FILE_QUERY = """
SELECT l.payment_id, l.amount_fen, to_char(l.period, 'YYYY-MM'), l.programme, l.kind, l.household_id,
       l.region_code, l.persons, p.key_id, p.sealed, (extract(epoch FROM p.changed_at) * 1000000)::bigint,
       coalesce(nullif(l.member_id, '{household}'), l.case_id)
FROM payments.payment_lines l
JOIN payments.payees p ON p.id = l.payee_id
WHERE l.batch_id = $1 AND l.status <> 'cancelled' AND p.sealed IS NOT NULL {township}
ORDER BY l.id
"""


async def file_envelope(conn: AsyncConnection, batch_id: uuid.UUID) -> tuple[int, int]:
    """(count, total fen) of the lines a bank file of the batch holds: the same rows `_FILE_QUERY` reads."""
    row = (
        await conn.execute(
            text(
                "SELECT count(*), coalesce(sum(l.amount_fen), 0) FROM payments.payment_lines l "
                "JOIN payments.payees p ON p.id = l.payee_id "
                "WHERE l.batch_id = :b AND l.status <> 'cancelled' AND p.sealed IS NOT NULL"
            ),
            {"b": batch_id},
        )
    ).one()
    return int(row[0]), int(row[1])


async def file_households(
    conn: AsyncConnection, batch_id: uuid.UUID, township: str | None = None
) -> list[tuple[uuid.UUID, str]]:
    """(household, region) of each household whose lines a bank file (or a township's roster) of the batch holds:
    the same rows `_FILE_QUERY` reads, one statement."""
    rows = await conn.execute(
        text(
            "SELECT DISTINCT l.household_id, l.region_code FROM payments.payment_lines l "
            "JOIN payments.payees p ON p.id = l.payee_id "
            "WHERE l.batch_id = :b AND l.status <> 'cancelled' AND p.sealed IS NOT NULL"
            + (" AND l.region_code LIKE :township" if township else "")
        ),
        {"b": batch_id, **({"township": township + "%"} if township else {})},
    )
    return [(h, region) for h, region in rows]


async def stream_file_rows(
    conn: AsyncConnection, batch_id: uuid.UUID, township: str | None = None
) -> AsyncIterator[FileRow]:
    """The lines of a bank file or roster with their sealed payee, as PostgreSQL's COPY streams them: C-speed
    transfer, parsed here a chunk at a time; a small bounded queue keeps memory constant (the COPY waits while the
    file's writer catches up)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    query = _FILE_QUERY.format(township="AND l.region_code LIKE $2" if township else "", household=HOUSEHOLD)
    args: list[Any] = [batch_id] + ([township + "%"] if township else [])
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4)

    async def copy() -> None:
        try:
            await driver.copy_from_query(query, *args, output=chunks.put, format="text")
        finally:
            await chunks.put(None)

    task = asyncio.create_task(copy())
    try:
        rest = b""
        while (chunk := await chunks.get()) is not None:
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                f = line.decode().split("\t")
                yield FileRow(f[0], int(f[1]), f[2], f[3], f[4], f[5], f[6], int(f[7]), f[8], f[9], int(f[10]), f[11])
        await task  # a failed COPY raises here rather than ending the file early
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
