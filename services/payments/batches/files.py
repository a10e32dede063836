"""The files a batch goes out as, streamed in constant memory:

**Bank file (银行代发文件)**, CSV, one line per payment sent to the bank, header row first:

| column | content |
|---|---|
| `payment_id` | the line's deterministic payment id (UUID); the bank echoes it in its return file |
| `account_holder` | 户名 |
| `bank_name` | 开户行 |
| `account_number` | full account number (only here, nowhere else) |
| `amount_yuan` | amount in yuan with two decimals, e.g. `1500.00` |
| `period` | `YYYY-MM`, the month paid |
| `programme` | programme code (`dibao`, `tekun`, …) |
| `memo` | 摘要 the recipient sees, e.g. `2026-09 最低生活保障金`, `2026-08 最低生活保障金(补发)` for arrears |

The last row is the **control record** (控制记录): `payment_id` = `CONTROL`, `account_holder` = the number of payment
rows, `amount_yuan` = their total in yuan, `memo` = `lines=<count>;total_fen=<total>`. The whole file is written
(every payee opened, count and total checked against the batch's lines) before its first byte is sent: a file that
cannot be produced whole is refused with a 409 naming the line, never sent truncated.

UTF-8 by default; `encoding=gbk` for 代发 systems that require it (a character GBK lacks becomes `?`).

**Bank return file (回盘文件)**, CSV with header `payment_id,amount_yuan,result,reason`: `result` is `paid`,
`failed`, or `reversed` (退汇: a line returned paid before came back from the recipient's bank), `reason` says why a
payment failed or was reversed.

**花名册 (roster)**, .xlsx per township for signing: Chinese headers, each household's village by the name its
county loaded (`shared.places`), the account masked to its last four digits, a total row and a signature block
(制表人 / 审核人 / 负责人 / 日期)."""

from __future__ import annotations

import csv
import functools
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import orjson

from services.payments.batches.domain import DisbursementBatch
from services.payments.batches.repository import FileRow
from shared.core.money import fen_of_yuan, yuan
from shared.events.catalogue import PERSON_LEVEL
from shared.sealing import Keyring, payee_binding
from shared.spreadsheets import csv_row, xlsx_workbook

PROGRAMME_NAMES = {
    "dibao": "最低生活保障金",
    "tekun": "特困人员供养金",
    "temporary": "临时救助金",
    "medical": "医疗救助金",
    "marginal": "低保边缘家庭救助金",
    "rigid_expense": "刚性支出困难救助金",
    "orphan": "孤儿基本生活费",
    "de_facto_orphan": "事实无人抚养儿童基本生活费",
    "disability_living": "困难残疾人生活补贴",
    "disability_care": "重度残疾人护理补贴",
}
KIND_MEMO = {"regular": "", "one_off": "", "arrears": "(补发)", "reissue": "(重发)", "supplement": "(提标补发)"}
BANK_COLUMNS = (
    "payment_id",
    "account_holder",
    "bank_name",
    "account_number",
    "amount_yuan",
    "period",
    "programme",
    "memo",
)
RETURN_COLUMNS = ("payment_id", "amount_yuan", "result", "reason")


def open_payee(
    keyring: Keyring, key_id: str, sealed: str, household_id: uuid.UUID | str, changed_at: datetime | int
) -> dict[str, str]:
    """A payee version's account (bank_name, account_holder, account_number). Bound to the household and to the
    version's changed_at: an older account replayed into the current version's row does not open (SealingError),
    so nothing is paid to it or shows its holder."""
    return orjson.loads(keyring.open(key_id, sealed, payee_binding(household_id, changed_at)))


def _payee(keyring: Keyring, row: FileRow) -> dict[str, str]:
    return open_payee(keyring, row.key_id, row.sealed, row.household_id, row.changed_us)


@functools.lru_cache(maxsize=4096)
def memo(period: str, programme: str, kind: str) -> str:
    """摘要: the month and the programme's name (a few distinct values per batch, made once each)."""
    return f"{period} {PROGRAMME_NAMES.get(programme, programme)}{KIND_MEMO[kind]}"


class FileNotWhole(Exception):
    """The bank file cannot be produced whole (a payee that cannot be opened, lines missing from the read)."""


CONTROL = "CONTROL"


