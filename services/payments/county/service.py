"""县级统计 (the county's view): for a region prefix and a month, quarter, half-year or year — per programme 户 / 人 /
万元 and new / stopped / adjusted (payments' own lines and roll, the same figures as GET /statistics), cases received /
approved / rejected / overdue and alerts raised / verified / brought into assistance (the read model kept from
eligibility's and monitoring's events), 三类人群 coverage, money by month, and the period's batches with their
reconciliation. The .xlsx, the 工作总结 and the dashboard are all rendered from this one object."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from datetime import date, datetime, timedelta

from services.payments.county.repository import CountyRepository, SessionRepository
from services.payments.county.schemas import (
    AlertFigures,
    BatchFigures,
    CaseFigures,
    CountyPeriod,
    CountyStatistics,
    Coverage,
    MonthFigures,
    OverdueCase,
    Totals,
    TownshipAlerts,
)
from services.payments.models import village_names
from services.payments.statistics import service as payment_statistics
from services.payments.statistics.repository import StatisticsRepository
from shared import audit
from shared.auth import Principal
from shared.core.money import yuan
from shared.core.period import Period, china_today
from shared.core.regions import display_name as region_name
from shared.errors import InvalidInput
from shared.places import PlaceNames
from shared.spreadsheets import xlsx_workbook
from shared.uow import UnitOfWork

# The names the reports use (the bank files use the longer 救助金 names).
PROGRAMME_LABELS = {
    "dibao": "城乡低保",
    "tekun": "特困人员供养",
    "temporary": "临时救助",
    "medical": "医疗救助",
    "marginal": "低保边缘家庭救助",
    "rigid_expense": "刚性支出困难救助",
    "orphan": "孤儿基本生活保障",
    "de_facto_orphan": "事实无人抚养儿童保障",
    "disability_living": "困难残疾人生活补贴",
    "disability_care": "重度残疾人护理补贴",
    "unknown": "未分类",
}
_QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")


def label(programme: str) -> str:
    return PROGRAMME_LABELS.get(programme, programme)


def today() -> date:
    return china_today()


def resolve_period(period: str | None, year: int | None, quarter: int | None, half: int | None) -> CountyPeriod:
    """`period=YYYY-MM`, or `year` alone, with `quarter` (1-4) or with `half` (1 上半年, 2 下半年)."""
    if year is None and (quarter is not None or half is not None):
        raise InvalidInput("quarter" if quarter is not None else "half", "only with year")
    if (period is None) == (year is None):
        raise InvalidInput("period", "give either period (YYYY-MM) or year")
    if quarter is not None and half is not None:
        raise InvalidInput("half", "give quarter or half, not both")
    if period is not None:
        first = last = Period.parse_field("period", period)
        if not 2000 <= first.year <= 2100:
            raise InvalidInput("period", "year must be 2000-2100")
        kind, text = "month", f"{first.year}年{first.month}月"
    else:
        assert year is not None
        if quarter is not None:
            first, kind, text = Period(year, 3 * quarter - 2), "quarter", f"{year}年{_QUARTERS[quarter - 1]}"
            last = first.plus(2)
        elif half is not None:
            first, kind = Period(year, 1 if half == 1 else 7), "half"
            text = f"{year}年{'上' if half == 1 else '下'}半年"
            last = first.plus(5)
        else:
            first, last, kind, text = Period(year, 1), Period(year, 12), "year", f"{year}年"
    return CountyPeriod(
        kind=kind,
        label=text,
        first=first,
        last=last,
        start=first.first_day,
        end=last.next().first_day - timedelta(days=1),
    )


async def statistics(uow: UnitOfWork, principal: Principal, region: str, when: CountyPeriod) -> CountyStatistics:
    principal.within(region)
    paid = await payment_statistics.statistics(uow, principal, region, when.first, when.last)
    repo = CountyRepository(uow.session)
    now = today()
    cases = [
        CaseFigures(
            programme=r["programme"],
            name=label(r["programme"]),
            **{k: int(r[k]) for k in ("received", "approved", "rejected", "withdrawn", "overdue")},
        )
        for r in await repo.cases(region, when.start, when.end, now)
    ]
    cases_total = CaseFigures(
        programme="*",
        name="合计",
        **{k: sum(getattr(c, k) for c in cases) for k in ("received", "approved", "rejected", "withdrawn", "overdue")},
    )
    alerts = AlertFigures(**{k: int(v) for k, v in (await repo.alerts(region, when.start, when.end, now)).items()})
    cov = await repo.coverage(region, when.first.first_day, when.last.first_day, when.end)
    coverage = Coverage(
        monitored_households=int(cov[0]["households"]),
        covered_households=int(cov[1]["households"]),
        by_programme={r["programme"]: int(r["households"]) for r in cov[2:]},
    )
    months = [
        MonthFigures(
            month=Period.of(r["period"]),
            programme=r["programme"],
            households=int(r["households"]),
            money_fen=int(r["money_fen"]),
        )
        for r in await repo.months(region, when.first.first_day, when.last.first_day)
    ]
    batches = [
        BatchFigures(**{**r, "period": Period.of(r["period"])})
        for r in await repo.batches(region, when.first.first_day, when.last.first_day)
    ]
    for p in paid.programmes:
        p.name = label(p.programme)
    # 合计 counts each household and person once across programmes (a 低保 household whose member has a disability
    # subsidy is 1 户, its 低保 persons), as the 花名册 does: never the rows' sum.
    households, persons = await StatisticsRepository(uow.session).totals(
        region, when.first.first_day, when.last.first_day
    )
    totals = Totals(
        households=households,
        persons=persons,
        money_fen=paid.money_fen,
        money_wan_yuan=paid.money_wan_yuan,
    )
    await audit.record(
        uow,
        principal,
        "county_statistics.read",
        "statistics",
        None,
        region_code=region,
        details={"from": str(when.first), "to": str(when.last)},
    )
    return CountyStatistics(
        region=region,
        region_name=await PlaceNames.name_of(uow, village_names, region),
        period=when,
        programmes=paid.programmes,
        totals=totals,
        cases=cases,
        cases_total=cases_total,
        alerts=alerts,
        coverage=coverage,
        months=months,
        batches=batches,
    )


async def overdue_cases(uow: UnitOfWork, principal: Principal, region: str, limit: int = 50) -> list[OverdueCase]:
    principal.within(region)
    rows = await CountyRepository(uow.session).overdue_now(region, today(), limit)
    place = await PlaceNames.load(uow, village_names, (r["region_code"] for r in rows))
    return [OverdueCase(**{**r, "name": label(r["programme"]), "region_name": place(r["region_code"])}) for r in rows]


async def open_alerts(uow: UnitOfWork, principal: Principal, region: str) -> list[TownshipAlerts]:
    principal.within(region)
    return [
        TownshipAlerts(
            township=r["township"], name=region_name(r["township"]), open=int(r["open"]), overdue=int(r["overdue"])
        )
        for r in await CountyRepository(uow.session).open_alerts_by_township(region, today())
    ]


# The statistics report's columns; the county sheet has no separate 提标补发 column (it is in the money paid).
PROGRAMME_HEADERS = tuple(h for h in payment_statistics.HEADERS if h != "提标补发(元)")
CASE_HEADERS = ("救助项目", "受理(件)", "批准(件)", "不予批准(件)", "撤回(件)", "逾期(件)")


def to_xlsx(s: CountyStatistics) -> tempfile.SpooledTemporaryFile:
    """One workbook, the figures of the JSON sheet by sheet: 资金发放, 办件, 监测预警, 按月, 发放批次."""
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (the caller streams and closes it)
    book = xlsx_workbook(out, in_memory=False)
    bold = book.add_format({"bold": True})

    def sheet(name: str, title: str, headers: tuple[str, ...], rows: list[tuple]) -> None:
        ws = book.add_worksheet(name)
        ws.set_column(0, 0, 24)
        ws.set_column(1, len(headers), 14)
        ws.write_string(0, 0, f"{s.region_name}({s.region}){s.period.label}{title}", bold)
        ws.write_row(1, 0, headers, bold)
        for i, row in enumerate(rows, start=2):
            ws.write_row(i, 0, row)

    sheet(
        "资金发放",
        "社会救助资金发放统计",
        PROGRAMME_HEADERS,
        [
            (
                p.name,
                p.households,
                p.persons,
                float(p.money_yuan),
                float(p.money_wan_yuan),
                float(yuan(p.paid_fen)),
                p.one_off_household_times,
                p.one_off_person_times,
                p.new,
                p.stopped,
                p.changed,
            )
            for p in s.programmes
        ]
        + [
            (
                "合计",
                s.totals.households,
                s.totals.persons,
                float(yuan(s.totals.money_fen)),
                float(s.totals.money_wan_yuan),
            )
        ],
    )
    sheet(
        "办件",
        "办件统计",
        CASE_HEADERS,
        [(c.name, c.received, c.approved, c.rejected, c.withdrawn, c.overdue) for c in [*s.cases, s.cases_total]],
    )
    sheet(
        "监测预警",
        "低收入人口动态监测",
        ("项目", "数量"),
        [
            ("预警数", s.alerts.raised),
            ("核实数", s.alerts.verified),
            ("纳入救助", s.alerts.brought_into_assistance),
            ("未办结(当前)", s.alerts.open_now),
            ("逾期未办结(当前)", s.alerts.overdue_now),
            ("三类人群监测户数", s.coverage.monitored_households),
            ("三类人群享受救助户数", s.coverage.covered_households),
        ]
        + [(f"三类人群享受{label(p)}(户)", n) for p, n in s.coverage.by_programme.items()],
    )
    sheet(
        "按月",
        "按月发放",
        ("月份", "救助项目", "户数(户)", "资金(元)"),
        [(str(m.month), label(m.programme), m.households, float(yuan(m.money_fen))) for m in s.months],
    )
    sheet(
        "发放批次",
        "发放批次与对账",
        (
            "月份",
            "类型",
            "状态",
            "笔数",
            "金额(元)",
            "已到账笔数",
            "已到账(元)",
            "失败笔数",
            "失败(元)",
            "待回盘笔数",
            "待回盘(元)",
        ),
        [
            (
                str(b.period),
                b.kind,
                b.status,
                b.line_count,
                float(yuan(b.total_fen)),
                b.paid_count,
                float(yuan(b.paid_fen)),
                b.failed_count,
                float(yuan(b.failed_fen)),
                b.pending_count,
                float(yuan(b.pending_fen)),
            )
            for b in s.batches
        ],
    )
    book.close()
    out.seek(0)
    return out


# --- the console's browser sessions (登录会话) --------------------------------------------------------------------


def _session_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


async def open_session(uow: UnitOfWork, principal: Principal, expires_at: datetime) -> str:
    """A session for a verified login token, until the token expires; the cookie carries only its random id."""
    session_id = secrets.token_urlsafe(32)
    await SessionRepository(uow.session).add(
        _session_hash(session_id), principal.sub, sorted(principal.roles), principal.region, expires_at
    )
    return session_id


async def session_principal(uow: UnitOfWork, session_id: str) -> Principal | None:
    """Who a session cookie logged in as; None once it was revoked (logout) or expired."""
    row = await SessionRepository(uow.session).live(_session_hash(session_id))
    return None if row is None else Principal(sub=row.sub, roles=frozenset(row.roles), region=row.region)


async def close_session(uow: UnitOfWork, session_id: str) -> None:
    """退出: the session is revoked server-side, so a copy of the cookie no longer opens the page."""
    await SessionRepository(uow.session).revoke(_session_hash(session_id))
