"""The county view against real PostgreSQL: for a 吴起县 demo month the statistics (JSON and .xlsx) equal the batches
and cases behind them, and the 工作总结 drafted from them quotes exactly the endpoint's figures."""

from __future__ import annotations

import io
import random
import re
import uuid
from datetime import date

import openpyxl
import pytest
from docx import Document
from sqlalchemy import text

from services.payments.county import report
from services.payments.county.schemas import CountyStatistics
from shared.core.period import Period
from shared.events.catalogue import PERSON_LEVEL, AlertClosed, AlertRaised, CaseApproved, CaseOpened, CaseRejected
from tests.county_kit import OTHER_FINANCE, CountyKit, at, seed_demo_month
from tests.helpers import villages_loaded, walk
from tests.official_document_kit import assert_official_layout
from tests.payments_kit import PaymentsKit, township

TOWNSHIP = "610626103"  # 白豹镇, 吴起县: no other test pays 2025
MONTH = Period(2025, 7)


@pytest.fixture(scope="module")
async def demo(api, tokens, db) -> dict:
    kit = CountyKit(db)
    return await seed_demo_month(kit, api("payments"), tokens["finance"], TOWNSHIP, MONTH, kit.build)


async def _stats(api, tokens, **params) -> dict:
    r = await api("payments").get(
        "/county/statistics", params={"region": TOWNSHIP, **params}, headers=tokens["auditor"]
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_statistics_equal_the_batches_and_cases(api, tokens, demo):
    s = await _stats(api, tokens, period=str(MONTH))
    assert s["region_name"] == "白豹镇" and s["period"]["label"] == "2025年7月"
    by = {p["programme"]: p for p in s["programmes"]}
    assert {k: (p["households"], p["persons"], p["money_fen"]) for k, p in by.items()} == demo["programmes"]
    assert (by["temporary"]["one_off_household_times"], by["temporary"]["one_off_person_times"]) == (1, 2)
    assert by["dibao"]["new"] == 2 and by["tekun"]["new"] == 1
    # The money is the batches' money, line by line.
    pay = api("payments")
    batches = (
        await pay.get("/batches", params={"region": TOWNSHIP, "period": str(MONTH)}, headers=tokens["finance"])
    ).json()["items"]
    assert s["totals"]["money_fen"] == sum(b["total_fen"] for b in batches) == demo["money_fen"]
    lines = await walk(pay, f"/batches/{demo['batch_id']}/lines", tokens["finance"])
    for programme, p in by.items():
        assert p["money_fen"] == sum(x["amount_fen"] for x in lines if x["programme"] == programme)
    [batch] = s["batches"]
    assert (batch["line_count"], batch["total_fen"], batch["paid_fen"]) == (
        len(lines),
        demo["money_fen"],
        demo["money_fen"],
    )
    assert {k: s["cases_total"][k] for k in demo["cases"]} == demo["cases"]
    assert {k: s["alerts"][k] for k in demo["alerts"]} == demo["alerts"]
    assert s["coverage"] == demo["coverage"]
    assert sum(m["money_fen"] for m in s["months"]) == s["totals"]["money_fen"]
    # A half-year and a quarter paid only this month: the same money and cases, and the case paid from August new.
    for params in ({"year": 2025, "half": 2}, {"year": 2025, "quarter": 3}):
        wider = await _stats(api, tokens, **params)
        assert wider["totals"] == s["totals"] and wider["cases_total"] == s["cases_total"]
        assert [p["new"] for p in wider["programmes"] if p["programme"] == "dibao"] == [3]
    before = await _stats(api, tokens, period=str(MONTH.plus(-1)))
    assert before["cases_total"]["received"] == 1 and before["totals"]["money_fen"] == 0


async def test_the_statistics_report_names_its_area(api, tokens, demo):
    """统计报表 (`/statistics`) names the township it counts, in JSON and in the workbook's title, beside its code."""
    params = {"region": TOWNSHIP, "period": str(MONTH)}
    r = await api("payments").get("/statistics", params=params, headers=tokens["auditor"])
    assert r.status_code == 200, r.text
    assert (r.json()["region"], r.json()["region_name"], r.json()["money_fen"]) == (
        TOWNSHIP,
        "白豹镇",
        demo["money_fen"],
    )
    r = await api("payments").get("/statistics", params={**params, "format": "xlsx"}, headers=tokens["auditor"])
    assert r.status_code == 200, r.text
    title = next(openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))[0]
    assert title == f"白豹镇社会救助资金发放统计表 {MONTH}—{MONTH}（区划 {TOWNSHIP}）"


