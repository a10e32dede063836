"""Bank returns (回盘): settle a batch's lines from the bank's result file, all or nothing.

The file is read from its spooled upload in a streaming pass (sha256 and parse, in bounded memory), its rows copied
into a temporary table, checked against the batch's lines in SQL, and applied with one `UPDATE … FROM`. Any bad row —
malformed, a control character in a value, an unknown payment id, a line of another batch, a changed amount, a line
settled otherwise before — rejects the whole file, the first `MAX_REPORTED` errors named (row, field, why) and all of
them counted; nothing is written. The same file again (same sha256) changes nothing."""

from __future__ import annotations

import codecs
import csv
import hashlib
import uuid
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import insert, select, text

from services.payments.batches import service
from services.payments.batches.domain import Settlement
from services.payments.batches.files import RETURN_COLUMNS, parse_return_row
from services.payments.batches.repository import BatchRepository
from services.payments.batches.schemas import ReturnsOut
from services.payments.models import HOUSEHOLD, BankReturn
from services.payments.recovery import service as recovery
from services.payments.roll.domain import PersonChange
from shared import audit
from shared.auth import Principal
from shared.core.period import Period
from shared.errors import InvalidInput, InvalidReturnFile
from shared.events.catalogue import PaymentFailed, PaymentPaid
from shared.schemas import attributes
from shared.uow import UnitOfWork
from shared.uploads import ErrorSample, bounded_lines, column_problems
from shared.validation import CONTROL_CHARACTERS

MAX_REPORTED = 200  # errors listed in the answer; the rest are counted
MAX_LINE_BYTES = 128 * 1024  # a return row is under 200 bytes; a header naming 10,000 columns still fits


