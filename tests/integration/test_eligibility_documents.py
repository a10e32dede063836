"""A case's documents through eligibility's API on the real PostgreSQL: the 审核确认表 after a 吴起县 低保 approval,
the 调整保障金通知书 after a review found another amount, the 停保通知书 after a stop and the 不予批准通知书 of a
rejection, each opened with python-docx and every figure read back from the file: the page and margins of GB/T
9704-2012, the fonts (East-Asian names included), the amounts worked out by hand from the county's tier table, the
steps with who and when, the issuing bureau and the date; and no ID number anywhere in the XML."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from sqlalchemy import text

from tests.helpers import villages_loaded
from tests.integration.test_eligibility_workflow import (  # noqa: F401 (open_wuqi_case is a fixture)
    _post,
    _to_notice,
    household_facts,
    open_wuqi_case,
    wuqi_household,
)
from tests.official_document_kit import assert_official_layout

VILLAGE = "610626101231"  # 铁边城镇, a village no other test uses
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# GB 11643: 17 digits and a check character, wherever it stands in the XML.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _household(**overrides):
    return wuqi_household(region_code=VILLAGE, **overrides)


async def _document(api, tokens, case_id: str, kind: str, who: str = "approver"):
    return await api("eligibility").get(f"/cases/{case_id}/documents/{kind}", headers=tokens[who])


def _opened(response) -> Document:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    return Document(io.BytesIO(response.content))


def _closing(doc: Document) -> list[str]:
    """The issuing body and the date: the last two paragraphs, right-aligned."""
    last = [p for p in doc.paragraphs if p.text][-2:]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.RIGHT for p in last)
    return [p.text for p in last]


def _no_id_number(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                assert not ID_NUMBER.search(z.read(name).decode()), name


def _conclusion(doc: Document) -> list[str]:
    """认定结论 and what the form says of the rules' own finding (规则测算, 初步认定)."""
    return [p.text for p in doc.paragraphs if p.text.startswith(("认定结论", "规则测算", "初步认定"))]


def _table_rows(doc: Document) -> list[list[str]]:
    return [[c.text for c in row.cells] for table in doc.tables for row in table.rows]


async def _stopped_as_moved(api, tokens, case_id: str) -> None:
    """停保 on 20 May 2024: the household moved away (paid for May, stopped from June)."""
    body = {"on": "2024-05-20", "reason": "moved", "opinion": "迁往宝塔区"}
    r = await _post(api, tokens, "approver", case_id, "termination", body)
    assert r.status_code == 200, r.text


async def _approve(api, tokens, case_id: str) -> None:
    await _to_notice(api, tokens, case_id)
    r = await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    assert r.status_code == 200, r.text
    r = await _post(
        api,
        tokens,
        "approver",
        case_id,
        "decision",
        {"on": "2023-09-25", "decision": "approve", "opinion": "经审核，同意纳入农村低保"},
    )
    assert r.status_code == 200, r.text


