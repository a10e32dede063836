"""Public notices for a village or township: the 7-day notice (公示) of cases about to be decided, and the long-term
notice (长期公示) of the households on the roll now: masked name, persons, programme, amount, nothing else.

No ID numbers, incomes or illnesses ever appear here (民发〔2021〕57号; privacy rules in domain.md). The long-term
notice is computed from the cases themselves at each request, so every decision (approval, amount change, 渐退
ended, 停保) shows at once, with no read model to fall behind."""

from __future__ import annotations

import io
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html import escape
from itertools import groupby

from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel

from services.eligibility.cases.domain import Case
from services.eligibility.cases.repository import CaseRepository
from services.eligibility.models import village_names
from services.eligibility.notices.repository import NoticeRepository, RollEntry
from services.eligibility.notices.schemas import LongTermNotice, RecipientRow, Totals, VillageTotals
from shared import audit
from shared.auth import Principal
from shared.core.identity import mask_name
from shared.core.money import yuan
from shared.core.period import Period, china_today
from shared.core.regions import civil_affairs_bureau
from shared.events.catalogue import PERSON_LEVEL
from shared.official_document import chinese_date
from shared.places import PlaceNames
from shared.spreadsheets import text_row, xlsx_workbook
from shared.uow import UnitOfWork

PROGRAMME_NAMES = {
    "dibao": "最低生活保障",
    "tekun": "特困人员救助供养",
    "marginal": "低保边缘家庭",
    "temporary": "临时救助",
    "medical": "医疗救助",
    "rigid_expense": "刚性支出困难家庭",
    "orphan": "孤儿基本生活保障",
    "de_facto_orphan": "事实无人抚养儿童",
    "disability_living": "困难残疾人生活补贴",
    "disability_care": "重度残疾人护理补贴",
}


class NoticeRow(BaseModel):
    name: str
    household_size: int
    programme: str
    monthly_amount_fen: int | None
    notice_from: date
    notice_until: date


class PublicNotice(BaseModel):
    region_code: str
    region_name: str
    rows: list[NoticeRow]


def _row(case: Case) -> NoticeRow:
    """A case on the notice, named as the long-term notice names it: the persons a person-level programme covers
    (those its assessment finds eligible, else the applicant), else the head."""
    members = case.snapshot.members
    a = case.assessment
    covered = set(a.covered_member_ids) if a and a.covered_member_ids else {case.applicant_member_id}
    named = [m for m in members if m.member_id in covered] if case.programme in PERSON_LEVEL else []
    named = named or [next((m for m in members if m.relation == "head"), members[0])]
    assert case.notice_posted_on and case.notice_ends_on
    return NoticeRow(
        name="、".join(mask_name(m.name) for m in named),
        household_size=len(case.snapshot.counted_members()),
        programme=PROGRAMME_NAMES.get(case.programme, case.programme),
        monthly_amount_fen=case.assessment.monthly_amount_fen if case.assessment else None,
        notice_from=case.notice_posted_on,
        notice_until=case.notice_ends_on,
    )


async def export(uow: UnitOfWork, principal: Principal, region_code: str, format: str) -> PublicNotice:
    """The notice of a village or township within the reader's region (outside it: as if it did not exist)."""
    principal.sees_region(region_code)
    cases = await CaseRepository(uow.session).on_notice(region_code)
    name = await PlaceNames.name_of(uow, village_names, region_code)
    notice = PublicNotice(region_code=region_code, region_name=name, rows=[_row(c) for c in cases])
    await audit.record(
        uow,
        principal,
        "notice.export",
        "notice",
        region_code,
        region_code=region_code,
        details={"rows": len(notice.rows), "format": format},
    )
    return notice