async def test_statistics_as_xlsx_show_the_same_figures(api, tokens, demo):
    s = await _stats(api, tokens, period=str(MONTH))
    r = await api("payments").get(
        "/county/statistics",
        params={"region": TOWNSHIP, "period": str(MONTH), "format": "xlsx"},
        headers=tokens["auditor"],
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    money = list(book["资金发放"].iter_rows(min_row=3, values_only=True))
    for p, row in zip(s["programmes"], money, strict=False):
        assert row[:5] == (p["name"], p["households"], p["persons"], float(p["money_yuan"]), float(p["money_wan_yuan"]))
    assert money[-1][3] == s["totals"]["money_fen"] / 100
    cases = {row[0]: row[1:] for row in book["办件"].iter_rows(min_row=3, values_only=True)}
    t = s["cases_total"]
    assert cases["合计"] == (t["received"], t["approved"], t["rejected"], t["withdrawn"], t["overdue"])
    alerts = dict(book["监测预警"].iter_rows(min_row=3, values_only=True))
    assert (alerts["预警数"], alerts["核实数"], alerts["纳入救助"]) == (
        s["alerts"]["raised"],
        s["alerts"]["verified"],
        s["alerts"]["brought_into_assistance"],
    )
    assert alerts["三类人群监测户数"] == s["coverage"]["monitored_households"]


async def test_work_summary_quotes_the_endpoint(api, tokens, demo):
    s = await _stats(api, tokens, year=2025, half=2)
    md = await api("payments").get(
        "/county/report",
        params={"region": TOWNSHIP, "year": 2025, "half": 2, "format": "md"},
        headers=tokens["auditor"],
    )
    assert md.status_code == 200, md.text
    text = md.text
    assert text.startswith("# 白豹镇2025年下半年社会救助工作总结")
    t = s["totals"]
    assert (
        f"共保障各类社会救助对象{t['households']}户{t['persons']}人，累计发放救助资金{t['money_wan_yuan']}万元"
    ) in text
    for p in s["programmes"]:
        if p["programme"] == "temporary":
            assert (
                f"实施临时救助{p['one_off_household_times']}户次{p['one_off_person_times']}人次，"
                f"发放资金{float(p['one_off_fen']) / 1_000_000:.2f}万元"
            ) in text
        else:
            assert (
                f"保障{p['name']}对象{p['households']}户{p['persons']}人，累计发放资金{p['money_wan_yuan']}万元"
            ) in text
            unit = "人" if p["programme"] in PERSON_LEVEL else "户"  # changes are persons for a person's programme
            assert f"{p['name']}新增{p['new']}{unit}、停保{p['stopped']}{unit}、调整{p['changed']}{unit}" in text
    c, a, cov = s["cases_total"], s["alerts"], s["coverage"]
    assert (
        f"受理救助申请{c['received']}件，批准{c['approved']}件，不予批准{c['rejected']}件，逾期{c['overdue']}件"
    ) in text
    assert f"发出预警{a['raised']}条，核实{a['verified']}条，纳入救助{a['brought_into_assistance']}户" in text
    assert f"三类人群监测对象{cov['monitored_households']}户，其中享受社会救助{cov['covered_households']}户" in text
    for heading in (
        "## 一、主要工作",
        "## 二、存在问题",
        "## 三、下一步打算",
        "### （二）特困人员供养",
        "动态管理",
        "临时救助",
        "监测预警",
    ):
        assert heading in text
    # Every number in the draft is one of the endpoint's figures (years and section numbers aside).
    figures = {str(v) for v in _values(s)}
    assert set(re.findall(r"\d+(?:\.\d+)?", text)) - {"2025"} <= figures
    docx = await api("payments").get(
        "/county/report", params={"region": TOWNSHIP, "year": 2025, "half": 2}, headers=tokens["auditor"]
    )
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    document = Document(io.BytesIO(docx.content))
    paragraphs = [p.text for p in document.paragraphs if p.text]
    assert paragraphs == [b.text for b in report.blocks(CountyStatistics.model_validate(s))]
    # Laid out as the bureau's documents are (GB/T 9704-2012): A4, its margins, 小标宋 title, 仿宋 body.
    assert_official_layout(document, "白豹镇2025年下半年社会救助工作总结（初稿）")


def _values(value) -> list:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _values(v)]
    if isinstance(value, list):
        return [x for v in value for x in _values(v)]
    if isinstance(value, int | str):
        return [value, *(f"{value / 1_000_000:.2f}" for _ in [0] if isinstance(value, int))]
    return []