async def test_approval_adjustment_and_stop_documents_carry_the_cases_figures(api, tokens, db, open_wuqi_case):  # noqa: F811
    snapshot = _household()
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=snapshot)
    for kind in ("approval-form", "rejection-notice", "termination-notice", "adjustment-notice"):
        assert (await _document(api, tokens, case_id, kind)).status_code == 409  # nothing decided yet
    await _approve(api, tokens, case_id)

    # 审核确认表. 吴起县 2023, rural tiers: 300 yuan of counted income for 3 people is 100 yuan a head, not below
    # the 100-yuan tier, so the 450-yuan tier: 3 × 450 = 1350 yuan a month from October.
    r = await _document(api, tokens, case_id, "approval-form")
    form = _opened(r)
    assert_official_layout(form, "最低生活保障审核确认表")
    rows = _table_rows(form)
    assert ["申请人", "刘志明", "所在村（社区）", "铁边城镇231村"] in rows
    assert ["户籍性质", "农村", "受理日期", "2023年9月4日"] in rows
    assert ["申请项目", "最低生活保障", "保障人数", "3人"] in rows
    assert [r[:4] for r in rows if r[0] in ("刘志明", "高桂芳", "刘小军")] == [
        ["刘志明", "户主", "男", "1962年4月15日"],
        ["高桂芳", "配偶", "男", "1965年8月2日"],
        ["刘小军", "子女", "男", "2010年9月3日"],
    ]
    text_of_form = "\n".join(p.text for p in form.paragraphs)
    assert _conclusion(form) == ["认定结论：符合保障条件。保障金额：每月1350.00元。"]
    assert "发放起始年月：2023年10月。" in text_of_form
    assert "分档施保: 每人每月450.00元×3人 = 1350.00元。" in text_of_form
    trace = {r[0]: r[1] for r in rows if r[0].startswith("dibao.")}
    assert trace["dibao.standard.rural"] == "6000.00元/年" and trace["dibao.mode.rural"] == "tier"
    steps = [
        r
        for r in rows
        if r[0]
        in ("启动调查", "入户调查", "家庭经济状况核对", "乡镇（街道）初审", "民主评议", "公示期满", "县级审核确认")
    ]
    assert [(s[0], s[1], s[2]) for s in steps] == [
        ("启动调查", "2023年9月5日", "clerk-tiebian"),
        ("入户调查", "2023年9月6日", "clerk-tiebian"),
        ("家庭经济状况核对", "2023年9月11日", "reviewer-tiebian"),
        ("乡镇（街道）初审", "2023年9月12日", "reviewer-tiebian"),
        ("民主评议", "2023年9月13日", "reviewer-tiebian"),
        ("公示期满", "2023年9月20日", "reviewer-tiebian"),
        ("县级审核确认", "2023年9月25日", "approver-wuqi"),
    ]
    assert [s[3] for s in steps] == [
        "",
        "调查人：张强、李娜；调查情况：窑洞一孔，家中无大件家电，与申报一致",
        "核对结果：一致",
        "建议批准；符合农村低保条件，建议纳入",
        "评议结果：同意；参加9人；民主评议一致同意",
        "",
        "经审核，同意纳入农村低保",
    ]
    assert "同意。经审核，同意纳入农村低保" in text_of_form
    assert text_of_form.count("（签字）") >= 4  # room for the township's and the county's signatures
    assert _closing(form) == ["吴起县民政局", "2023年9月25日"]
    _no_id_number(r.content)

    # A review finds 600 yuan of income: 200 yuan a head, the 400-yuan tier, 3 × 400 = 1200 yuan from April.
    members = [m.model_dump(mode="json") for m in snapshot.members]
    richer = _household(
        household_id=str(snapshot.household_id),
        members=members,
        incomes=[{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 60_000}],
    )
    await household_facts(db, richer)
    r = await _post(
        api, tokens, "reviewer", case_id, "review", {"on": "2024-03-10", "opinion": "年度核查，务工收入增加"}
    )
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 120_000, r.text
    r = await _document(api, tokens, case_id, "adjustment-notice", who="reviewer")
    adjusted = _opened(r)
    assert_official_layout(adjusted, "调整保障金通知书")
    body = "\n".join(p.text for p in adjusted.paragraphs)
    assert "铁边城镇231村 刘志明：" in body
    assert "保障金由每月1350.00元自2024年4月起调整为每月1200.00元。" in body
    assert "调整依据：年度核查，务工收入增加" in body
    assert "每人每月400.00元×3人 = 1200.00元" in body
    assert _closing(adjusted) == ["吴起县民政局", "2024年3月10日"]
    _no_id_number(r.content)
    assert (await _document(api, tokens, case_id, "termination-notice")).status_code == 409

    # The 审核确认表 records the decision: the review that followed changes neither its figures nor its 计算依据.
    again = _opened(await _document(api, tokens, case_id, "approval-form"))
    text_again = "\n".join(p.text for p in again.paragraphs)
    assert "认定结论：符合保障条件。保障金额：每月1350.00元。" in text_again
    assert "分档施保: 每人每月450.00元×3人 = 1350.00元。" in text_again and "400.00元" not in text_again
    assert [r for r in _table_rows(again) if r[0].startswith("dibao.")] == [
        r for r in rows if r[0].startswith("dibao.")
    ]

    # 停保 on 20 May 2024 for a household that moved away: paid for May, stopped from June. (A death in a household of
    # three re-prices the case for the other two instead of stopping it.)
    await _stopped_as_moved(api, tokens, case_id)
    r = await _document(api, tokens, case_id, "termination-notice", who="auditor")
    stopped = _opened(r)
    assert_official_layout(stopped, "停止最低生活保障通知书")
    body = "\n".join(p.text for p in stopped.paragraphs)
    assert "享受的最低生活保障（每月1200.00元），因户籍迁出或者不再在本地居住" in body
    assert "决定自2024年6月起停止发放，2024年5月为最后发放月份。" in body
    assert "具体情况：迁往宝塔区" in body and "吴起县人民政府申请行政复议" in body
    assert _closing(stopped) == ["吴起县民政局", "2024年5月20日"]
    _no_id_number(r.content)
    assert (await _document(api, tokens, case_id, "rejection-notice")).status_code == 409

    # Other regions see nothing; a bad kind is a 422 naming it; every document read is audited.
    assert (await _document(api, tokens, case_id, "approval-form", who="clerk_other_township")).status_code == 404
    assert (await _document(api, tokens, str(uuid.uuid4()), "approval-form")).status_code == 404
    bad = await _document(api, tokens, case_id, "receipt")
    assert bad.status_code == 422 and "kind" in bad.text
    async with db.connect() as conn:
        audited = (
            await conn.execute(
                text(
                    "SELECT actor, details->>'kind' FROM eligibility.audit_log WHERE action = 'case.document' "
                    "AND resource_id = :c ORDER BY id"
                ),
                {"c": case_id},
            )
        ).all()
    assert [tuple(a) for a in audited] == [
        ("approver-wuqi", "approval-form"),
        ("reviewer-tiebian", "adjustment-notice"),
        ("approver-wuqi", "approval-form"),
        ("auditor-yanan", "termination-notice"),
    ]


