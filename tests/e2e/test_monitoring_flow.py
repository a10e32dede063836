"""Monitoring's flow, through the APIs of the four services as processes on real PostgreSQL and Kafka:
a 医保局 feed flags a 吴起县 household whose out-of-pocket costs exceed the rule; the township verifies it as
brought into assistance and a draft application appears at intake; a 公安 death record of a 低保 recipient stops
their payments from the next month; a re-posted feed changes nothing; the month's export to 乡村振兴局 counts it."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from shared.core.period import Period, china_today
from tests.conftest import bearer, wait_for
from tests.helpers import household_body

TOWNSHIP = "610626103"  # 白豹镇: no other test works here, so the month's figures are this test's own
VILLAGE = TOWNSHIP + "201"
CLERK = bearer("clerk-baibao", ["clerk"], TOWNSHIP)
REVIEWER = bearer("reviewer-baibao", ["township_reviewer"], TOWNSHIP)
APPROVER = bearer("approver-wuqi", ["county_approver"], "610626")
FINANCE = bearer("finance-wuqi", ["finance"], "610626")
MEDICAL = {**bearer("yibao-wuqi", ["partner:medical_insurance"], "610626"), "Content-Type": "text/csv"}
POLICE = {**bearer("gongan-wuqi", ["partner:public_security"], "610626"), "Content-Type": "text/csv"}
RURAL = bearer("xczx-wuqi", ["partner:rural_revitalization"], "610626")
RECEIVED = china_today() - timedelta(days=20)


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


async def _dibao_recipient(http, stack) -> tuple[str, str, str]:
    """A one-person 低保 household approved through the whole procedure; (household, case, ID number)."""
    intake, eligibility = stack.url("intake"), stack.url("eligibility")
    body = household_body(region_code=VILLAGE, members=1, income_fen=10_000)
    r = await http.post(f"{intake}/households", json=body, headers=CLERK)
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    r = await http.post(
        f"{intake}/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True, "received_on": RECEIVED.isoformat()},
        headers=CLERK,
    )
    assert r.status_code == 201, r.text
    aid = r.json()["id"]

    async def case_id() -> str | None:
        return (await http.get(f"{intake}/applications/{aid}", headers=CLERK)).json()["case_id"]

    case = await wait_for(case_id)
    for who, path, step in [
        (CLERK, "investigation", {"on": _on(1)}),
        (CLERK, "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        (REVIEWER, "economic-check", {"on": _on(3), "result": "consistent"}),
        (REVIEWER, "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"}),
        (REVIEWER, "appraisal", {"on": _on(5), "result": "agreed", "participants": 9, "opinion": "评议通过"}),
        (REVIEWER, "notice/close", {"on": _on(12)}),
        (APPROVER, "decision", {"on": _on(13), "decision": "approve", "opinion": "同意纳入"}),
    ]:
        r = await http.post(f"{eligibility}/cases/{case}/{path}", json=step, headers=who)
        assert r.status_code == 200, (path, r.text)
    return hid, case, body["members"][0]["id_number"]


async def test_feeds_alerts_verification_death_and_the_monthly_export(stack, http):
    intake, eligibility = stack.url("intake"), stack.url("eligibility")
    payments, monitoring = stack.url("payments"), stack.url("monitoring")
    today = china_today()

    # --- a 医保局 feed flags a household whose out-of-pocket costs exceed the rule -----------------------------
    body = household_body(region_code=VILLAGE, members=3, income_fen=60_000)
    r = await http.post(f"{intake}/households", json=body, headers=CLERK)
    assert r.status_code == 201, r.text
    sick = r.json()["id"]
    patient = body["members"][1]["id_number"]
    feed = (
        "id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n"
        f"{patient},610626103,{today - timedelta(days=40)},2800000,1\n"
        f"{patient},610626103,{today - timedelta(days=10)},1500000,1\n"
        f"{patient[:17]}{'0' if patient[17] != '0' else '1'},610626103,{today},100,0\n"
    )
    r = await http.post(f"{monitoring}/feeds/medical", content=feed.encode(), headers=MEDICAL)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["rows_loaded"], first["rows_rejected"]) == (2, 1)

    async def alert_of(household: str, alert_type: str) -> dict | None:
        page = (await http.get(f"{monitoring}/alerts", params={"household_id": household}, headers=REVIEWER)).json()
        return next((a for a in page["items"] if a["alert_type"] == alert_type), None)

    # Whether intake's household event reached monitoring before or after the feed, the rows are matched.
    alert = await wait_for(lambda: alert_of(sick, "high_medical_cost"))
    # 43,000 yuan in 12 months against 7,200 yuan of counted income a year (the pension is exempt).
    assert alert["trace"]["observed"] == {"out_of_pocket_12m_fen": 4_300_000, "annual_income_fen": 720_000}
    assert alert["trace"]["parameters"]["risk.medical.share_of_income"]["region"] == "610626"
    assert alert["region_code"] == VILLAGE and alert["status"] == "dispatched"

    # --- a re-posted feed changes nothing -------------------------------------------------------------------
    again = await http.post(f"{monitoring}/feeds/medical", content=feed.encode(), headers=MEDICAL)
    assert again.status_code == 200 and again.json() == first
    page = (await http.get(f"{monitoring}/alerts", params={"household_id": sick}, headers=REVIEWER)).json()
    assert [a["alert_type"] for a in page["items"]].count("high_medical_cost") == 1
    detail = (await http.get(f"{monitoring}/alerts/{alert['id']}", headers=REVIEWER)).json()
    assert len(detail["evidence"]) == 2

    # --- the township verifies: brought into assistance → a draft application at intake -----------------------
    r = await http.post(f"{monitoring}/alerts/{alert['id']}/closure", json={}, headers=REVIEWER)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["verify"]
    r = await http.post(
        f"{monitoring}/alerts/{alert['id']}/verification",
        json={"outcome": "brought_into_assistance", "programme": "medical", "note": "入户核实: 大病支出，纳入医疗救助"},
        headers=REVIEWER,
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"{monitoring}/alerts/{alert['id']}/closure", json={}, headers=REVIEWER)
    assert r.status_code == 200 and r.json()["status"] == "closed"

    async def draft() -> dict | None:
        drafts = (
            await http.get(
                f"{intake}/application-drafts", params={"status": "to_complete", "household_id": sick}, headers=CLERK
            )
        ).json()["items"]
        return next(iter(drafts), None)

    found = await wait_for(draft)
    assert (found["programme"], found["alert_id"]) == ("medical", alert["id"])

    other = await wait_for(lambda: alert_of(sick, "low_income_uncovered"))
    r = await http.post(
        f"{monitoring}/alerts/{other['id']}/verification",
        json={"outcome": "not_eligible", "reasons": ["property"]},
        headers=REVIEWER,
    )
    assert r.status_code == 200, r.text

    # --- a 公安 death record of a 低保 recipient stops their payments from the next month ------------------------
    recipient, case, number = await _dibao_recipient(http, stack)

    async def on_roll() -> list:
        known = await http.get(f"{monitoring}/households/{recipient}", headers=REVIEWER)
        roll = (
            await http.get(f"{payments}/beneficiaries", params={"household_id": recipient}, headers=FINANCE)
        ).json()["items"]
        return roll if known.status_code == 200 and "dibao" in known.json()["programmes"] else []

    await wait_for(on_roll)
    died = today
    r = await http.post(
        f"{monitoring}/feeds/death",
        content=f"id_number,region_code,death_date\n{number},610626103,{died}\n".encode(),
        headers=POLICE,
    )
    assert r.status_code == 201 and r.json()["alerts_raised"] == 1, r.text
    death = await wait_for(lambda: alert_of(recipient, "recipient_death"))
    assert (death["status"], death["outcome"]) == ("closed", "death_reported")  # the township is told

    async def stopped() -> list:
        roll = (
            await http.get(f"{payments}/beneficiaries", params={"household_id": recipient}, headers=FINANCE)
        ).json()["items"]
        return roll if roll and roll[0]["end_month"] else []

    roll = await wait_for(stopped)
    assert roll[0]["end_month"] == str(Period.of(died))  # paid for the month of death, nothing after
    stopped_case = (await http.get(f"{eligibility}/cases/{case}", headers=APPROVER)).json()
    assert stopped_case["status"] == "terminated"

    # --- the month's export to 乡村振兴局 counts all of it ---------------------------------------------------
    month = Period.of(today)
    r = await http.get(f"{monitoring}/reports/monthly/{TOWNSHIP}/{month}", headers=RURAL)
    assert r.status_code == 200, r.text
    report = r.json()
    raised = (await http.get(f"{monitoring}/alerts", params={"region": TOWNSHIP}, headers=APPROVER)).json()["total"]
    assert report["alerts"]["raised"] == raised >= 3
    assert report["alerts"]["brought_into_assistance"] == 1
    assert report["alerts"]["not_eligible"] == 1
    assert report["alerts"]["deaths_reported"] == 1
    assert report["alerts"]["verified"] == 3 and report["alerts"]["closed"] == 2
    assert report["raised_by_type"]["high_medical_cost"] == 1
    xlsx = await http.get(f"{monitoring}/reports/monthly/{TOWNSHIP}/{month}", params={"format": "xlsx"}, headers=RURAL)
    rows = {r[0]: r[1] for r in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True) if r}
    assert rows["纳入救助"] == 1 and rows["死亡停保"] == 1
