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

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.payments.batches.domain import BatchKind, BatchStatus, DisbursementBatch, Settlement
from services.payments.batches.schemas import BatchQuery, LineQuery
from services.payments.models import Batch, PaymentLine
from shared.pagination import Keyset, Rows, keyset_page
from shared.period import Period

# The namespace of payment ids: uuid5(PAYMENT_NS, "<beneficiary or case>/<programme>/<YYYY-MM>/<kind>").
PAYMENT_NS = uuid.UUID("6f1c3a52-8d0e-5b7a-9c41-2e7d5f0a8b13")


def payment_id(subject: uuid.UUID, programme: str, period: Period | None, kind: str) -> uuid.UUID:
    """The id SQL computes for a line; `period` is None for one-off awards (paid once, whatever the month)."""
    return uuid.uuid5(PAYMENT_NS, f"{subject}/{programme}/{period or '-'}/{kind}")


_COLUMNS = (
    "payment_id, batch_id, kind, case_id, beneficiary_id, household_id, programme, region_code, period, "
    "amount_fen, persons, payee_id, status, reason, reissue_of"
)
_NO_ACCOUNT = "no bank account on file"
_IN_FORCE = "e.superseded_by IS NULL AND e.from_month <= {p} AND (e.to_month IS NULL OR e.to_month >= {p})"

_REGULAR_CHUNK = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT uuid_generate_v5(CAST(:ns AS uuid), b.id::text || '/' || b.programme || '/' || :period_s || '/regular'),
       :batch_id, 'regular', b.case_id, b.id, b.household_id, b.programme, b.region_code, :period,
       e.monthly_amount_fen, b.persons, cp.payee_id,
       CASE WHEN cp.payee_id IS NULL THEN 'failed' ELSE 'pending' END,
       CASE WHEN cp.payee_id IS NULL THEN '{_NO_ACCOUNT}' END, NULL
FROM payments.beneficiaries b
JOIN payments.entitlements e ON e.beneficiary_id = b.id AND {_IN_FORCE.format(p=":period")}
LEFT JOIN payments.current_payees cp ON cp.household_id = b.household_id
WHERE b.region_code LIKE :prefix AND b.id > :after AND b.id <= :upto
  AND b.start_month <= :period AND (b.end_month IS NULL OR b.end_month >= :period) AND e.monthly_amount_fen > 0
ON CONFLICT DO NOTHING
"""

_ONE_OFF = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT uuid_generate_v5(CAST(:ns AS uuid), a.case_id::text || '/' || a.programme || '/-/one_off'),
       :batch_id, 'one_off', a.case_id, NULL, a.household_id, a.programme, a.region_code, :period,
       a.amount_fen, a.persons, cp.payee_id,
       CASE WHEN cp.payee_id IS NULL THEN 'failed' ELSE 'pending' END,
       CASE WHEN cp.payee_id IS NULL THEN '{_NO_ACCOUNT}' END, NULL
FROM payments.one_off_awards a
LEFT JOIN payments.current_payees cp ON cp.household_id = a.household_id
WHERE a.region_code LIKE :prefix AND a.approved_month <= :period AND a.amount_fen > 0 {{only_cases}}
  AND NOT EXISTS (SELECT 1 FROM payments.payment_lines l WHERE l.kind = 'one_off' AND l.case_id = a.case_id
                  AND l.status NOT IN ('failed', 'cancelled'))
ON CONFLICT DO NOTHING
"""

# Failed lines go out again to the account on file now; a failed month is re-issued as `reissue` (the month index
# allows one live regular-or-reissue line), a failed one-off or supplement keeps its own payment id.
_REISSUE = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT DISTINCT ON (l.beneficiary_id, l.case_id, l.programme, l.period, l.kind)
       CASE WHEN l.kind IN ('regular', 'reissue')
            THEN uuid_generate_v5(CAST(:ns AS uuid), l.beneficiary_id::text || '/' || l.programme || '/'
                                  || to_char(l.period, 'YYYY-MM') || '/reissue')
            ELSE l.payment_id END,
       :batch_id, CASE WHEN l.kind = 'regular' THEN 'reissue' ELSE l.kind END, l.case_id, l.beneficiary_id,
       l.household_id, l.programme, l.region_code, l.period, l.amount_fen, l.persons, cp.payee_id, 'pending', NULL,
       l.id
FROM payments.payment_lines l
JOIN payments.current_payees cp ON cp.household_id = l.household_id AND cp.payee_id IS NOT NULL
WHERE l.status = 'failed' AND l.region_code LIKE :prefix
  AND NOT EXISTS (SELECT 1 FROM payments.beneficiaries b WHERE b.id = l.beneficiary_id AND b.end_month < l.period)
  AND NOT EXISTS (SELECT 1 FROM payments.payment_lines o WHERE o.id <> l.id AND o.status NOT IN ('failed', 'cancelled')
                  AND (o.payment_id = l.payment_id
                       OR (l.kind IN ('regular', 'reissue') AND o.kind IN ('regular', 'reissue')
                           AND o.beneficiary_id = l.beneficiary_id AND o.programme = l.programme
                           AND o.period = l.period)))