async def test_rejection_notice_gives_the_written_reasons(api, tokens, open_wuqi_case):  # noqa: F811
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=_household())
    await _to_notice(api, tokens, case_id)
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})).status_code == 200
    reasons = ["家庭拥有机动车辆一辆，不符合财产条件", "申请时未如实申报家庭财产"]
    r = await _post(
        api,
        tokens,
        "approver",
        case_id,
        "decision",
        {"on": "2023-09-25", "decision": "reject", "reasons": reasons, "opinion": "经核查，不予批准"},
    )
    assert r.status_code == 200, r.text
    r = await _document(api, tokens, case_id, "rejection-notice")
    notice = _opened(r)
    assert_official_layout(notice, "不予批准通知书")
    texts = [p.text for p in notice.paragraphs if p.text]
    assert texts[1] == "铁边城镇231村 刘志明："  # the village by its number until 吴起县 loads its list
    assert "你（你家）于2023年9月4日提出的最低生活保障申请" in texts[2] and "决定不予批准" in texts[2]
    assert texts[3:5] == [f"1. {reasons[0]}", f"2. {reasons[1]}"]
    assert "审核意见：经核查，不予批准" in texts
    assert any("六十日内向吴起县人民政府申请行政复议" in t for t in texts)
    assert _closing(notice) == ["吴起县民政局", "2023年9月25日"]
    _no_id_number(r.content)
    form = _opened(await _document(api, tokens, case_id, "approval-form"))  # the form records a rejection too
    assert {"不同意。经核查，不予批准", "不予批准理由：" + "；".join(reasons) + "。"} <= {
        p.text for p in form.paragraphs
    }
    # Its conclusion is the decision's, with the reasons: the rules priced the household (1350 yuan, its car is no
    # fact they read), which the form says as the rules' figure, never as 符合保障条件 above the rejection.
    assert _conclusion(form) == [
        "认定结论：不符合保障条件，不予批准。理由：" + "；".join(reasons) + "。",
        "规则测算：每月1350.00元（未予批准）。",
    ]
    assert "保障金额" not in "\n".join(p.text for p in form.paragraphs)
    for kind in ("termination-notice", "adjustment-notice"):
        assert (await _document(api, tokens, case_id, kind)).status_code == 409