# The rows with a problem, the first :keep of them by row, each with the count of problems in the whole file.
_CHECK = """
WITH checked AS (
    SELECT r.row_no, r.payment_id, r.amount_fen, r.result, l.amount_fen AS line_amount, l.status AS line_status,
           (SELECT count(*) FROM payments.payment_lines o WHERE o.payment_id = r.payment_id) AS anywhere,
           count(*) OVER (PARTITION BY r.payment_id) AS copies
    FROM bank_return_rows r
    LEFT JOIN payments.payment_lines l ON l.batch_id = :batch_id AND l.payment_id = r.payment_id
                                       AND l.status <> 'cancelled' AND l.payee_id IS NOT NULL
), problems AS (
    SELECT *, (copies > 1)::int + (line_status IS NULL)::int
              + coalesce((amount_fen <> line_amount)::int, 0)
              + coalesce(CASE WHEN result = 'reversed' THEN line_status NOT IN ('paid', 'reversed')
                              ELSE line_status <> 'pending' AND line_status <> result END::int, 0) AS problems
    FROM checked
)
SELECT *, sum(problems) OVER () AS problems_in_file FROM problems WHERE problems > 0 ORDER BY row_no LIMIT :keep
"""
# Settle the pending lines; each paid line's `payment.paid` event is written to the outbox by the same statement
# (`{paid_events}`: the kit's envelope built in SQL, `UnitOfWork.events_from_rows`), so a million-line return costs
# no Python loop. Failed lines come back to Python: they are few, and each gets its `payment.failed` event.
_APPLY = """
WITH settled AS (
    UPDATE payments.payment_lines l SET status = r.result, reason = r.reason
    FROM bank_return_rows r
    WHERE l.batch_id = :batch_id AND l.payment_id = r.payment_id
      AND ((l.status = 'pending' AND r.result IN ('paid', 'failed')) OR (l.status = 'paid' AND r.result = 'reversed'))
    RETURNING l.payment_id, l.batch_id, l.case_id, l.household_id, l.programme, l.member_id, l.region_code,
              to_char(l.period, 'YYYY-MM') AS period, l.amount_fen, l.status, l.reason
), paid AS (
{paid_events}
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


def _encoding(file: IO[bytes]) -> str:
    """UTF-8 unless the first bytes are not; then GBK."""
    head = file.read(4096)
    file.seek(0)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A UTF-8 character cut by the 4096-byte window is not a reason to think the file is GBK.
        return "gbk" if exc.start < len(head) - 4 else "utf-8-sig"
    return "utf-8-sig"


class ReturnFile:
    """A bank return file read in one streaming pass, in bounded memory whatever its size or badness: lines of at
    most `MAX_LINE_BYTES`, parsed rows handed on in chunks, the first `MAX_REPORTED` errors kept and the rest
    counted (`errors`). The header must be exactly `payment_id,amount_yuan,result,reason` (`reason` may be left
    out); a value holding a control character (NUL, which PostgreSQL text cannot hold, among them) is an error
    naming its row and field."""

    def __init__(self, file: IO[bytes], keep_errors: int = MAX_REPORTED) -> None:
        self.file = file
        self.errors: ErrorSample[dict[str, str]] = ErrorSample(keep_errors)
        self.rows = 0

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, values) of the data rows; row 1 is the header."""
        decoder = codecs.getincrementaldecoder(_encoding(self.file))(errors="strict")
        reader = csv.reader(decoder.decode(line) for line in bounded_lines(self.file, MAX_LINE_BYTES))
        try:
            header = next(reader, None)
            if header is None:
                raise InvalidInput("file", "the file is empty")
            names = [h.strip().lower() for h in header]
            problems = column_problems(names, RETURN_COLUMNS, optional={"reason"})
            if not problems and names != list(RETURN_COLUMNS[: len(names)]):
                problems = [f"the columns must be in the order {','.join(RETURN_COLUMNS)}"]
            if problems:
                raise InvalidInput("file", "header: " + "; ".join(problems), row="1")
            yield from enumerate(reader, start=2)
        except UnicodeDecodeError as exc:
            raise InvalidInput("file", f"not UTF-8 or GBK text: {exc.reason}") from exc
        except csv.Error as exc:
            raise InvalidInput("file", f"not a CSV file: {exc}") from exc

    def chunks(self, size: int = 5000) -> Iterator[list[tuple]]:
        """The good rows as (row number, payment id, fen, result, reason), `size` at a time; bad rows go to
        `errors`."""
        chunk: list[tuple] = []
        for n, values in self._records():
            if not any(v.strip() for v in values):
                continue
            self.rows += 1
            controlled = [i for i, v in enumerate(values) if CONTROL_CHARACTERS.search(v)]
            if controlled:
                for i in controlled:
                    field = RETURN_COLUMNS[i] if i < len(RETURN_COLUMNS) else f"column {i + 1}"
                    self.errors.add(
                        {"row": str(n), "field": f"rows[{n}].{field}", "message": "holds a control character"}
                    )
                continue
            parsed, bad = parse_return_row(n, values)
            for error in bad:
                self.errors.add(error)
            if parsed:
                chunk.append((n, *parsed))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


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
    parsed = ReturnFile(file)
    for chunk in parsed.chunks():
        await driver.copy_records_to_table("bank_return_rows", records=chunk)
    count = parsed.rows
    if count == 0:
        raise InvalidInput("file", "no result rows after the header")

    # Only the first rows with problems come back, and the count of all: a file of a million unknown ids costs
    # MAX_REPORTED rows here, not a million.
    checked = (await conn.execute(text(_CHECK), {"batch_id": batch.id, "keep": MAX_REPORTED})).mappings().all()
    found: list[dict[str, str]] = []
    for r in checked:
        n = str(r["row_no"])

        def bad(field: str, message: str, n: str = n) -> None:
            found.append({"row": n, "field": f"rows[{n}].{field}", "message": message})

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
    total = parsed.errors.total + (int(checked[0]["problems_in_file"]) if checked else 0)
    if total:
        shown = sorted([*parsed.errors.items, *found], key=lambda e: int(e["row"]))[:MAX_REPORTED]
        raise InvalidReturnFile(
            f"{total} error(s) in the file; nothing was applied"
            + (f" (the first {len(shown)} are listed)" if total > len(shown) else ""),
            errors=shown,
            bad_rows=total,
            errors_not_listed=total - len(shown),
        )

    paid_events, params = uow.events_from_rows(
        PaymentPaid, "settled", key="r.household_id", region="r.region_code", where="r.status = 'paid'"
    )
    applied = (await conn.execute(text(_APPLY.format(paid_events=paid_events)), {**params, "batch_id": batch.id})).one()
    paid, failed = int(applied.paid), applied.failed
    for s in failed:
        uow.emit(
            PaymentFailed(
                **{k: v for k, v in s.items() if k not in ("status", "reason", "member_id")}, reason=s["reason"] or ""
            ),
            key=s["household_id"],
            region=s["region_code"],
        )
    await recovery.returned_unpaid(
        uow,
        [
            PersonChange(
                uuid.UUID(str(s["household_id"])),
                s["programme"],
                uuid.UUID(str(s["member_id"])) if s["member_id"] else HOUSEHOLD,
                Period.parse(s["period"]),
                "退汇" if s["status"] == "reversed" else "发放失败",
            )
            for s in failed
        ],
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
