"""Bank returns (回盘): settle a batch's lines from the bank's result file, all or nothing.

The file is read from its spooled upload in a streaming pass (sha256 and parse), its rows copied into a temporary
table, checked against the batch's lines in SQL, and applied with one `UPDATE … FROM`. Any bad row — malformed, an
unknown payment id, a line of another batch, a changed amount, a line settled otherwise before — rejects the whole file
with every bad row named; nothing is written. The same file again (same sha256) changes nothing."""

from __future__ import annotations

import codecs
import csv
import hashlib
import uuid
from typing import IO, Any

from sqlalchemy import insert, select, text

from services.payments.batches import service
from services.payments.batches.domain import Settlement
from services.payments.batches.files import RETURN_COLUMNS, parse_return_row
from services.payments.batches.repository import BatchRepository
from services.payments.batches.schemas import ReturnsOut
from services.payments.models import BankReturn
from services.payments.recovery import service as recovery
from shared import audit
from shared.auth import Principal
from shared.context import current_correlation_id
from shared.errors import DomainError, InvalidInput
from shared.events.catalogue import PaymentFailed, PaymentPaid, event_type, spec_for
from shared.schemas import attributes
from shared.uow import UnitOfWork

MAX_REPORTED = 200


class InvalidReturnFile(DomainError, status=422, title="Invalid bank return file", slug="invalid-return-file"):
    """The bank return file has bad rows; `errors` names each (row, field, why)."""


_CHECK = """
SELECT r.row_no, r.payment_id, r.amount_fen, r.result, l.amount_fen AS line_amount, l.status AS line_status,
       (SELECT count(*) FROM payments.payment_lines o WHERE o.payment_id = r.payment_id) AS anywhere,
       count(*) OVER (PARTITION BY r.payment_id) AS copies
FROM bank_return_rows r
LEFT JOIN payments.payment_lines l ON l.batch_id = :batch_id AND l.payment_id = r.payment_id
                                   AND l.status <> 'cancelled' AND l.payee_id IS NOT NULL
"""
# Settle the pending lines; each paid line's `payment.paid` event is written to the outbox by the same statement
# (a CloudEvent built in SQL, as the unit of work would build it), so a million-line return costs no Python loop.
# Failed lines come back to Python: they are few, and each gets its `payment.failed` event.
_APPLY = """
WITH settled AS (
    UPDATE payments.payment_lines l SET status = r.result, reason = r.reason
    FROM bank_return_rows r
    WHERE l.batch_id = :batch_id AND l.payment_id = r.payment_id
      AND ((l.status = 'pending' AND r.result IN ('paid', 'failed')) OR (l.status = 'paid' AND r.result = 'reversed'))
    RETURNING l.payment_id, l.batch_id, l.case_id, l.household_id, l.programme, l.region_code,
              to_char(l.period, 'YYYY-MM') AS period, l.amount_fen, l.status, l.reason
), paid AS (
    INSERT INTO payments.outbox (event_id, topic, key, type, payload)
    SELECT e.id, CAST(:topic AS text), s.household_id::text, CAST(:type AS text), jsonb_build_object(
        'specversion', '1.0', 'id', e.id, 'source', CAST(:source AS text), 'type', CAST(:type AS text),
        'subject', s.household_id::text, 'time', now(), 'datacontenttype', 'application/json',
        'dataschema', CAST(:schema AS text), 'region', s.region_code,
        'correlationid', CAST(:cid AS text),
        'data', jsonb_build_object('payment_id', s.payment_id, 'batch_id', s.batch_id, 'case_id', s.case_id,
                                   'household_id', s.household_id, 'programme', s.programme,
                                   'region_code', s.region_code, 'period', s.period, 'amount_fen', s.amount_fen))
    FROM settled s CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id) e
    WHERE s.status = 'paid'
    RETURNING 1
)
SELECT (SELECT count(*) FROM paid) AS paid,
       (SELECT coalesce(jsonb_agg(to_jsonb(s)), '[]'::jsonb) FROM settled s WHERE s.status <> 'paid') AS failed
"""


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(1 << 20):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _rows(file: IO[bytes]):
    """(row number, values) of the data rows; row 1 is the header. GBK files are accepted as well as UTF-8."""
    head = file.read(4096)
    file.seek(0)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A UTF-8 character cut by the 4096-byte window is not a reason to think the file is GBK.
        encoding = "gbk" if exc.start < len(head) - 4 else "utf-8-sig"
    reader = csv.reader(codecs.iterdecode(file, encoding, errors="strict"))
    try:
        header = next(reader, None)
        if (
            header is None
            or [h.strip().lower() for h in header[:4]] != list(RETURN_COLUMNS)[: len(header[:4])]
            or len(header) < 3
        ):
            raise InvalidInput("file", f"the first row must be the header {','.join(RETURN_COLUMNS)}", row="1")
        yield from enumerate(reader, start=2)
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", f"not UTF-8 or GBK text: {exc.reason}") from exc
    except csv.Error as exc:
        raise InvalidInput("file", f"not a CSV file: {exc}") from exc


