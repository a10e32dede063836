"""Deadlines after the holiday library's last known year (cases/deadlines.py), through eligibility's API: counted
Monday–Friday they are marked provisional; once the county loads the State Council's schedule they are counted on
it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from shared.core.workdays import has_official_calendar
from tests.conftest import bearer
from tests.integration import test_eligibility_workflow as cases

open_wuqi_case = cases.open_wuqi_case  # the fixture, shared with the workflow tests

COUNTY_ADMIN = bearer("admin-wuqi", ["admin"], "610626")
# Test data shaped like the State Council's notice: 元旦 on Friday 1 January 2027, no make-up working day.
SCHEDULE_2027 = {
    "region": "610626",
    "key": "calendar.holidays",
    "start": "2026-12-01",
    "value": {"year": 2027, "holidays": ["2027-01-01", "2027-02-05", "2027-02-08"], "workdays": ["2027-02-13"]},
    "reference": "国务院办公厅关于2027年部分节假日安排的通知 (test data)",
}


async def _case(api, tokens, case_id: str) -> dict:
    r = await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_deadline_in_a_year_without_a_calendar_is_provisional_until_the_county_loads_it(
    api, tokens, db, open_wuqi_case
):
    assert not has_official_calendar(2027)  # the premise: the installed library stops at 2026
    # Received Tuesday 29 December 2026: the investigation starts within 3 working days.
    waiting, _ = await open_wuqi_case(date(2026, 12, 29))
    case = await _case(api, tokens, waiting)
    assert (case["due_date"], case["due_date_provisional"]) == ("2027-01-01", True)  # 元旦 counted as worked
    in_2026, _ = await open_wuqi_case(date(2026, 12, 1))
    assert (await _case(api, tokens, in_2026))["due_date_provisional"] is False

    bad = {**SCHEDULE_2027, "value": {**SCHEDULE_2027["value"], "workdays": ["2027-02-10"]}}  # a Wednesday
    r = await api("eligibility").post("/parameters", json=bad, headers=COUNTY_ADMIN)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "value", r.text
    r = await api("eligibility").post("/parameters", json={**SCHEDULE_2027, "region": "610625"}, headers=COUNTY_ADMIN)
    assert r.status_code == 403  # another county's calendar is not ours to load
    r = await api("eligibility").post("/parameters", json=SCHEDULE_2027, headers=COUNTY_ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["value"]["holidays"][0] == "2027-01-01"

    case = await _case(api, tokens, waiting)  # counted again: 30, 31 December, Monday 4 January
    assert (case["due_date"], case["due_date_provisional"]) == ("2027-01-04", False)
    before_the_break, _ = await open_wuqi_case(date(2027, 2, 4))  # Thursday: Friday 5 and Monday 8 are off
    case = await _case(api, tokens, before_the_break)
    assert (case["due_date"], case["due_date_provisional"]) == ("2027-02-11", False)
    after_it, _ = await open_wuqi_case(date(2027, 2, 10))  # Wednesday: Saturday 13 is worked
    assert (await _case(api, tokens, after_it))["due_date"] == "2027-02-13"
    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload->'data' FROM eligibility.outbox WHERE type LIKE '%case.deadline_changed%' "
                    "AND payload->'data'->>'case_id' = :c"
                ),
                {"c": waiting},
            )
        ).scalar_one()
    assert (event["due_date"], event["due_date_provisional"]) == ("2027-01-04", False)
