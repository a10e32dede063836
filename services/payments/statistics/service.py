"""统计报表: per programme and period range, households (户), persons (人), money (元 / 万元), new, stopped and
changed entitlements, and 临时救助 户次 / 人次 — the figures the county's reports quote, counted from the same lines
the batches pay, so they add up with them."""

from __future__ import annotations

import logging
import tempfile
from decimal import Decimal
from typing import Any

from services.payments.batches.files import PROGRAMME_NAMES, open_payee
from services.payments.models import HOUSEHOLD, village_names
from services.payments.statistics.repository import StatisticsRepository
from services.payments.statistics.schemas import (
    ChangeOut,
    ChangePage,
    ChangeQuery,
    ProgrammeFigures,
    Statistics,
    TekunArrangementFigures,
)
from shared import audit
from shared.auth import Principal
from shared.core.money import yuan
from shared.core.period import Period
from shared.errors import InvalidInput
from shared.pagination import MAX_LIMIT, Rows, narrowed
from shared.places import PlaceNames
from shared.sealing import Keyring, SealingError
from shared.spreadsheets import xlsx_workbook
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def wan(fen: int) -> str:
    """万元 with two decimals, as the reports write it (502,600 元 → 50.26 万元)."""
    return f"{Decimal(fen) / 1_000_000:.2f}"


async def statistics(uow: UnitOfWork, principal: Principal, region: str, first: Period, last: Period) -> Statistics:
    principal.within(region)
    if last < first or first.months_until(last) > 23:
        raise InvalidInput("to", "must be the same as or after `period`/`from`, at most 24 months on")
    paid, moves, tekun = await StatisticsRepository(uow.session).figures(region, first.first_day, last.first_day)
    rows = []
    for programme in sorted({r["programme"] for r in paid} | set(moves)):
        p = next((r for r in paid if r["programme"] == programme), None)
        m = moves.get(programme)
        issued = int(p["issued_fen"]) if p else 0
        rows.append(
            ProgrammeFigures(
                programme=programme,
                name=PROGRAMME_NAMES.get(programme, programme),
                households=int(p["households"]) if p else 0,
                persons=int(p["persons"]) if p else 0,
                money_fen=issued,
                money_yuan=yuan(issued),
                money_wan_yuan=wan(issued),
                paid_fen=int(p["paid_fen"]) if p else 0,
                supplement_fen=int(p["supplement_fen"]) if p else 0,
                arrears_fen=int(p["arrears_fen"]) if p else 0,
                one_off_household_times=int(p["one_off_households"]) if p else 0,
                one_off_person_times=int(p["one_off_persons"]) if p else 0,
                one_off_fen=int(p["one_off_fen"]) if p else 0,
                new=int(m["new"]) if m else 0,
                stopped=int(m["stopped"]) if m else 0,
                changed=int(m["changed"]) if m else 0,
            )
        )
    total = sum(r.money_fen for r in rows)
    await audit.record(
        uow,
        principal,
        "statistics.read",
        "statistics",
        None,
        region_code=region,
        details={"from": str(first), "to": str(last)},
    )
    arrangements = [
        TekunArrangementFigures(
            arrangement=t["arrangement"],
            name=ARRANGEMENT_NAMES.get(t["arrangement"], t["arrangement"]),
            households=int(t["households"]),
            persons=int(t["persons"]),
            money_fen=int(t["money_fen"]),
            money_yuan=yuan(int(t["money_fen"])),
            money_wan_yuan=wan(int(t["money_fen"])),
        )
        for t in tekun
    ]
    return Statistics(
        region=region,
        region_name=await PlaceNames.name_of(uow, village_names, region),
        period_from=first,
        period_to=last,
        programmes=rows,
        money_fen=total,
        money_yuan=yuan(total),
        money_wan_yuan=wan(total),
        tekun_arrangements=arrangements,
    )


ARRANGEMENT_NAMES = {"institution": "特困 集中供养", "home": "特困 分散供养", "unknown": "特困 供养方式未登记"}
HEADERS = (
    "救助项目",
    "户数(户)",
    "人数(人)",
    "资金(元)",
    "资金(万元)",
    "已到账(元)",
    "提标补发(元)",
    "临时救助户次",
    "临时救助人次",
    "新增(户/人)",
    "停保(户/人)",
    "调整(户/人)",
)
# Changes are counted per beneficiary: a household for 低保 and 低保边缘, a person for the person-level programmes.
CHANGES_UNIT = "新增、停保、调整: 低保、低保边缘按户计, 特困、孤儿、事实无人抚养儿童、残疾人两项补贴按人计"


def to_xlsx(stats: Statistics) -> tempfile.SpooledTemporaryFile:
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (the caller streams and closes it)
    book = xlsx_workbook(out, constant_memory=True, in_memory=False)
    sheet = book.add_worksheet("统计")
    bold = book.add_format({"bold": True})
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, len(HEADERS), 14)
    title = f"{stats.region_name}社会救助资金发放统计表 {stats.period_from}—{stats.period_to}（区划 {stats.region}）"
    sheet.write_string(0, 0, title, bold)
    sheet.write_row(1, 0, HEADERS, bold)
    for i, r in enumerate(stats.programmes, start=2):
        sheet.write_row(
            i,
            0,
            (
                r.name,
                r.households,
                r.persons,
                float(r.money_yuan),
                float(r.money_wan_yuan),
                r.paid_fen / 100,
                r.supplement_fen / 100,
                r.one_off_household_times,
                r.one_off_person_times,
                r.new,
                r.stopped,
                r.changed,
            ),
        )
    end = len(stats.programmes) + 2
    sheet.write_row(end, 0, ("合计", "", "", float(stats.money_yuan), float(stats.money_wan_yuan)), bold)
    sheet.write_string(end + 1, 0, CHANGES_UNIT)
    for i, t in enumerate(stats.tekun_arrangements, start=end + 3):  # of the 特困 row: 集中 vs 分散
        sheet.write_row(i, 0, (t.name, t.households, t.persons, float(t.money_yuan), float(t.money_wan_yuan)))
    book.close()
    out.seek(0)
    return out


