"""县级工作台: the county dashboard as one server-rendered page — no script, no build step, no CDN; charts are inline
SVG. Every figure shown is a field of the county statistics, marked `data-figure="…"` so a browser test can read it
back and compare with GET /county/statistics."""

from __future__ import annotations

from html import escape

from services.payments.county.schemas import CountyStatistics, OverdueCase, TownshipAlerts
from services.payments.county.service import label
from services.payments.statistics.service import wan
from shared.core.money import yuan

PALETTE = ("#1f6fb2", "#d9822b", "#3a9d5d", "#b8433b", "#7b5ea7", "#8c6d46", "#c45a99", "#6b6b6b", "#b5a130", "#2aa1b3")
STATUS = {
    "building": "生成中",
    "built": "待审核",
    "approved": "已审核",
    "exported": "已送银行",
    "reconciled": "已对账",
    "cancelled": "已作废",
}
KIND = {"regular": "月度发放", "urgent": "先行救助", "reissue": "重发", "supplement": "提标补发"}
CASE_STATUS = {
    "accepted": "受理",
    "investigation": "入户调查",
    "township_review": "乡镇初审",
    "appraisal": "民主评议",
    "public_notice": "公示",
    "county_review": "县级审核",
    "open": "办理中",
}

_STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:0;background:#f4f5f7;
color:#222}
header{background:#1f3b5a;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:20px;margin:0}
header form{display:inline}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e5e8;padding:4px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
tfoot td{font-weight:bold}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1;min-width:110px;background:#f0f4f8;border-radius:4px;padding:8px}
.card b{display:block;font-size:22px}
.bad{color:#b8433b}.ok{color:#3a9d5d}
"""


def _f(key: str, value: object) -> str:
    return f'<span data-figure="{escape(key)}">{escape(str(value))}</span>'


def _card(title: str, key: str, value: object) -> str:
    return f'<div class="card">{escape(title)}<b>{_f(key, value)}</b></div>'


def _bars(title: str, rows: list[tuple[str, int, str]]) -> str:
    """Horizontal bars: (label, value, caption)."""
    top = max((v for _, v, _ in rows), default=0) or 1
    height = 26 * len(rows) + 10
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="100%" viewBox="0 0 520 {height}">']
    for i, (name, value, caption) in enumerate(rows):
        y, width = 5 + 26 * i, int(300 * value / top)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(name)}</text>'
            f'<rect x="140" y="{y}" width="{width}" height="18" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{146 + width}" y="{y + 14}" font-size="12">{escape(caption)}</text>'
        )
    return "".join(parts) + "</svg>"


def _months_chart(year: CountyStatistics) -> str:
    """Money by month, stacked by programme (万元)."""
    programmes = sorted({m.programme for m in year.months})
    months = [year.period.first.plus(i) for i in range(year.period.first.months_until(year.period.last) + 1)]
    totals = {mo: sum(m.money_fen for m in year.months if m.month == mo) for mo in months}
    top = max(totals.values(), default=0) or 1
    width, chart_h = 40, 160
    parts = [f'<svg role="img" aria-label="按月发放资金" width="100%" viewBox="0 0 {60 + 44 * len(months) + 160} 200">']
    for i, mo in enumerate(months):
        x, y = 50 + 44 * i, chart_h + 10
        for m in year.months:
            if m.month != mo:
                continue
            h = chart_h * m.money_fen / top
            y -= h
            color = PALETTE[programmes.index(m.programme) % len(PALETTE)]
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{width}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(label(m.programme))} {mo}: {wan(m.money_fen)}万元</title></rect>"
            )
        parts.append(
            f'<text x="{x + 4}" y="190" font-size="11">{mo.month}月</text>'
            f'<text x="{x}" y="{y - 3:.1f}" font-size="10">{wan(totals[mo])}</text>'
        )
    for j, p in enumerate(programmes):
        lx = 70 + 44 * len(months)
        parts.append(
            f'<rect x="{lx}" y="{10 + 16 * j}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="{19 + 16 * j}" font-size="11">{escape(label(p))}</text>'
        )
    return "".join(parts) + "</svg>"


def render(
    s: CountyStatistics, year: CountyStatistics, overdue: list[OverdueCase], townships: list[TownshipAlerts]
) -> str:
    """`s`: the month shown; `year`: January to that month, for the chart by month."""
    t, c, a, cov = s.totals, s.cases_total, s.alerts, s.coverage
    programme_rows = "".join(
        f"<tr><td>{escape(p.name)}</td><td>{_f(p.programme + '.households', p.households)}</td>"
        f"<td>{_f(p.programme + '.persons', p.persons)}</td>"
        f"<td>{_f(p.programme + '.money_wan_yuan', p.money_wan_yuan)}</td>"
        f"<td>{_f(p.programme + '.new', p.new)}</td><td>{_f(p.programme + '.stopped', p.stopped)}</td>"
        f"<td>{_f(p.programme + '.changed', p.changed)}</td></tr>"
        for p in s.programmes
    )
    case_rows = "".join(
        f"<tr><td>{escape(x.name)}</td><td>{_f('cases.' + x.programme + '.received', x.received)}</td>"
        f"<td>{_f('cases.' + x.programme + '.approved', x.approved)}</td>"
        f"<td>{_f('cases.' + x.programme + '.rejected', x.rejected)}</td>"
        f"<td>{_f('cases.' + x.programme + '.overdue', x.overdue)}</td></tr>"
        for x in s.cases
    )
    batch_rows = (
        "".join(
            f"<tr><td>{escape(KIND.get(b.kind, b.kind))}</td><td>{escape(STATUS.get(b.status, b.status))}</td>"
            f"<td>{_f(f'batch.{b.id}.line_count', b.line_count)}</td>"
            f"<td>{_f(f'batch.{b.id}.total', yuan(b.total_fen))}</td>"
            f"<td>{_f(f'batch.{b.id}.paid', yuan(b.paid_fen))}</td>"
            f"<td>{_f(f'batch.{b.id}.failed', yuan(b.failed_fen))}</td>"
            f"<td>{_f(f'batch.{b.id}.pending', yuan(b.pending_fen))}</td>"
            + (
                '<td class="ok">平衡</td>'
                if b.paid_fen + b.failed_fen + b.pending_fen == b.total_fen
                and b.paid_count + b.failed_count + b.pending_count == b.line_count
                else '<td class="bad">不平衡</td>'
            )
            + "</tr>"
            for b in s.batches
        )
        or '<tr><td colspan="8">本月尚无发放批次</td></tr>'
    )
    overdue_rows = (
        "".join(
            f"<tr><td>{escape(o.name)}</td><td>{escape(o.region_name)}</td><td>{o.received_on or ''}</td>"
            f"<td>{o.due_date}</td><td>{escape(CASE_STATUS.get(o.status, o.status))}</td></tr>"
            for o in overdue
        )
        or '<tr><td colspan="5">无逾期案件</td></tr>'
    )
    township_rows = (
        "".join(
            f"<tr><td>{escape(w.name)}</td><td>{_f('alerts.' + w.township + '.open', w.open)}</td>"
            f"<td>{_f('alerts.' + w.township + '.overdue', w.overdue)}</td></tr>"
            for w in townships
        )
        or '<tr><td colspan="3">无未办结预警</td></tr>'
    )
    by_programme = _bars("按项目发放资金", [(p.name, p.money_fen, f"{p.money_wan_yuan}万元") for p in s.programmes])
    covered = "".join(
        f"<tr><td>{escape(label(k))}</td><td>{_f('coverage.' + k, v)}</td></tr>" for k, v in cov.by_programme.items()
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(s.region_name)}社会救助工作台</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body><header><h1>{escape(s.region_name)}社会救助工作台 ·
<span data-figure="period">{escape(s.period.label)}</span></h1>
<div><form method="get" action="/county/dashboard"><input type="hidden" name="region" value="{escape(s.region)}">
<label>月份 <input type="month" name="period" value="{s.period.first}"></label> <button>查看</button></form>
<form method="post" action="/county/logout"><button>退出</button></form></div></header>
<main>
<section><h2>本月概况</h2><div class="cards">
{_card("保障户数(户)", "total.households", t.households)}{_card("保障人数(人)", "total.persons", t.persons)}
{_card("发放资金(万元)", "total.money_wan_yuan", t.money_wan_yuan)}{_card("受理申请(件)", "cases.received", c.received)}
{_card("批准(件)", "cases.approved", c.approved)}{_card("不予批准(件)", "cases.rejected", c.rejected)}
{_card("逾期(件)", "cases.overdue", c.overdue)}</div></section>
<section><h2>资金发放(按项目)</h2><table><thead><tr><th>救助项目</th><th>户数</th><th>人数</th><th>资金(万元)</th>
<th>新增</th><th>停保</th><th>调整</th></tr></thead><tbody>{programme_rows}</tbody>
<tfoot><tr><td>合计</td><td>{t.households}</td><td>{t.persons}</td><td>{
        t.money_wan_yuan
    }</td><td></td><td></td><td></td>
</tr></tfoot></table>{by_programme}</section>
<section><h2>{escape(year.period.label)}按月发放资金(万元)</h2>{_months_chart(year)}</section>
<section><h2>本月发放批次与对账</h2><table><thead><tr><th>类型</th><th>状态</th><th>笔数</th><th>金额(元)</th>
<th>已到账(元)</th><th>失败(元)</th><th>待回盘(元)</th><th>对账</th></tr></thead><tbody>{
        batch_rows
    }</tbody></table></section>
<section><h2>办件(按项目)</h2><table><thead><tr><th>救助项目</th><th>受理</th><th>批准</th><th>不予批准</th><th>逾期</th>
</tr></thead><tbody>{case_rows}</tbody></table></section>
<section><h2>逾期未办结案件</h2><table><thead><tr><th>救助项目</th><th>地区</th><th>受理日期</th><th>办结时限</th>
<th>当前环节</th></tr></thead><tbody>{overdue_rows}</tbody></table></section>
<section><h2>监测预警</h2><div class="cards">{_card("预警数", "alerts.raised", a.raised)}
{_card("核实数", "alerts.verified", a.verified)}{
        _card("纳入救助", "alerts.brought_into_assistance", a.brought_into_assistance)
    }{_card("未办结", "alerts.open_now", a.open_now)}
{_card("逾期未办结", "alerts.overdue_now", a.overdue_now)}</div>
<h2>未办结预警(按乡镇)</h2><table><thead><tr><th>乡镇(街道)</th><th>未办结</th><th>逾期</th></tr></thead>
<tbody>{township_rows}</tbody></table></section>
<section><h2>三类人群覆盖</h2><div class="cards">{_card("监测户数", "coverage.monitored", cov.monitored_households)}
{_card("享受救助户数", "coverage.covered", cov.covered_households)}</div>
<table><thead><tr><th>救助项目</th><th>户数</th></tr></thead><tbody>{covered}</tbody></table></section>
</main></body></html>"""


LOGIN = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>登录 · 社会救助工作台</title>
<style>body{{font-family:sans-serif;background:#f4f5f7;display:flex;justify-content:center;padding-top:80px}}
form{{background:#fff;padding:24px;border-radius:6px;width:420px}}textarea{{width:100%;height:120px}}
.bad{{color:#b8433b}}</style></head>
<body><form method="post" action="/county/login"><h1>社会救助工作台登录</h1>{message}
<label for="token">访问令牌(Bearer token)</label><textarea id="token" name="token" required></textarea>
<p><button type="submit">登录</button></p></form></body></html>"""


def login_page(message: str = "") -> str:
    return LOGIN.format(message=f'<p class="bad">{escape(message)}</p>' if message else "")
