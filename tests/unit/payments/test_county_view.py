"""The county view's pure parts: periods as the reports name them, the 工作总结's structure, the page's escaping."""

from __future__ import annotations

from datetime import date

import pytest

from services.payments.county import dashboard, report
from services.payments.county.schemas import (
    AlertFigures,
    CaseFigures,
    CountyStatistics,
    Coverage,
    Totals,
)
from services.payments.county.service import resolve_period
from services.payments.statistics.schemas import ProgrammeFigures
from shared.core.period import Period
from shared.errors import InvalidInput


@pytest.mark.parametrize(
    ("args", "label", "first", "last", "end"),
    [
        (("2026-02", None, None, None), "2026年2月", Period(2026, 2), Period(2026, 2), date(2026, 2, 28)),
        ((None, 2026, 3, None), "2026年第三季度", Period(2026, 7), Period(2026, 9), date(2026, 9, 30)),
        ((None, 2024, None, 1), "2024年上半年", Period(2024, 1), Period(2024, 6), date(2024, 6, 30)),
        ((None, 2024, None, 2), "2024年下半年", Period(2024, 7), Period(2024, 12), date(2024, 12, 31)),
        ((None, 2023, None, None), "2023年", Period(2023, 1), Period(2023, 12), date(2023, 12, 31)),
    ],
)
def test_periods_as_the_reports_name_them(args, label, first, last, end):
    p = resolve_period(*args)
    assert (p.label, p.first, p.last, p.end) == (label, first, last, end)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((None, None, None, None), "period"),
        (("2026-01", 2026, None, None), "period"),
        ((None, None, 2, None), "quarter"),
        ((None, 2026, 1, 1), "half"),
        (("9999-12", None, None, None), "period"),
    ],
)
def test_bad_periods_name_the_field(args, field):
    with pytest.raises(InvalidInput) as err:
        resolve_period(*args)
    assert err.value.errors[0]["field"] == field


def _stats(name: str = "吴起县") -> CountyStatistics:
    dibao = ProgrammeFigures(
        programme="dibao",
        name="城乡低保",
        households=2786,
        persons=6384,
        money_fen=406_883_000,
        money_yuan="4068830.00",
        money_wan_yuan="406.88",
        paid_fen=0,
        supplement_fen=1_200_000,
        one_off_household_times=0,
        one_off_person_times=0,
        one_off_fen=0,
        new=296,
        stopped=112,
        changed=233,
    )
    temporary = ProgrammeFigures(
        programme="temporary",
        name="临时救助",
        households=0,
        persons=0,
        money_fen=5_000_000,
        money_yuan="50000.00",
        money_wan_yuan="5.00",
        paid_fen=0,
        supplement_fen=0,
        one_off_household_times=12,
        one_off_person_times=30,
        one_off_fen=5_000_000,
        new=0,
        stopped=0,
        changed=0,
    )
    cases = CaseFigures(programme="*", name="合计", received=9, approved=7, rejected=1, withdrawn=0, overdue=1)
    return CountyStatistics(
        region="610626",
        region_name=name,
        period=resolve_period(None, 2023, None, None),
        programmes=[dibao, temporary],
        totals=Totals(households=2786, persons=6384, money_fen=411_883_000, money_wan_yuan="411.88"),
        cases=[cases],
        cases_total=cases,
        alerts=AlertFigures(raised=4, verified=3, brought_into_assistance=2, open_now=1, overdue_now=0),
        coverage=Coverage(monitored_households=13, covered_households=5, by_programme={"dibao": 5}),
        months=[],
        batches=[],
    )


def test_the_summary_follows_the_seed_reports():
    md = report.to_markdown(_stats())
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == [
        "# 吴起县2023年社会救助工作总结（初稿）",
        "## 一、主要工作",
        "### （一）城乡低保",
        "### （二）动态管理",
        "### （三）临时救助",
        "### （四）监测预警",
        "## 二、存在问题",
        "## 三、下一步打算",
    ]
    assert "保障城乡低保对象2786户6384人，累计发放资金406.88万元。其中提标补发1.20万元。" in md
    assert "城乡低保新增296户、停保112户、调整233户" in md
    assert "实施临时救助12户次30人次，发放资金5.00万元。" in md
    assert "三类人群监测对象13户，其中享受社会救助5户（城乡低保5户）。" in md


def test_the_page_escapes_what_it_shows():
    page = dashboard.render(_stats("<script>x</script>"), _stats(), [], [])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'data-figure="dibao.households">2786<' in page