async def test_documents_name_the_village_as_the_county_loaded_it(api, tokens, db, open_wuqi_case):  # noqa: F811
    """The division tables stop at townships: once 吴起县 loaded its villages at intake, the 审核确认表 and the
    notices to the household name the village (铁边城镇红旗村), not its number (铁边城镇235村); an older list
    arriving late (a replay) does not undo a newer one."""
    named = "610626101235"  # no other test has anyone there
    await villages_loaded(db, {named: "红旗村"})
    await villages_loaded(db, {named: "旧名村"}, datetime.now(UTC) - timedelta(days=1))
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=wuqi_household(region_code=named))
    await _approve(api, tokens, case_id)
    form = _table_rows(_opened(await _document(api, tokens, case_id, "approval-form")))
    assert ["申请人", "刘志明", "所在村（社区）", "铁边城镇红旗村"] in form
    await _stopped_as_moved(api, tokens, case_id)
    stopped = _opened(await _document(api, tokens, case_id, "termination-notice"))
    assert "铁边城镇红旗村 刘志明：" in [p.text for p in stopped.paragraphs]


async def test_a_stop_on_review_says_why_the_rules_found_the_household_ineligible(api, tokens, db, open_wuqi_case):  # noqa: F811
    """A review that finds the household no longer eligible stops it: the 停保通知书 gives the review's own findings
    (here a car, over the county's property rule), not a stock phrase about the household's income."""
    snapshot = _household()
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=snapshot)
    await _approve(api, tokens, case_id)
    with_car = _household(
        household_id=str(snapshot.household_id),
        members=[m.model_dump(mode="json") for m in snapshot.members],
        incomes=[i.model_dump(mode="json") for i in snapshot.incomes],
        properties=[{"kind": "vehicle", "value_fen": 5_000_000}],
    )
    await household_facts(db, with_car)
    r = await _post(api, tokens, "reviewer", case_id, "review", {"on": "2024-03-10", "opinion": "年度核查"})
    assert r.status_code == 200 and r.json()["status"] == "terminated", r.text
    findings = [x for x in r.json()["assessment_reasons"] if "车" in x]
    assert findings, r.json()["assessment_reasons"]
    body = "\n".join(p.text for p in _opened(await _document(api, tokens, case_id, "termination-notice")).paragraphs)
    assert "家庭经济状况" not in body
    assert "经定期核查，已不符合保障条件" in body and findings[0] in body


async def test_a_stop_before_the_first_month_paid_names_no_last_month(api, tokens, open_wuqi_case):  # noqa: F811
    """Approved on 25 Sept 2023, owed from October; the only member died on the 28th and the case stops after
    September: nothing was ever paid, so the 停保通知书 names no last payment month and says it stops before any."""
    full = _household()
    alone = full.model_copy(update={"members": full.members[:1], "incomes": []})
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=alone)
    await _approve(api, tokens, case_id)
    body = {"on": "2023-09-29", "reason": "death", "death_date": "2023-09-28", "opinion": "本人死亡"}
    r = await _post(api, tokens, "approver", case_id, "termination", body)
    assert r.status_code == 200 and r.json()["status"] == "terminated", r.text
    text_ = "\n".join(p.text for p in _opened(await _document(api, tokens, case_id, "termination-notice")).paragraphs)
    assert "最后发放月份" not in text_ and "2023年9月为" not in text_
    assert "决定自2023年10月起停止发放，此前尚未发放。" in text_


async def test_a_second_application_refused_at_once_is_documented_as_refused_without_an_investigation(
    api,
    tokens,
    open_wuqi_case,  # noqa: F811
):
    """一户一案: a second 低保 application of a household whose first is still in the procedure is refused as it
    opens, with no investigation, check or decision step. Its 不予批准通知书 does not say it was investigated and
    checked, and its 审核确认表 concludes 不予批准 (the first case's finding was never this one's)."""
    snapshot = _household()
    await open_wuqi_case(date(2023, 9, 4), snapshot=snapshot)
    refused, _ = await open_wuqi_case(date(2023, 9, 6), snapshot=snapshot)
    case = (await api("eligibility").get(f"/cases/{refused}", headers=tokens["approver"])).json()
    assert case["status"] == "rejected", case
    texts = [p.text for p in _opened(await _document(api, tokens, refused, "rejection-notice")).paragraphs if p.text]
    assert "决定不予批准" in texts[2] and "入户调查" not in texts[2] and "家庭经济状况核对" not in texts[2]
    form = _opened(await _document(api, tokens, refused, "approval-form"))
    [conclusion, *_] = _conclusion(form)
    assert conclusion.startswith("认定结论：不符合保障条件，不予批准。理由：该家庭已有dibao案件")
