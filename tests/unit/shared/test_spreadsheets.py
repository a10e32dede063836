"""Text stays text in every file the platform writes: the kit's CSV and .xlsx helpers, and each .xlsx writer fed
the classic formula-injection payloads and read back with openpyxl (no formula, no link, every text a string cell).
The bank file and the roster, written from sealed payees, are read back the same way in
tests/integration/test_payments_files.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.eligibility.notices.service import NoticeRow, PublicNotice
from services.eligibility.notices.service import to_xlsx as notice_xlsx
from services.monitoring.reports.service import AlertCounts, CoverageOut, MonthlyReport
from services.monitoring.reports.service import to_xlsx as monitoring_xlsx
from services.payments.county.schemas import (
    AlertFigures,
    BatchFigures,
    CaseFigures,
    CountyStatistics,
    Coverage,
    MonthFigures,
    Totals,
)
from services.payments.county.service import resolve_period
from services.payments.county.service import to_xlsx as county_xlsx
from services.payments.statistics.schemas import ProgrammeFigures, Statistics, TekunArrangementFigures
from services.payments.statistics.service import to_xlsx as statistics_xlsx
from shared.core.identity import mask_name
from shared.core.period import Period
from shared.spreadsheets import csv_cell, csv_row, text_row, xlsx_workbook
from tests.spreadsheet_kit import FORMULA_PAYLOADS, csv_cells, written_as_text, xlsx_texts

REPO = Path(__file__).resolve().parents[3]


def _stored_as_text(content: bytes, payloads: tuple[str, ...] = FORMULA_PAYLOADS) -> None:
    texts = xlsx_texts(content)
    for p in payloads:
        assert texts.get(p) == "s", (p, texts)


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_a_csv_cell_that_a_spreadsheet_would_evaluate_gets_an_apostrophe(payload):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(csv_row(payload, 1500, "张三"))
    assert csv_cells(out.getvalue().encode()) == [written_as_text(payload), "1500", "张三"]


def test_ordinary_csv_cells_are_written_as_they_are():
    values = ("0fb1a1e2-0000-4000-8000-000000000001", "1500.00", "2026-07", "李建国", "O'Neil", "买买提·艾力", "", None)
    assert [csv_cell(v) for v in values] == list(values)


def test_xlsxwriter_workbooks_of_the_kit_write_every_text_as_a_string():
    out = io.BytesIO()
    book = xlsx_workbook(out, in_memory=True)
    sheet = book.add_worksheet("x")
    sheet.write_row(0, 0, FORMULA_PAYLOADS)
    for i, p in enumerate(FORMULA_PAYLOADS, start=1):
        sheet.write(i, 0, p)
    book.close()
    _stored_as_text(out.getvalue())


@pytest.mark.parametrize("write_only", [False, True])
def test_openpyxl_rows_of_the_kit_write_every_text_as_a_string(write_only):
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("x") if write_only else book.active
    sheet.append(text_row(sheet, [*FORMULA_PAYLOADS, 3, None, 2.5]))
    out = io.BytesIO()
    book.save(out)
    _stored_as_text(out.getvalue())


def _programme(name: str) -> ProgrammeFigures:
    return ProgrammeFigures(
        programme="dibao",
        name=name,
        households=2,
        persons=5,
        money_fen=120_000,
        money_yuan="1200.00",
        money_wan_yuan="0.12",
        paid_fen=120_000,
        supplement_fen=0,
        one_off_household_times=0,
        one_off_person_times=0,
        one_off_fen=0,
        new=1,
        stopped=0,
        changed=0,
    )


def test_the_statistics_workbook_writes_payloads_as_text():
    stats = Statistics(
        region=FORMULA_PAYLOADS[0],
        region_name=FORMULA_PAYLOADS[2],
        period_from=Period(2026, 7),
        period_to=Period(2026, 7),
        programmes=[_programme(p) for p in FORMULA_PAYLOADS],
        money_fen=120_000,
        money_yuan="1200.00",
        money_wan_yuan="0.12",
        tekun_arrangements=[
            TekunArrangementFigures(
                arrangement="home",
                name=FORMULA_PAYLOADS[1],
                households=1,
                persons=1,
                money_fen=1,
                money_yuan="0.01",
                money_wan_yuan="0.00",
            )
        ],
    )
    with statistics_xlsx(stats) as out:
        _stored_as_text(out.read())


def test_the_county_workbook_writes_payloads_as_text():
    payloads = FORMULA_PAYLOADS
    cases = [
        CaseFigures(programme="dibao", name=p, received=1, approved=1, rejected=0, withdrawn=0, overdue=0)
        for p in payloads
    ]
    batch = BatchFigures.model_validate(
        {
            "id": "0fb1a1e2-0000-4000-8000-000000000001",
            "kind": payloads[2],
            "region_code": "610626",
            "period": "2026-07",
            "status": payloads[3],
            "reconciled_at": None,
            **{f"{what}_{unit}": 0 for what in ("paid", "failed", "pending") for unit in ("count", "fen")},
            "line_count": 0,
            "total_fen": 0,
        }
    )
    stats = CountyStatistics(
        region="610626",
        region_name=payloads[0],
        period=resolve_period("2026-07", None, None, None),
        programmes=[_programme(p) for p in payloads],
        totals=Totals(households=2, persons=5, money_fen=120_000, money_wan_yuan="0.12"),
        cases=cases,
        cases_total=cases[0],
        alerts=AlertFigures(raised=1, verified=0, brought_into_assistance=0, open_now=1, overdue_now=0),
        coverage=Coverage(monitored_households=1, covered_households=1, by_programme={p: 1 for p in payloads}),
        months=[MonthFigures(month=Period(2026, 7), programme=p, households=1, money_fen=100) for p in payloads],
        batches=[batch],
    )
    with county_xlsx(stats) as out:
        _stored_as_text(out.read())


def test_the_public_notice_writes_names_masked_or_not_as_text():
    rows = [
        NoticeRow(
            name=name,
            household_size=2,
            programme=FORMULA_PAYLOADS[1],
            monthly_amount_fen=50_000,
            notice_from=date(2026, 7, 1),
            notice_until=date(2026, 7, 7),
        )
        for p in FORMULA_PAYLOADS
        for name in (p, mask_name(p))
    ]
    content = notice_xlsx(PublicNotice(region_code="610626101", region_name=FORMULA_PAYLOADS[2], rows=rows))
    _stored_as_text(content)
    _stored_as_text(content, tuple(mask_name(p) for p in FORMULA_PAYLOADS))
    assert xlsx_texts(content)["=" + "*" * 24 + ")"] == "s"  # the masked name, once a formula cell


def test_the_monitoring_report_writes_payloads_as_text():
    report = MonthlyReport(
        region_code=FORMULA_PAYLOADS[0],
        region_name=FORMULA_PAYLOADS[1],
        month=Period(2026, 7),
        as_of=date(2026, 7, 31),
        alerts=AlertCounts(
            raised=1,
            verified=0,
            brought_into_assistance=0,
            not_eligible=0,
            recipient_change=0,
            deaths_reported=0,
            closed=0,
            open_at_month_end=1,
            overdue=0,
        ),
        raised_by_type={p: 1 for p in FORMULA_PAYLOADS},
        coverage=CoverageOut(
            persons=1, households=1, unstable=0, marginal=0, sudden=0, dibao=0, tekun=0, temporary=0, medical=0
        ),
    )
    _stored_as_text(monitoring_xlsx(report))


def test_every_file_writer_goes_through_the_kit():
    """A new writer that makes its own xlsxwriter workbook, or a CSV row without `csv_row`, would bring the
    formulas back: the services make neither."""
    offenders = []
    for path in (REPO / "services").rglob("*.py"):
        source = path.read_text()
        if re.search(r"xlsxwriter\.Workbook\(", source):
            offenders.append(f"{path}: xlsxwriter.Workbook (use shared.spreadsheets.xlsx_workbook)")
        for call in re.findall(r"\.writerows?\(\s*([^\s]+)", source):
            if not (call.startswith("csv_row(") or re.fullmatch(r"[A-Z_]+\)", call)):
                offenders.append(f"{path}: writerow({call} (use shared.spreadsheets.csv_row)")
    assert not offenders
