"""Public notice (公示) lists for a village or township: masked name, household size and amount, nothing else.

No ID numbers, incomes or illnesses ever appear here (民发〔2021〕57号; privacy rules in domain.md)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel

from services.eligibility.cases.domain import Case
from services.eligibility.cases.repository import CaseRepository
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.identity import mask_name
from shared.regions import RegionTable
from shared.spreadsheets import text_row
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
    members = case.snapshot.members
    head = next((m for m in members if m.relation == "head"), members[0])
    assert case.notice_posted_on and case.notice_ends_on
    return NoticeRow(
        name=mask_name(head.name),
        household_size=len(case.snapshot.counted_members()),
        programme=PROGRAMME_NAMES.get(case.programme, case.programme),
        monthly_amount_fen=case.assessment.monthly_amount_fen if case.assessment else None,
        notice_from=case.notice_posted_on,
        notice_until=case.notice_ends_on,
    )


async def export(uow: UnitOfWork, principal: Principal, region_code: str, format: str) -> PublicNotice:
    """The notice of a village or township within the reader's region (outside it: as if it did not exist)."""
    if not principal.covers(region_code):
        raise NotFound(f"region {region_code} not found")
    cases = await CaseRepository(uow.session).on_notice(region_code)
    table = RegionTable.load()
    name = table.name(region_code) if table.is_known(region_code) else region_code
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
        amount = f"{r.monthly_amount_fen // 100}.{r.monthly_amount_fen % 100:02d}" if r.monthly_amount_fen else ""
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