async def bank_file(
    rows: AsyncIterator[FileRow], keyring: Keyring, encoding: str, expected: tuple[int, int]
) -> tempfile.SpooledTemporaryFile:
    """The CSV, written whole to a spooled file (memory, then disk) before anything is sent; payees are opened one line
    at a time and never kept. `expected` is (count, total fen) of the batch's lines the file must hold; the file ends
    with its control record."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (the caller streams and closes it)
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(BANK_COLUMNS)
        n = total = 0
        async for r in rows:
            try:
                payee = _payee(keyring, r)
            except Exception as exc:  # a key no longer held, a seal that does not open: the file would lie
                raise FileNotWhole(f"the payee of line {r.payment_id} cannot be opened ({type(exc).__name__})") from exc
            writer.writerow(
                csv_row(
                    r.payment_id,
                    payee["account_holder"],
                    payee["bank_name"],
                    payee["account_number"],
                    yuan(r.amount_fen),
                    r.period,
                    r.programme,
                    memo(r.period, r.programme, r.kind),
                )
            )
            n += 1
            total += r.amount_fen
            if n % 2000 == 0:
                out.write(buffer.getvalue().encode(encoding, errors="replace"))
                buffer.seek(0)
                buffer.truncate()
        if (n, total) != expected:
            raise FileNotWhole(f"read {n} lines, {total} fen; the batch holds {expected[0]} lines, {expected[1]} fen")
        writer.writerow(csv_row(CONTROL, n, "", "", yuan(total), "", "", f"lines={n};total_fen={total}"))
        out.write(buffer.getvalue().encode(encoding, errors="replace"))
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


def mask(number: str) -> str:
    return "*" * max(len(number) - 4, 0) + number[-4:]


async def roster(
    rows: AsyncIterator[FileRow],
    keyring: Keyring,
    batch: DisbursementBatch,
    township: str,
    township_name: str | None,
    village: Callable[[str], str],
) -> tempfile.SpooledTemporaryFile:
    """花名册 of one township as .xlsx (xlsxwriter constant-memory mode: rows go to disk as they are written); each
    line's village named by `village` (its code → 张湾村)."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (the caller streams and closes it)
    book = xlsx_workbook(out, constant_memory=True, in_memory=False)
    sheet = book.add_worksheet("花名册")
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    money = book.add_format({"num_format": "0.00"})
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 5, 20)
    sheet.set_column(6, 10, 14)
    kind = {"regular": "", "urgent": "先行救助", "reissue": "重发", "supplement": "提标补发"}[batch.kind.value]
    sheet.write_string(0, 0, f"{township_name or township} 社会救助资金发放花名册 {batch.period} {kind}".strip(), title)
    sheet.write_string(1, 0, f"批次 {batch.id}   区划 {township}")
    headers = (
        "序号",
        "行政区划代码",
        "村(社区)",
        "户名(领款人)",
        "开户银行",
        "账号(后四位)",
        "保障人数",
        "救助项目",
        "发放期间",
        "金额(元)",
        "领款人签字",
    )
    sheet.write_row(2, 0, headers, bold)
    row, total_fen = 3, 0
    # 合计 counts each household and person once, whatever its programmes and months: a household's persons are
    # its household programme's (低保 counts the members) or, if more, its person-level programmes' persons (a
    # disabled member's subsidy is one of the members 低保 counts).
    counted: dict[str, int] = {}
    persons_paid: dict[str, set[str]] = {}
    async for r in rows:
        payee = _payee(keyring, r)
        sheet.write_number(row, 0, row - 2)
        sheet.write_string(row, 1, r.region_code)
        sheet.write_string(row, 2, village(r.region_code))
        sheet.write_string(row, 3, payee["account_holder"])
        sheet.write_string(row, 4, payee["bank_name"])
        sheet.write_string(row, 5, mask(payee["account_number"]))
        sheet.write_number(row, 6, r.persons)
        sheet.write_string(row, 7, PROGRAMME_NAMES.get(r.programme, r.programme) + KIND_MEMO[r.kind])
        sheet.write_string(row, 8, r.period)
        sheet.write_number(row, 9, r.amount_fen / 100, money)
        total_fen += r.amount_fen
        if r.programme in PERSON_LEVEL:
            persons_paid.setdefault(r.household_id, set()).add(r.person)
        else:
            counted[r.household_id] = max(counted.get(r.household_id, 0), r.persons)
        row += 1
    households = counted.keys() | persons_paid.keys()
    sheet.write_string(row, 0, "合计", bold)
    sheet.write_string(row, 3, f"{len(households)} 户")
    sheet.write_number(row, 6, sum(max(counted.get(h, 0), len(persons_paid.get(h, ()))) for h in households))
    sheet.write_number(row, 9, total_fen / 100, money)
    for i, label in enumerate(("制表人:", "审核人:", "负责人(盖章):", "日期:")):
        sheet.write_string(row + 2, i * 2 + 1, label, bold)
    book.close()
    out.seek(0)
    return out


def parse_return_row(
    n: int, row: list[str]
) -> tuple[tuple[uuid.UUID, int, str, str | None] | None, list[dict[str, str]]]:
    """One data row of a bank return file: the parsed values, or the errors naming row and field."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"row": str(n), "field": f"rows[{n}].{field}", "message": message})

    if len(row) < 3 or len(row) > 4:
        bad("row", f"expected the columns {','.join(RETURN_COLUMNS)}, got {len(row)} values")
        return None, errors
    raw_id, raw_amount, result = (v.strip() for v in row[:3])
    reason = row[3].strip() if len(row) == 4 and row[3].strip() else None
    try:
        if not raw_id.isascii():  # uuid.UUID reads full-width and other scripts' digits as 0-9
            raise ValueError
        pid = uuid.UUID(raw_id)
    except ValueError:
        bad("payment_id", "not a payment id (UUID)")
        pid = None
    fen = None
    try:  # digits 0-9 only: Decimal alone read １０００.００ (full-width) and ١٠٠٠ (Arabic-Indic) as 1000
        fen = fen_of_yuan(raw_amount, max_whole_digits=10)
    except ValueError:
        bad("amount_yuan", "not an amount in yuan (digits 0-9) with at most two decimals")
    if result not in ("paid", "failed", "reversed"):
        bad("result", "must be paid, failed or reversed")
    elif result != "paid" and not reason:
        bad("reason", f"a {result} payment needs the bank's reason")
    if errors or pid is None or fen is None:
        return None, errors
    return (pid, fen, result, reason), errors