async def post_returns(uow: UnitOfWork, principal: Principal, batch_id: uuid.UUID, file: IO[bytes]) -> ReturnsOut:
    batch = await service.visible(uow, principal, batch_id, for_update=True)  # one return at a time per batch
    digest = _sha256(file)
    repo = BatchRepository(uow.session)
    done = await uow.session.scalar(
        select(BankReturn).where(BankReturn.batch_id == batch.id, BankReturn.sha256 == digest)
    )
    if done is not None:
        await audit.record(
            uow,
            principal,
            "batch.returns_again",
            "batch",
            batch.id,
            region_code=batch.region_code,
            details={"sha256": digest},
        )
        return _answer(done, True, await repo.settlement(batch.id))
    batch.check_returns_allowed()

    conn = await uow.session.connection()
    await conn.execute(
        text(
            "CREATE TEMPORARY TABLE bank_return_rows (row_no int, payment_id uuid, amount_fen bigint, "
            "result text, reason text) ON COMMIT DROP"
        )
    )
    driver: Any = (await conn.get_raw_connection()).driver_connection
    errors: list[dict[str, str]] = []
    chunk: list[tuple] = []
    count = 0
    for n, values in _rows(file):
        if not any(v.strip() for v in values):
            continue
        count += 1
        parsed, bad = parse_return_row(n, values)
        errors.extend(bad)
        if parsed:
            chunk.append((n, *parsed))
        if len(chunk) >= 5000:
            await driver.copy_records_to_table("bank_return_rows", records=chunk)
            chunk = []
    if chunk:
        await driver.copy_records_to_table("bank_return_rows", records=chunk)
    if count == 0:
        raise InvalidInput("file", "no result rows after the header")

    for r in (await conn.execute(text(_CHECK), {"batch_id": batch.id})).mappings():
        n = str(r["row_no"])

        def bad(field: str, message: str, n: str = n, r: Any = r) -> None:
            errors.append({"row": n, "field": f"rows[{n}].{field}", "message": message})

        if r["copies"] > 1:
            bad("payment_id", "the same payment id appears more than once in the file")
        if r["line_status"] is None:
            bad("payment_id", "a line of another batch" if r["anywhere"] else "unknown payment id")
            continue
        if r["amount_fen"] != r["line_amount"]:
            bad("amount_yuan", f"{r['amount_fen'] / 100:.2f} differs from the line's {r['line_amount'] / 100:.2f}")
        if r["result"] == "reversed":
            if r["line_status"] not in ("paid", "reversed"):
                bad("result", f"only a line the bank paid can be reversed (退汇); it is {r['line_status']}")
        elif r["line_status"] != "pending" and r["line_status"] != r["result"]:
            bad("result", f"the line was already settled as {r['line_status']}")
    if errors:
        errors.sort(key=lambda e: int(e["row"]))
        raise InvalidReturnFile(
            f"{len(errors)} bad row(s); nothing was applied", errors=errors[:MAX_REPORTED], bad_rows=len(errors)
        )

    paid_type = event_type(PaymentPaid)
    applied = (
        await conn.execute(
            text(_APPLY),
            {
                "batch_id": batch.id,
                "topic": str(spec_for(paid_type).topic),
                "type": paid_type,
                "source": uow.source,
                "schema": f"urn:cn.gov.mca.assistance:schema:{paid_type}",
                "cid": current_correlation_id(),
            },
        )
    ).one()
    paid, failed = int(applied.paid), applied.failed
    for s in failed:
        uow.emit(
            PaymentFailed(**{k: v for k, v in s.items() if k not in ("status", "reason")}, reason=s["reason"] or ""),
            key=s["household_id"],
            region=s["region_code"],
        )
    # A 退汇 takes money back from the bank's side: what was recorded as overpaid may no longer be.
    await recovery.record_for_households(
        uow, sorted({uuid.UUID(str(s["household_id"])) for s in failed if s["status"] == "reversed"})
    )
    posted = await uow.session.scalar(
        insert(BankReturn)
        .values(
            batch_id=batch.id,
            sha256=digest,
            rows=count,
            paid=paid,
            failed=len(failed),
            posted_by=principal.sub,
        )
        .returning(BankReturn)
    )
    settlement = await repo.settlement(batch.id)
    batch.settle(settlement)
    await repo.save(batch)
    for event in batch.events:
        uow.emit(event, key=batch.id, region=batch.region_code)
    await audit.record(
        uow,
        principal,
        "batch.returns",
        "batch",
        batch.id,
        region_code=batch.region_code,
        details={"sha256": digest, "rows": count, "paid": paid, "failed": len(failed)},
    )
    assert posted is not None
    return _answer(posted, False, settlement)


def _answer(record: BankReturn, already_applied: bool, settlement: Settlement) -> ReturnsOut:
    """What a return file did (posted again: what it did the first time), and where the batch stands now."""
    return ReturnsOut(
        **attributes(record, ReturnsOut),
        already_applied=already_applied,
        reconciliation=service.reconciliation(settlement),
    )