async def test_bad_periods_and_other_regions_are_refused(api, tokens):
    pay = api("payments")
    for params in (
        {},
        {"period": "2025-07", "year": 2025},
        {"year": 2025, "quarter": 1, "half": 1},
        {"quarter": 2},
        {"period": "2025-13"},
        {"year": 2025, "quarter": 5},
    ):
        r = await pay.get("/county/statistics", params={"region": TOWNSHIP, **params}, headers=tokens["auditor"])
        assert r.status_code == 422, (params, r.text)
    r = await pay.get("/county/statistics", params={"region": "610625", "period": "2025-07"}, headers=tokens["finance"])
    assert r.status_code == 403
    r = await pay.get(
        "/county/report", params={"region": TOWNSHIP, "year": 2025, "format": "pdf"}, headers=tokens["auditor"]
    )
    assert r.status_code == 422
    assert (
        await pay.get("/county/statistics", params={"region": TOWNSHIP, "period": "2025-07"}, headers=tokens["clerk"])
    ).status_code == 403


async def test_received_date_is_the_applications_not_the_day_the_event_was_processed(api, tokens, db):
    """受理日期 is the day the front desk received the application (carried by case.opened), not the day the county's
    consumer processed the event: a case received on 27 June and opened on 2 July counts as received in June and
    shows 2025-06-27 among the overdue cases; an event published before it carried the day keeps the old rule."""
    kit, township = CountyKit(db), "610626107"  # 吴仓堡镇: no other test feeds it
    received, processed = date(2025, 6, 27), date(2025, 7, 2)
    household = uuid.uuid4()
    opened = CaseOpened(
        case_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        household_id=household,
        programme="dibao",
        region_code=township + "201",
        status="accepted",
        due_date=date(2025, 7, 8),
        received_on=received,
    )
    await kit.publish(opened, household, at(processed))
    legacy = opened.model_copy(update={"case_id": uuid.uuid4(), "received_on": None, "due_date": date(2025, 7, 9)})
    await kit.publish(legacy, household, at(processed))

    async def received_in(period: str) -> int:
        r = await api("payments").get(
            "/county/statistics", params={"region": township, "period": period}, headers=tokens["auditor"]
        )
        assert r.status_code == 200, r.text
        return r.json()["cases_total"]["received"]

    assert (await received_in("2025-06"), await received_in("2025-07")) == (1, 1)
    page = await api("payments").get(
        "/county/dashboard", params={"region": township, "period": "2025-07"}, headers=tokens["auditor"]
    )
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr><td>[^<]*</td><td>吴仓堡镇[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", page.text)
    assert sorted(rows) == [("2025-06-27", "2025-07-08"), (str(processed), "2025-07-09")]


async def test_a_decision_counts_in_the_month_it_was_made_not_the_month_it_was_keyed_in(api, tokens, db):
    """A county approves on 24 September (the decision step's `on`) and a rejection is decided on 20 October, both
    keyed in on 3 December: September counts one approval and October one rejection, December none; decided before
    its 8 October deadline, the approval is not overdue. An event published before the date was carried keeps the
    old rule (the day it was entered)."""
    kit, township = CountyKit(db), "610626109"  # 五谷城镇: no other test feeds it
    keyed = at(date(2025, 12, 3))
    household = uuid.uuid4()
    common = {"household_id": household, "programme": "tekun", "region_code": township + "201"}
    approved, rejected = uuid.uuid4(), uuid.uuid4()
    for case_id, due in ((approved, date(2025, 10, 8)), (rejected, date(2025, 10, 31))):
        opened = CaseOpened(
            case_id=case_id,
            application_id=uuid.uuid4(),
            status="accepted",
            due_date=due,
            received_on=date(2025, 9, 10),
            **common,
        )
        await kit.publish(opened, household, at(date(2025, 9, 10)))
    await kit.publish(
        CaseApproved(
            case_id=approved,
            application_id=uuid.uuid4(),
            member_ids=[uuid.uuid4()],
            monthly_amount_fen=86_000,
            effective_month=Period(2025, 10),
            decided_at=keyed,
            decided_on=date(2025, 9, 24),
            **common,
        ),
        household,
        keyed,
    )
    await kit.publish(
        CaseRejected(
            case_id=rejected,
            application_id=uuid.uuid4(),
            reasons=["有履行义务能力的法定义务人"],
            decided_at=keyed,
            decided_on=date(2025, 10, 20),
            **common,
        ),
        household,
        keyed,
    )

    legacy = uuid.uuid4()  # published before case.rejected carried the date: the day it was entered
    await kit.publish(
        CaseRejected(case_id=legacy, application_id=uuid.uuid4(), reasons=["收入超标"], decided_at=keyed, **common),
        household,
        keyed,
    )

    async def cases(period: str) -> dict:
        r = await api("payments").get(
            "/county/statistics", params={"region": township, "period": period}, headers=tokens["auditor"]
        )
        assert r.status_code == 200, r.text
        return {k: r.json()["cases_total"][k] for k in ("approved", "rejected", "overdue")}

    assert await cases("2025-09") == {"approved": 1, "rejected": 0, "overdue": 0}
    assert await cases("2025-10") == {"approved": 0, "rejected": 1, "overdue": 0}
    assert await cases("2025-12") == {"approved": 0, "rejected": 1, "overdue": 0}


async def test_a_death_closed_by_the_partners_record_counts_as_verified_as_monitoring_counts_it(api, tokens, db):
    """A recipient's death alert is closed by the partner's record the day it is raised (death_reported), with no
    township step: monitoring's monthly report to 乡村振兴局 counts it among the month's verified alerts, and the
    county view (工作总结: 核实N条) must count the same."""
    kit, township = CountyKit(db), "610626110"  # a township code no other test raises alerts in
    household, alert_id, day = uuid.uuid4(), uuid.uuid4(), date(2025, 8, 14)
    common = {"alert_id": alert_id, "household_id": household, "region_code": township + "201"}
    await kit.publish(
        AlertRaised(**common, alert_type="recipient_death", due_date=None, trace={"rule": "recipient_death"}),
        household,
        at(day),
    )
    await kit.publish(
        AlertClosed(**common, alert_type="recipient_death", outcome="death_reported", closed_on=day), household, at(day)
    )
    r = await api("payments").get(
        "/county/statistics", params={"region": township, "period": "2025-08"}, headers=tokens["auditor"]
    )
    assert r.status_code == 200, r.text
    assert (r.json()["alerts"]["raised"], r.json()["alerts"]["verified"]) == (1, 1)


async def test_the_dashboard_names_the_village_as_its_county_loaded_it(api, tokens, db):
    """An overdue case is listed with its township and village: by the village's number until the county loads
    its names at intake (villages.loaded), by its name after."""
    kit, township = CountyKit(db), "610626108"  # 庙沟镇: no other test feeds it
    household, village = uuid.uuid4(), township + "203"
    opened = CaseOpened(
        case_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        household_id=household,
        programme="tekun",
        region_code=village,
        status="accepted",
        due_date=date(2025, 8, 8),
        received_on=date(2025, 8, 1),
    )
    await kit.publish(opened, household, at(date(2025, 8, 1)))

    async def listed() -> list[str]:
        page = await api("payments").get(
            "/county/dashboard", params={"region": township, "period": "2025-08"}, headers=tokens["auditor"]
        )
        assert page.status_code == 200, page.text
        return re.findall(r"<tr><td>[^<]*</td><td>(庙沟镇[^<]*)</td><td>2025-08-01</td>", page.text)

    assert await listed() == ["庙沟镇203村"]
    await villages_loaded(db, {village: "杨青村"})
    assert await listed() == ["庙沟镇杨青村"]


async def test_a_run_of_one_cases_events_folds_in_order(db):
    """The county consumer takes a run of case events in one statement per wave: a case's second and third events
    in the run fold onto its first as one by one would (status the last one's, decision and its day the first)."""
    from aiokafka import ConsumerRecord

    from shared.events.catalogue import CaseStatusChanged, event_type, spec_for
    from shared.events.envelope import DomainEvent

    kit, region = CountyKit(db), "610626107202"
    household, case, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    application = uuid.uuid4()

    def record(data, when, offset: int) -> ConsumerRecord:
        event = DomainEvent(type=event_type(type(data)), key=str(household), data=data, time=when)
        value = event.to_cloudevent("/tests", None).to_json()
        topic = spec_for(event_type(type(data))).topic.value
        return ConsumerRecord(topic, 0, 20_000_000 + offset, 0, 0, str(household).encode(), value, None, 0, 0, [])

    def changed(case_id, status, previous) -> CaseStatusChanged:
        return CaseStatusChanged(
            case_id=case_id,
            application_id=application,
            household_id=household,
            region_code=region,
            status=status,
            previous_status=previous,
        )

    opened = CaseOpened(
        case_id=case,
        application_id=application,
        household_id=household,
        programme="dibao",
        region_code=region,
        status="accepted",
        due_date=date(2025, 8, 8),
        received_on=date(2025, 8, 1),
    )
    await kit.county.process(
        [
            record(opened, at(date(2025, 8, 1)), 0),
            record(opened.model_copy(update={"case_id": other}), at(date(2025, 8, 1)), 1),
            record(changed(case, "investigating", "accepted"), at(date(2025, 8, 2)), 2),
            record(changed(other, "investigating", "accepted"), at(date(2025, 8, 2)), 3),
            record(changed(case, "withdrawn", "investigating"), at(date(2025, 8, 3)), 4),
            record(changed(case, "reviewing", "withdrawn"), at(date(2025, 8, 4)), 5),  # a late, stray event
        ]
    )
    async with db.connect() as conn:
        rows = {
            r.case_id: (r.programme, r.received_on, r.status, r.decision, r.decided_on)
            for r in await conn.execute(
                text("SELECT * FROM payments.county_cases WHERE case_id = ANY(:ids)"), {"ids": [case, other]}
            )
        }
    assert rows == {
        case: ("dibao", date(2025, 8, 1), "reviewing", "withdrawn", date(2025, 8, 3)),
        other: ("dibao", date(2025, 8, 1), "investigating", None, None),
    }


async def test_the_totals_count_each_household_and_person_once_whatever_its_programmes(api, tokens, db):
    """合计 (the statistics' totals, their .xlsx row, the dashboard's 保障户数 / 保障人数 and the 工作总结's sentence)
    counts a household and a person once, as the 花名册 does; the rows stay one per programme. Found by a tester:
    杨文华's 低保 household (2 persons, 460.00) whose member 杨丽 also has the 重度残疾人护理补贴 (80.00) was 2 户 3 人.

    - 杨文华: 低保 for 2 persons, 460.00; 杨丽, one of them, 护理补贴 80.00 → 1 户 2 人 (was 2 户 3 人);
    - 白秀英's household: she has 特困 (700.00), her son 护理补贴 (80.00): two persons, no household programme
      → 1 户 2 人 (was 2 户 2 人);
    - 李建国: 低保 for 3 persons, 500.00 → 1 户 3 人.
    Totals 3 户 7 人 (summing the rows gave 5 户 8 人), 460 + 80 + 700 + 80 + 500 = 1820.00 元, 0.18 万元."""
    kit, area, month = PaymentsKit(db, "payments.county-totals"), township(), Period(2026, 10)
    village = area + "201"
    yang, bai, li = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    yang_li, bai_xiuying, bai_son = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for household in (yang, bai, li):
        await kit.payee(household, village, f"62170000{random.randint(10**10, 10**11 - 1)}")

    async def owes(household, programme, fen, persons, member=None) -> None:
        await kit.schedule(
            uuid.uuid4(),
            household,
            village,
            month,
            [(month, month, fen)],
            programme=programme,
            persons=persons,
            member_id=member,
            reason="approval",
        )

    await owes(yang, "dibao", 46_000, 2)
    await owes(yang, "disability_care", 8_000, 1, yang_li)
    await owes(bai, "tekun", 70_000, 1, bai_xiuying)
    await owes(bai, "disability_care", 8_000, 1, bai_son)
    await owes(li, "dibao", 50_000, 3)
    await kit.exported(api("payments"), area, month, tokens["finance"], OTHER_FINANCE)

    s = await _stats(api, tokens, region=area, period=str(month))
    assert {p["programme"]: (p["households"], p["persons"], p["money_fen"]) for p in s["programmes"]} == {
        "dibao": (2, 5, 96_000),
        "disability_care": (2, 2, 16_000),
        "tekun": (1, 1, 70_000),
    }
    assert (s["totals"]["households"], s["totals"]["persons"], s["totals"]["money_fen"]) == (3, 7, 182_000)
    assert s["totals"]["money_wan_yuan"] == "0.18"

    r = await api("payments").get(
        "/county/statistics",
        params={"region": area, "period": str(month), "format": "xlsx"},
        headers=tokens["auditor"],
    )
    assert r.status_code == 200, r.text
    money = list(openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)["资金发放"].iter_rows(values_only=True))
    assert money[-1][:4] == ("合计", 3, 7, 1820.0)

    page = await api("payments").get(
        "/county/dashboard", params={"region": area, "period": str(month)}, headers=tokens["auditor"]
    )
    assert page.status_code == 200, page.text
    figures = dict(re.findall(r'data-figure="(total\.[a-z_]+)">([^<]*)<', page.text))
    assert (figures["total.households"], figures["total.persons"]) == ("3", "7")
    assert "<tfoot><tr><td>合计</td><td>3</td><td>7</td>" in page.text

    for fmt in ("md", "docx"):
        r = await api("payments").get(
            "/county/report",
            params={"region": area, "year": 2026, "half": 2, "format": fmt},
            headers=tokens["auditor"],
        )
        assert r.status_code == 200, r.text
        body = r.text if fmt == "md" else "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
        assert "共保障各类社会救助对象3户7人，累计发放救助资金0.18万元" in body
        assert "保障城乡低保对象2户5人" in body
