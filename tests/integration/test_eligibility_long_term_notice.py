"""The long-term public notice (长期公示) of a village through eligibility's API on the real PostgreSQL: a household
approved appears, one stopped disappears, an amount changed by a review shows its new amount, in JSON, .xlsx and
the printable page alike; and none of them shows an ID number, an illness, an income or a full name (domain.md),
with every text cell of the spreadsheet a string (a name beginning with = is not a formula)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from openpyxl import load_workbook

from services.eligibility.cases.service import record_households
from services.eligibility.models import platform
from shared.core.period import china_today
from shared.db import session_factory
from shared.events.catalogue import HouseholdRegistered
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import delivery, report_death, villages_loaded
from tests.integration.test_eligibility_workflow import (  # noqa: F401 (open_wuqi_case is a fixture)
    _member,
    _post,
    _to_notice,
    open_wuqi_case,
    wuqi_household,
)

VILLAGE = "610626101232"  # 铁边城镇232村: no other test has anyone there
ALLOWED = {"village_code", "village_name", "name", "persons", "programme", "monthly_amount_fen", "since"}


def _household(head: str, spouse: str, child: str, income_fen: int = 30_000):
    """Three rural members, the head seriously ill and disabled (facts a notice must never show)."""
    return wuqi_household(
        region_code=VILLAGE,
        members=[
            _member(head, "1962-04-15", "head", labour_capacity="partial", serious_illness=True, disability_grade=2),
            _member(spouse, "1965-08-02", "spouse"),
            _member(child, "2010-09-03", "child", student=True),
        ],
        incomes=[{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": income_fen}],
    )


async def _approved(api, tokens, open_case, snapshot) -> str:
    case_id, _ = await open_case(date(2023, 9, 4), snapshot=snapshot)
    await _to_notice(api, tokens, case_id)
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})).status_code == 200
    r = await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 200, r.text
    return case_id


async def _notice(api, tokens, fmt: str = "json", village: str = VILLAGE):
    r = await api("eligibility").get(
        f"/notices/{village}/recipients", params={"format": fmt}, headers=tokens["reviewer"]
    )
    assert r.status_code == 200, r.text
    return r


async def test_the_notice_follows_every_decision_and_shows_nothing_private(
    api,
    tokens,
    db,
    open_wuqi_case,  # noqa: F811
):
    # 吴起县 2023 rural tiers: 300 yuan for 3 people is 100 a head → 450-yuan tier, 3 × 450 = 1350 yuan a month.
    kept = _household("欧阳振华", "李秀英", "欧阳小宝")
    changed = _household("=SUM(A1)", "王桂兰", "张小军")  # a name a spreadsheet would take for a formula
    stopped = _household("司马德胜", "赵春梅", "司马小强")
    ids = {}
    for name, snapshot in (("kept", kept), ("changed", changed), ("stopped", stopped)):
        ids[name] = await _approved(api, tokens, open_wuqi_case, snapshot)
    before = (await _notice(api, tokens)).json()
    listed = sorted(
        (r["name"], r["persons"], r["programme"], r["monthly_amount_fen"], r["since"]) for r in before["rows"]
    )
    assert listed == [
        ("=******)", 3, "最低生活保障", 135_000, "2023-10"),
        ("司**胜", 3, "最低生活保障", 135_000, "2023-10"),
        ("欧**华", 3, "最低生活保障", 135_000, "2023-10"),
    ]
    assert (before["households"], before["persons"], before["monthly_total_fen"]) == (3, 9, 405_000)
    assert before["issuer"] == "吴起县民政局" and before["region_name"] == "铁边城镇232村"

    # A review finds 600 yuan: 200 a head → 400-yuan tier, 3 × 400 = 1200 yuan; a death stops the third.
    richer = wuqi_household(
        household_id=str(changed.household_id),
        region_code=VILLAGE,
        members=[m.model_dump(mode="json") for m in changed.members],
        incomes=[{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 60_000}],
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_households(
            uow,
            [delivery(HouseholdRegistered(household_id=changed.household_id, region_code=VILLAGE, snapshot=richer))],
        )
        await uow.commit()
    r = await _post(api, tokens, "reviewer", ids["changed"], "review", {"on": "2024-03-10", "opinion": "年度核查"})
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 120_000, r.text
    r = await _post(
        api,
        tokens,
        "approver",
        ids["stopped"],
        "termination",
        {"on": "2024-05-20", "reason": "moved", "opinion": "迁往宝塔区"},
    )
    assert r.status_code == 200, r.text

    after = (await _notice(api, tokens)).json()
    expected = [("=******)", 3, 120_000, "2023-10"), ("欧**华", 3, 135_000, "2023-10")]
    assert sorted((r["name"], r["persons"], r["monthly_amount_fen"], r["since"]) for r in after["rows"]) == expected
    assert (after["households"], after["persons"], after["monthly_total_fen"]) == (2, 6, 255_000)
    assert all(set(row) == ALLOWED for row in after["rows"])

    sheet = load_workbook(io.BytesIO((await _notice(api, tokens, "xlsx")).content)).active
    rows = [row for row in sheet.iter_rows(min_row=3) if isinstance(row[0].value, int)]
    assert sorted((r[2].value, r[3].value, r[4].value, r[5].value, r[6].value) for r in rows) == [
        ("=******)", 3, "最低生活保障", 1200, "2023-10"),
        ("欧**华", 3, "最低生活保障", 1350, "2023-10"),
    ]
    assert all(r[c].data_type == "s" for r in rows for c in (1, 2, 4, 6))  # strings, never formulas or dates
    cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)

    page = await _notice(api, tokens, "html")
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"] and "<script" not in page.text
    shown = re.findall(
        r"<tr><td class=\"n\">\d+</td><td>[^<]*</td><td>([^<]*)</td><td class=\"n\">(\d+)</td>"
        r"<td>[^<]*</td><td class=\"n\">([\d.]+)</td><td>([^<]*)</td></tr>",
        page.text,
    )
    assert sorted(shown) == [("=******)", "3", "1200.00", "2023-10"), ("欧**华", "3", "1350.00", "2023-10")]
    assert "吴起县民政局" in page.text and "铁边城镇232村社会救助对象长期公示" in page.text

    # Nothing private in any format: no full name, income, illness, disability or ID number.
    for content in (str(after), cells, page.text):
        for private in (
            "欧阳振华",
            "司马德胜",
            "=SUM(A1)",
            "李秀英",
            "300.00",
            "600.00",
            "serious_illness",
            "disability",
        ):
            assert private not in content
        assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", content)
        assert "大病" not in content and "残疾" not in content and "收入" not in content

    # Another township's reviewer does not see this village (as if it did not exist); a clerk exports no notice;
    # a malformed code is a 422 naming the field.
    elsewhere = bearer("reviewer-zhouwan", ["township_reviewer"], "610626102")
    assert (await api("eligibility").get(f"/notices/{VILLAGE}/recipients", headers=elsewhere)).status_code == 404
    assert (await api("eligibility").get(f"/notices/{VILLAGE}/recipients", headers=tokens["clerk"])).status_code == 403
    bad = await api("eligibility").get("/notices/61062610123/recipients", headers=tokens["reviewer"])
    assert bad.status_code == 422 and "region_code" in bad.text
    for other_digits in ("６１０６２６１０１２３２", "٦١٠٦٢٦١٠١٢٣٢"):  # full-width, Arabic-Indic: 0-9 only
        bad = await api("eligibility").get(f"/notices/{other_digits}/recipients", headers=tokens["reviewer"])
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "path.region_code", bad.text


async def test_a_household_in_gradual_exit_is_listed_until_its_last_month(
    api,
    tokens,
    db,
    open_wuqi_case,  # noqa: F811
):
    """渐退: a son's job lifts the household above the standard; it is paid for six more months, then off the
    notice. One exit began in March 2024 (last month September 2024: gone), the other today (still listed)."""
    village = "610626101233"  # no other test has anyone there
    ended = _household("诸葛文", "黄月英", "诸葛瞻").model_copy(update={"region_code": village})
    ongoing = _household("上官明远", "上官婉", "上官仪").model_copy(update={"region_code": village})
    today = china_today()
    for snapshot, reviewed_on in ((ended, date(2024, 3, 10)), (ongoing, today)):
        case_id = await _approved(api, tokens, open_wuqi_case, snapshot)
        members = [m.model_dump(mode="json") for m in snapshot.members]
        members[2].update(student=False, employed=True, birth_date=str(today - timedelta(days=365 * 20)))
        working = wuqi_household(
            household_id=str(snapshot.household_id),
            region_code=village,
            members=members,
            incomes=[
                {
                    "member_id": members[2]["member_id"],
                    "kind": "wages",
                    "subkind": "salary",
                    "monthly_amount_fen": 300_000,
                }
            ],
        )
        async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
            await record_households(
                uow,
                [
                    delivery(
                        HouseholdRegistered(household_id=snapshot.household_id, region_code=village, snapshot=working)
                    )
                ],
            )
            await uow.commit()
        r = await _post(api, tokens, "reviewer", case_id, "review", {"on": str(reviewed_on), "opinion": "务工收入"})
        assert r.status_code == 200 and r.json()["status"] == "gradual_exit", r.text
    rows = (await _notice(api, tokens, village=village)).json()["rows"]
    assert [(r["name"], r["monthly_amount_fen"]) for r in rows] == [("上**远", 135_000)]
    assert [r["village_name"] for r in rows] == ["铁边城镇233村"]
    # Once 吴起县 loads its villages at intake (villages.loaded), the notice names the village it is posted in.
    await villages_loaded(db, {village: "东风村"})
    named = (await _notice(api, tokens, village=village)).json()
    assert named["region_name"] == "铁边城镇东风村" and [r["village_name"] for r in named["rows"]] == ["铁边城镇东风村"]
    page = await _notice(api, tokens, "html", village=village)
    assert "铁边城镇东风村社会救助对象长期公示" in page.text


async def test_a_member_who_died_is_no_longer_counted(api, tokens, db, open_wuqi_case):  # noqa: F811
    """A death in a household of three: the death rule prices the two left from the month after (300 yuan for two
    is 150 a head → the 450-yuan tier, 2 × 450 = 900 yuan), and the notice counts two persons, not the three the
    approval covered."""
    village = "610626101234"
    snapshot = _household("欧阳德明", "李春兰", "欧阳小明")
    snapshot = snapshot.model_copy(update={"region_code": village})
    case_id = await _approved(api, tokens, open_wuqi_case, snapshot)
    spouse = next(m.member_id for m in snapshot.members if m.relation == "spouse")
    await report_death(db, snapshot.household_id, spouse, village, date(2024, 3, 17))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["reviewer"])).json()
    assert case["monthly_amount_fen"] == 90_000
    [row] = (await _notice(api, tokens, village=village)).json()["rows"]
    assert (row["persons"], row["monthly_amount_fen"]) == (2, 90_000)


async def test_the_total_counts_a_household_with_two_programmes_once_and_each_person_once(
    api,
    tokens,
    open_wuqi_case,  # noqa: F811
):
    """A household of three on 低保 (300 yuan for three: the 450-yuan tier, 3 × 450 = 1350 yuan) whose head, disabled
    grade 2, also gets 困难残疾人生活补贴 (85 yuan): two rows, one per programme, but one household of three persons
    in the 合计 — the head is one of the three — and the money of both: 1350 + 85 = 1435 yuan. A second household
    (one programme) makes it 2 户 6 人, 2785 yuan. JSON, .xlsx and the printed page say the same."""
    village = "610626101237"  # no other test has anyone there
    both = _household("皇甫建国", "刘桂英", "皇甫小龙").model_copy(update={"region_code": village})
    other = _household("慕容清", "王秀兰", "慕容小雨").model_copy(update={"region_code": village})
    await _approved(api, tokens, open_wuqi_case, both)
    await _approved(api, tokens, open_wuqi_case, other)
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), "disability_living", snapshot=both)
    for who, path, body in (  # no 民主评议 for the subsidy: from the township's opinion to the notice
        ("clerk", "investigation", {"on": "2023-09-05"}),
        ("clerk", "home-visits", {"on": "2023-09-06", "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": "2023-09-11", "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": "2023-09-12", "recommendation": "approve", "opinion": "建议纳入"}),
    ):
        assert (await _post(api, tokens, who, case_id, path, body)).status_code == 200, path
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})).status_code == 200
    r = await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 8_500, r.text

    notice = (await _notice(api, tokens, village=village)).json()
    assert sorted((r["name"], r["persons"], r["programme"], r["monthly_amount_fen"]) for r in notice["rows"]) == [
        ("慕*清", 3, "最低生活保障", 135_000),
        ("皇**国", 1, "困难残疾人生活补贴", 8_500),
        ("皇**国", 3, "最低生活保障", 135_000),
    ]
    assert (notice["households"], notice["persons"], notice["monthly_total_fen"]) == (2, 6, 278_500)
    [v] = notice["villages"]  # the village's own 合计, which its printed page shows
    assert (v["village_code"], v["households"], v["persons"], v["monthly_total_fen"]) == (village, 2, 6, 278_500)

    sheet = load_workbook(io.BytesIO((await _notice(api, tokens, "xlsx", village=village)).content)).active
    [total] = [row for row in sheet.iter_rows(values_only=True) if str(row[0]).startswith("合计")]
    assert (total[0], total[5]) == ("合计 2 户 6 人", 2785)

    page = (await _notice(api, tokens, "html", village=village)).text
    assert re.findall(r"<p class=\"total\">([^<]*)</p>", page) == ["合计 2 户 6 人，月保障金额 2785.00 元"]


async def _person_level_approved(api, tokens, open_case, programme: str, snapshot) -> dict:
    """A person-level application that names no applicant (`applicant_member_id` absent: the rule looks at every
    member), taken from the township's opinion to the notice (no 民主评议 for a subsidy) and approved."""
    case_id, _ = await open_case(date(2023, 9, 4), programme, snapshot=snapshot)
    for who, path, body in (
        ("clerk", "investigation", {"on": "2023-09-05"}),
        ("clerk", "home-visits", {"on": "2023-09-06", "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": "2023-09-11", "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": "2023-09-12", "recommendation": "approve", "opinion": "建议纳入"}),
    ):
        assert (await _post(api, tokens, who, case_id, path, body)).status_code == 200, path
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})).status_code == 200
    r = await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_person_level_row_names_the_person_the_case_pays_not_the_head(
    api,
    tokens,
    open_wuqi_case,  # noqa: F811
):
    """The demo's 杨丽 (2级 intellectual disability) gets 重度残疾人护理补贴 on an application that named no
    applicant: her row is 杨*, not her father 杨*华, the head. A second household whose head is well and whose two
    other members are disabled (grades 1 and 2) has one case paying both: the row names both, counts two persons,
    and the 合计 counts two households and three persons. No ID number, no disability appears."""
    village = "610626101238"  # no other test has anyone there
    yang = wuqi_household(
        region_code=village,
        members=[
            _member("杨文华", "1978-06-11", "head", employed=True),
            _member("杨丽", "2005-02-17", "child", disability_category="intellectual", disability_grade=2),
        ],
        incomes=[{"kind": "wages", "subkind": "salary", "monthly_amount_fen": 90_000}],
    )
    feng = wuqi_household(
        region_code=village,
        members=[
            _member("冯国强", "1970-01-20", "head"),
            _member("冯老汉", "1940-03-05", "parent", disability_category="physical", disability_grade=1),
            _member("冯小燕", "2008-07-09", "child", disability_category="visual", disability_grade=2),
        ],
    )
    paid = await _person_level_approved(api, tokens, open_wuqi_case, "disability_care", yang)
    assert paid["monthly_amount_fen"] == 8_000, paid  # 吴起县: 80 yuan a month for grade 2
    both = await _person_level_approved(api, tokens, open_wuqi_case, "disability_care", feng)

    notice = (await _notice(api, tokens, village=village)).json()
    rows = sorted((r["name"], r["persons"], r["programme"], r["monthly_amount_fen"]) for r in notice["rows"])
    assert rows == sorted(
        [("杨*", 1, "重度残疾人护理补贴", 8_000), ("冯*汉、冯*燕", 2, "重度残疾人护理补贴", both["monthly_amount_fen"])]
    )
    assert (notice["households"], notice["persons"]) == (2, 3)
    for content in (
        str(notice),
        (await _notice(api, tokens, "html", village=village)).text,
        " ".join(
            str(c.value)
            for row in load_workbook(
                io.BytesIO((await _notice(api, tokens, "xlsx", village=village)).content)
            ).active.iter_rows()
            for c in row
            if c.value is not None
        ),
    ):
        assert "杨*华" not in content and "冯*强" not in content  # the heads, whom these cases do not pay
        assert "杨丽" not in content and "冯老汉" not in content and "冯小燕" not in content
        assert "残疾人护理" in content and "级残疾" not in content
        assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", content)