# --- 增减变动: the month's changes, by beneficiary ------------------------------------------------------------------


async def changes(uow: UnitOfWork, principal: Principal, query: ChangeQuery, keyring: Keyring) -> ChangePage:
    """The beneficiaries of the caller's region (or a township or village of it) that joined, stopped or changed
    amount in the month — what a township reports by the 10th — a page at a time; read audited (names)."""
    month = Period.parse_field("period", query.period)
    prefix = narrowed(principal.region, query.region)
    page = (
        await StatisticsRepository(uow.session).changes(prefix, month, query)
        if prefix is not None
        else Rows([], None, 0)
    )
    place = await PlaceNames.load(uow, village_names, (r["region_code"] for r in page.rows))
    # Each change shown names a household and its payee: a read of that household's data.
    await audit.record(
        uow,
        principal,
        "statistics.changes",
        "beneficiary",
        [
            {"resource_id": r["beneficiary_id"], "household_id": r["household_id"], "region_code": r["region_code"]}
            for r in page.rows
        ],
        details={"period": str(month)},
    )
    items = [_change(r, month, place, keyring) for r in page.rows]
    return ChangePage(items=items, next=page.next, total=page.total)


def _change(row: Any, month: Period, place: PlaceNames, keyring: Keyring) -> ChangeOut:
    """One person's (a household programme's household's) change in the month, as `_month_changes` found it."""
    before, after = row["before"], row["amount_fen"]
    kinds = [
        k
        for k, hit in (
            ("new", before is None),
            ("stopped", not row["continues"]),
            ("changed", before is not None and before != after),
        )
        if hit
    ]
    holder = None
    if row["sealed"] is not None:
        try:
            holder = open_payee(keyring, row["key_id"], row["sealed"], row["household_id"], row["changed_at"])[
                "account_holder"
            ]
        except SealingError:
            # A tampered or replayed account is the bank file's to refuse (409); the report still lists the change.
            log.warning("changes list: the account on file for household %s does not open", row["household_id"])
    # The case's end reason when the case ended this month; a person of a case that goes on has none here.
    ended = not row["continues"] and row["end_month"] == month.first_day
    return ChangeOut(
        beneficiary_id=row["beneficiary_id"],
        household_id=row["household_id"],
        member_id=None if row["member_id"] == HOUSEHOLD else row["member_id"],
        programme=row["programme"],
        programme_name=PROGRAMME_NAMES.get(row["programme"], row["programme"]),
        region_code=row["region_code"],
        village=place.village(row["region_code"]),
        holder=holder,
        persons=row["persons"],
        changes=kinds,
        amount_before_fen=before,
        amount_after_fen=after,
        end_reason=row["end_reason"] if ended else None,
    )


CHANGE_NAMES = {"new": "新增", "stopped": "停保", "changed": "调整"}
CHANGE_HEADERS = (
    "序号",
    "行政区划代码",
    "村(社区)",
    "户名",
    "救助项目",
    "人数",
    "变动",
    "原金额(元)",
    "现金额(元)",
    "停保原因",
)


async def changes_xlsx(
    uow: UnitOfWork, principal: Principal, query: ChangeQuery, keyring: Keyring
) -> tempfile.SpooledTemporaryFile:
    """增减变动名册: the whole list as .xlsx, read page by page (constant memory: rows go to disk as written)."""
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (the caller streams and closes it)
    book = xlsx_workbook(out, constant_memory=True, in_memory=False)
    sheet = book.add_worksheet("增减变动")
    bold = book.add_format({"bold": True})
    region = query.region or principal.region
    name = await PlaceNames.name_of(uow, village_names, region)
    sheet.write_string(0, 0, f"{name}社会救助对象增减变动名册 {query.period}（区划 {region}）", bold)
    sheet.write_row(1, 0, CHANGE_HEADERS, bold)
    row, page = 2, query.model_copy(update={"limit": MAX_LIMIT, "cursor": None})
    while True:
        result = await changes(uow, principal, page, keyring)
        for c in result.items:
            sheet.write_number(row, 0, row - 1)
            for col, text in enumerate((c.region_code, c.village, c.holder or "", c.programme_name), start=1):
                sheet.write_string(row, col, text)
            sheet.write_number(row, 5, c.persons)
            sheet.write_string(row, 6, "、".join(CHANGE_NAMES[k] for k in c.changes))
            for col, fen in ((7, c.amount_before_fen), (8, c.amount_after_fen)):
                if fen is not None:
                    sheet.write_number(row, col, fen / 100)
            sheet.write_string(row, 9, c.end_reason or "")
            row += 1
        if result.next is None:
            break
        page = page.model_copy(update={"cursor": result.next})
    book.close()
    out.seek(0)
    return out