ORDER BY l.beneficiary_id, l.case_id, l.programme, l.period, l.kind, l.id DESC
ON CONFLICT DO NOTHING
"""

# 提标补发: for each month with a live monthly line, what is owed now minus everything live for that month.
_SUPPLEMENT = f"""
INSERT INTO payments.payment_lines ({_COLUMNS})
SELECT uuid_generate_v5(CAST(:ns AS uuid), b.id::text || '/' || b.programme || '/' || to_char(m.period, 'YYYY-MM')
                        || '/supplement/' || e.monthly_amount_fen),
       :batch_id, 'supplement', b.case_id, b.id, b.household_id, b.programme, b.region_code, m.period,
       e.monthly_amount_fen - m.paid, b.persons, cp.payee_id, 'pending', NULL, NULL
FROM (SELECT beneficiary_id, period, sum(amount_fen) AS paid
      FROM payments.payment_lines
      WHERE kind IN ('regular', 'reissue', 'supplement') AND status NOT IN ('failed', 'cancelled')
        AND region_code LIKE :prefix
      GROUP BY beneficiary_id, period
      HAVING bool_or(kind IN ('regular', 'reissue'))) m
JOIN payments.beneficiaries b ON b.id = m.beneficiary_id
JOIN payments.entitlements e ON e.beneficiary_id = b.id AND {_IN_FORCE.format(p="m.period")}
JOIN payments.current_payees cp ON cp.household_id = b.household_id AND cp.payee_id IS NOT NULL
WHERE e.monthly_amount_fen > m.paid
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


# The lists' orders (shared/pagination.py): batches newest first (ix_batches_created_at_id, migration
# 0004_list_indexes), a batch's lines by id (ix_payment_lines_batch).
BATCHES = Keyset("batches", (Batch.created_at, Batch.id), descending=True)
LINES = Keyset("batches/lines", (PaymentLine.id,))


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
        return int(
            await self.session.scalar(
                text("SELECT count(*) FROM payments.beneficiaries WHERE region_code LIKE :prefix"),
                {"prefix": region + "%"},
            )
        )

    async def next_chunk(self, region: str, after: uuid.UUID | None, size: int) -> tuple[int, uuid.UUID | None]:
        """The next `size` beneficiaries of the region in id order: (how many, the last id)."""
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*), max(id::text)::uuid FROM (SELECT id FROM payments.beneficiaries "
                    "WHERE region_code LIKE :prefix AND id > :after ORDER BY id LIMIT :size) s"
                ),
                {"prefix": region + "%", "after": after or uuid.UUID(int=0), "size": size},
            )
        ).one()
        return int(row[0]), row[1]

    async def insert_regular_lines(self, batch: DisbursementBatch, after: uuid.UUID | None, upto: uuid.UUID) -> int:
        result = await self.session.execute(
            text(_REGULAR_CHUNK), {**self._params(batch), "after": after or uuid.UUID(int=0), "upto": upto}
        )
        return result.rowcount

    async def insert_one_off_lines(self, batch: DisbursementBatch) -> int:
        only = "AND a.case_id = ANY(CAST(:cases AS uuid[]))" if batch.case_ids is not None else ""
        params = self._params(batch)
        if batch.case_ids is not None:
            params["cases"] = [str(c) for c in batch.case_ids]
        return (await self.session.execute(text(_ONE_OFF.format(only_cases=only)), params)).rowcount

    async def insert_reissue_lines(self, batch: DisbursementBatch) -> int:
        return (await self.session.execute(text(_REISSUE), self._params(batch))).rowcount

    async def insert_supplement_lines(self, batch: DisbursementBatch) -> int:
        return (await self.session.execute(text(_SUPPLEMENT), self._params(batch))).rowcount

    @staticmethod
    def _params(batch: DisbursementBatch) -> dict[str, Any]:
        return {
            "ns": str(PAYMENT_NS),
            "batch_id": batch.id,
            "period": batch.period.first_day,
            "period_s": str(batch.period),
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
        paid, failed = PaymentLine.status == "paid", PaymentLine.status == "failed"
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

    async def lines(self, batch_id: uuid.UUID, q: LineQuery) -> Rows[PaymentLine]:
        query = select(PaymentLine).where(PaymentLine.batch_id == batch_id)
        if q.status:
            query = query.where(PaymentLine.status == q.status)
        return await keyset_page(self.session, query, LINES, q)


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


# Text COPY: none of these values can hold a tab, newline or backslash (ids, codes, integers, base64).
_FILE_QUERY = """
SELECT l.payment_id, l.amount_fen, to_char(l.period, 'YYYY-MM'), l.programme, l.kind, l.household_id,
       l.region_code, l.persons, p.key_id, p.sealed, (extract(epoch FROM p.changed_at) * 1000000)::bigint
FROM payments.payment_lines l
JOIN payments.payees p ON p.id = l.payee_id
WHERE l.batch_id = $1 AND l.status <> 'cancelled' AND p.sealed IS NOT NULL {township}
ORDER BY l.id
"""


async def stream_file_rows(
    conn: AsyncConnection, batch_id: uuid.UUID, township: str | None = None
) -> AsyncIterator[FileRow]:
    """The lines of a bank file or roster with their sealed payee, as PostgreSQL's COPY streams them: C-speed
    transfer, parsed here a chunk at a time; a small bounded queue keeps memory constant (the COPY waits while the
    file's writer catches up)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    query = _FILE_QUERY.format(township="AND l.region_code LIKE $2" if township else "")
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
                yield FileRow(f[0], int(f[1]), f[2], f[3], f[4], f[5], f[6], int(f[7]), f[8], f[9], int(f[10]))
        await task  # a failed COPY raises here rather than ending the file early
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
