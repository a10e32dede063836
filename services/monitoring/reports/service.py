"""The monthly report to 乡村振兴局 (防返贫监测 data back to the rural-revitalization bureau): alerts raised,
verified and their outcomes, and 三类人群 coverage by programme, for a region and month; JSON or .xlsx."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook
from pydantic import BaseModel

from services.monitoring.models import village_names
from services.monitoring.reports.repository import ReportRepository
from shared import audit
from shared.auth import Principal
from shared.core.period import Period, china_today
from shared.errors import InvalidInput
from shared.places import PlaceNames
from shared.spreadsheets import text_row
from shared.uow import UnitOfWork


class CoverageOut(BaseModel):
    """三类人群 on the monitoring list and how many of them receive each programme."""

    persons: int
    households: int
    unstable: int
    marginal: int
    sudden: int
    dibao: int
    tekun: int
    temporary: int
    medical: int


class AlertCounts(BaseModel):
    raised: int
    verified: int
    brought_into_assistance: int
    not_eligible: int
    recipient_change: int
    deaths_reported: int
    closed: int
    open_at_month_end: int
    overdue: int


class MonthlyReport(BaseModel):
    region_code: str
    region_name: str  # 吴起县 (a village: as its county loaded its name), as the report to 乡村振兴局 names its area
    month: Period
    as_of: date  # the day its figures are counted to: the month's last day, or today for this month
    alerts: AlertCounts
    raised_by_type: dict[str, int]
    coverage: CoverageOut


async def monthly(uow: UnitOfWork, principal: Principal, region: str, month: Period) -> MonthlyReport:
    principal.sees_region(region)
    today = china_today()
    if month > Period.of(today):
        raise InvalidInput("month", f"{month} has not begun: a report counts a month up to today at the latest")
    last = month.next().first_day - timedelta(days=1)
    figures = await ReportRepository(uow.session).monthly(region, month.first_day, last, today)
    await audit.record(uow, principal, "report.monthly", "report", f"{region}/{month}", region_code=region)
    name = await PlaceNames.name_of(uow, village_names, region)
    return MonthlyReport(region_code=region, region_name=name, month=month, as_of=min(last, today), **figures)


_LABELS: dict[str, str] = {
    "raised": "预警数",
    "verified": "核实数",
    "brought_into_assistance": "纳入救助",
    "not_eligible": "不符合条件",
    "recipient_change": "在保对象变化待复核",
    "deaths_reported": "死亡停保",
    "closed": "办结数",
    "open_at_month_end": "月末未办结",
    "overdue": "逾期未办结",
    "persons": "监测对象人数",
    "households": "监测对象户数",
    "unstable": "脱贫不稳定户(人)",
    "marginal": "边缘易致贫户(人)",
    "sudden": "突发严重困难户(人)",
    "dibao": "享受低保(人)",
    "tekun": "享受特困供养(人)",
    "temporary": "享受临时救助(人)",
    "medical": "享受医疗救助(人)",
}


def to_xlsx(report: MonthlyReport) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("月报")
    area = [
        "地区",
        report.region_name,
        "区划代码",
        report.region_code,
        "月份",
        str(report.month),
        "统计截至",
        report.as_of.isoformat(),
    ]
    sheet.append(text_row(sheet, area))
    sheet.append([])
    rows: list[tuple[str, dict[str, Any]]] = [
        ("预警", report.alerts.model_dump()),
        ("三类人群覆盖", report.coverage.model_dump()),
    ]
    for title, values in rows:
        sheet.append(text_row(sheet, [title]))
        for key, value in values.items():
            sheet.append(text_row(sheet, [_LABELS.get(key, key), value]))
        sheet.append([])
    sheet.append(["按类型预警数"])
    for alert_type, count in report.raised_by_type.items():
        sheet.append(text_row(sheet, [alert_type, count]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