def to_xlsx(notice: PublicNotice) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "公示"
    ws.append(text_row(ws, [f"{notice.region_name} 社会救助拟批准对象公示"]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["姓名", "家庭人口", "救助项目", "月保障金额(元)", "公示开始", "公示结束"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in notice.rows:
        amount = yuan(r.monthly_amount_fen) if r.monthly_amount_fen else ""
        ws.append(
            text_row(
                ws,
                [r.name, r.household_size, r.programme, amount, r.notice_from.isoformat(), r.notice_until.isoformat()],
            )
        )
    ws.append([])
    ws.append(["公示期内如有异议，请向乡镇（街道）或县民政局反映。"])
    for column, width in zip("ABCDEF", (12, 10, 20, 16, 12, 12), strict=True):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- 长期公示: the households on the roll now -----------------------------------------------------------------


def _paid_now(entry: RollEntry, month: Period) -> list[dict]:
    """The schedule's segments owed this month (empty: a case of before schedules, or none owed)."""
    return [
        s
        for s in entry.segments
        if Period.parse(s["from_month"]) <= month and (s["to_month"] is None or month <= Period.parse(s["to_month"]))
    ]


def _named(entry: RollEntry, month: Period) -> str:
    """Whom a row names, masked: for a person-level programme (特困, 孤儿, 残疾人补贴) the persons its schedule pays
    this month (one person a segment; several of one case each named, in the household's order: 张*、张*明), else
    the applicant, else the persons the assessment covers; for a household's programme (低保, 边缘) the head. An
    application that named no applicant has the rule look at every member: the head is often not the one paid."""
    members = entry.members
    if entry.programme in PERSON_LEVEL:
        ids = [str(s["member_id"]) for s in _paid_now(entry, month) if s.get("member_id")]
        ids = ids or ([entry.applicant_member_id] if entry.applicant_member_id else [str(m) for m in entry.covered])
        paid = [m for m in members if str(m["member_id"]) in ids]
        if paid:
            return "、".join(mask_name(m["name"]) for m in paid)
    named = next(
        (m for m in members if entry.applicant_member_id and m["member_id"] == entry.applicant_member_id),
        next((m for m in members if m["relation"] == "head"), members[0]),
    )
    return mask_name(named["name"])


def _persons(entry: RollEntry, month: Period) -> tuple[int, frozenset[str]]:
    """保障人数 this month and who they are: the persons the schedule pays for (each person of a person-level
    programme; the household's count, as the old roll paid an imported case); a case of before schedules: the
    members its assessment covers and still counted (a member who died since is no longer counted)."""
    now = _paid_now(entry, month)
    if now and entry.programme in PERSON_LEVEL:
        paid = frozenset(str(s["member_id"]) for s in now)
        return len(paid), paid
    counted = frozenset(
        str(m["member_id"])
        for m in entry.members
        if m["counted"] and (not entry.covered or m["member_id"] in entry.covered)
    )
    return (max(int(s["persons"]) for s in now) if now else len(counted)), counted


@dataclass(frozen=True)
class _Listed:
    """A row of the notice with what its 合计 needs and the notice may not show: whose household, which persons."""

    row: RecipientRow
    household_id: uuid.UUID
    persons: frozenset[str]


def _listed(entry: RollEntry, place: PlaceNames, month: Period) -> _Listed:
    persons, who = _persons(entry, month)
    row = RecipientRow(
        village_code=entry.region_code,
        village_name=place(entry.region_code),
        name=_named(entry, month),
        persons=persons,
        programme=PROGRAMME_NAMES.get(entry.programme, entry.programme),
        monthly_amount_fen=entry.monthly_amount_fen,
        since=Period.of(entry.effective_month),
    )
    return _Listed(row, entry.household_id, who)


def _totals(listed: list[_Listed]) -> dict[str, int]:
    """合计: the rows stay one per programme, but a household with two (低保 and a disability subsidy) is one
    household, and a person two rows pay for is one person. A row whose count is not its members' (the old roll's
    count of an imported case) counts its own persons: who they are is not known."""
    persons: dict[uuid.UUID, set[str]] = defaultdict(set)
    unnamed = 0
    for x in listed:
        if len(x.persons) == x.row.persons:
            persons[x.household_id] |= x.persons
        else:
            unnamed += x.row.persons
    return {
        "households": len({x.household_id for x in listed}),
        "persons": sum(len(p) for p in persons.values()) + unnamed,
        "monthly_total_fen": sum(x.row.monthly_amount_fen for x in listed),
    }


async def long_term(uow: UnitOfWork, principal: Principal, region_code: str, format: str) -> LongTermNotice:
    """The long-term notice of a village or township within the reader's region (outside it: as if it did not
    exist): every household on the roll this month, by village."""
    principal.sees_region(region_code)
    today = china_today()
    entries = await NoticeRepository(uow.session).current_recipients(region_code, Period.of(today).first_day)
    place = await PlaceNames.load(uow, village_names, [region_code, *(e.region_code for e in entries)])
    listed = [_listed(e, place, Period.of(today)) for e in entries]
    rows = [x.row for x in listed]
    notice = LongTermNotice(
        region_code=region_code,
        region_name=place(region_code),
        issuer=civil_affairs_bureau(region_code),
        as_of=today,
        **_totals(listed),
        rows=rows,
        villages=[  # the rows come by village
            VillageTotals(village_code=code, village_name=place(code), **_totals(list(group)))
            for code, group in groupby(listed, key=lambda x: x.row.village_code)
        ],
    )
    await audit.record(
        uow,
        principal,
        "notice.long_term.export",
        "notice",
        region_code,
        region_code=region_code,
        details={"rows": len(rows), "format": format},
    )
    return notice


LONG_TERM_HEADERS = ("序号", "村（社区）", "姓名", "保障人数", "救助项目", "月保障金额(元)", "享受起始年月")
OBJECTIONS = "如有异议，请向乡镇（街道）或县民政局反映。"


def _total_line(totals: Totals) -> str:
    return f"合计 {totals.households} 户 {totals.persons} 人"


def _cells(i: int, r: RecipientRow) -> tuple[str, ...]:
    return (str(i), r.village_name, r.name, str(r.persons), r.programme, yuan(r.monthly_amount_fen), str(r.since))


def long_term_xlsx(notice: LongTermNotice) -> tempfile.SpooledTemporaryFile:
    """The notice as .xlsx, rows written as they come (constant memory); every text cell is written as a string,
    so a name such as =1+1 is never a formula."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (the caller streams and closes it)
    book = xlsx_workbook(out, constant_memory=True, in_memory=False)
    sheet = book.add_worksheet("长期公示")
    bold = book.add_format({"bold": True})
    sheet.write_string(0, 0, f"{notice.region_name}社会救助对象长期公示", book.add_format({"bold": True, "size": 14}))
    for col, header in enumerate(LONG_TERM_HEADERS):
        sheet.write_string(1, col, header, bold)
    money = book.add_format({"num_format": "0.00"})
    for i, r in enumerate(notice.rows, start=1):
        row = i + 1
        sheet.write_number(row, 0, i)
        sheet.write_string(row, 1, r.village_name)
        sheet.write_string(row, 2, r.name)
        sheet.write_number(row, 3, r.persons)
        sheet.write_string(row, 4, r.programme)
        sheet.write_number(row, 5, r.monthly_amount_fen / 100, money)
        sheet.write_string(row, 6, str(r.since))
    end = len(notice.rows) + 2
    sheet.write_string(end, 0, _total_line(notice), bold)
    sheet.write_number(end, 5, notice.monthly_total_fen / 100, money)
    sheet.write_string(end + 1, 0, OBJECTIONS)
    sheet.write_string(end + 2, 0, f"{notice.issuer}  {chinese_date(notice.as_of)}")
    for col, width in enumerate((6, 22, 10, 10, 20, 16, 14)):
        sheet.set_column(col, col, width)
    book.close()
    out.seek(0)
    return out


_PAGE_STYLE = (
    "@page{size:A4;margin:37mm 26mm 35mm 28mm}"
    "body{font-family:'仿宋_GB2312','FangSong',serif;font-size:16pt}"
    "h1{font-family:'方正小标宋简体','SimSun',serif;font-size:22pt;font-weight:normal;text-align:center}"
    "section{break-after:page}section:last-of-type{break-after:auto}"
    "table{border-collapse:collapse;width:100%;font-size:14pt}th,td{border:1px solid #000;padding:2pt 4pt}"
    "td.n{text-align:right}p.sign{text-align:right;margin-right:4em}"
)


def long_term_html(notice: LongTermNotice) -> str:
    """A printable page (A4, one village per page), self-contained: no script, nothing fetched."""

    totals = {v.village_code: v for v in notice.villages}

    def village(code: str, rows: Iterator[RecipientRow]) -> str:
        listed = list(rows)
        total = totals[code]
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="n">{escape(c)}</td>' if j in (0, 3, 5) else f"<td>{escape(c)}</td>"
                for j, c in enumerate(_cells(i, r))
            )
            + "</tr>"
            for i, r in enumerate(listed, start=1)
        )
        return (
            f'<section data-village="{escape(code)}"><h1>{escape(listed[0].village_name)}社会救助对象长期公示</h1>'
            "<table><thead><tr>"
            + "".join(f"<th>{escape(h)}</th>" for h in LONG_TERM_HEADERS)
            + f"</tr></thead><tbody>{body}</tbody></table>"
            f'<p class="total">{escape(_total_line(total))}，月保障金额 {yuan(total.monthly_total_fen)} 元</p>'
            f'<p>{escape(OBJECTIONS)}</p><p class="sign">{escape(notice.issuer)}<br>{chinese_date(notice.as_of)}</p>'
            "</section>"
        )

    sections = "".join(village(code, rows) for code, rows in groupby(notice.rows, key=lambda r: r.village_code))
    empty = f"<h1>{escape(notice.region_name)}社会救助对象长期公示</h1><p>暂无保障对象。</p>"
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(notice.region_name)}社会救助对象长期公示</title><style>{_PAGE_STYLE}</style></head>"
        f"<body>{sections or empty}</body></html>"
    )
