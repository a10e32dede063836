"""Eligibility acting on monitoring's findings, on the real PostgreSQL: a recipient's death stops a one-person
case after the month of death and sends a larger household to review; a township's "recipient change" finding
makes the case due for review."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text

from services.eligibility.cases.service import on_alert_verified, on_death_reported
from services.eligibility.models import platform
from shared.core.period import china_today
from shared.db import session_factory
from shared.events.catalogue import AlertVerified, DeathReported
from shared.uow import UnitOfWork
from tests.helpers import walk
from tests.integration import test_eligibility_workflow as workflow
from tests.integration.test_eligibility_workflow import _member, _post, _to_notice, wuqi_household

open_wuqi_case = workflow.open_wuqi_case  # the fixture, shared with the workflow tests


async def _approved(api, tokens, open_wuqi_case, **snapshot) -> tuple[str, list[str], str]:
    case_id, household = await open_wuqi_case(date(2023, 9, 4), snapshot=wuqi_household(**snapshot))
    await _to_notice(api, tokens, case_id)
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})).status_code == 200
    r = await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return case_id, [str(m.member_id) for m in household.members], str(household.household_id)


async def _alone(api, tokens, open_wuqi_case) -> tuple[str, list[str], str]:
    """刘老汉, born 1940-02-02, alone and unable to work, approved for 低保 on 2023-09-25 (paid from October)."""
    return await _approved(
        api,
        tokens,
        open_wuqi_case,
        members=[_member("刘老汉", "1940-02-02", "head", labour_capacity="none")],
        incomes=[],
    )


async def _apply(db, handler, data) -> None:
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await handler(uow, data)
        await uow.commit()


def _death(household: str, member: str, died: date) -> DeathReported:
    return DeathReported(
        alert_id=uuid.uuid4(),
        household_id=household,
        member_id=member,
        region_code="610626101201",
        death_date=died,
        source="public_security",
    )


async def test_a_death_after_the_approval_before_the_first_month_paid_stops_the_case_owing_nothing(
    api, tokens, db, open_wuqi_case
):
    """Opened 2023-09-04, approved 2023-09-25 (paid from October); 刘老汉 dies 2023-09-28, before the first month
    owed: the death is real, the case stops and owes nothing — not a date to check (found when a death reported
    the day after an approval asked for a review instead)."""
    case_id, members, household = await _alone(api, tokens, open_wuqi_case)
    await _apply(db, on_death_reported, _death(household, members[0], date(2023, 9, 28)))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "terminated" and case["steps"][-1]["step"] == "terminate"


async def test_a_one_person_case_stops_after_the_month_of_death(api, tokens, db, open_wuqi_case):
    case_id, members, household = await _alone(api, tokens, open_wuqi_case)
    await _apply(db, on_death_reported, _death(household, members[0], date(2024, 3, 17)))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "terminated" and case["steps"][-1]["step"] == "terminate"
    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload FROM eligibility.outbox WHERE type LIKE '%case.terminated%' "
                    "AND payload->'data'->>'case_id' = :c"
                ),
                {"c": case_id},
            )
        ).scalar_one()
    assert event["data"]["reason"] == "death" and event["data"]["last_month"] == "2024-03"
    # Reported twice (a second agency, a re-sent file): the case is no longer on the roll, nothing more happens.
    await _apply(db, on_death_reported, _death(household, members[0], date(2024, 3, 17)))
    async with db.connect() as conn:
        assert (
            await conn.execute(
                text(
                    "SELECT count(*) FROM eligibility.outbox WHERE type LIKE '%case.terminated%' "
                    "AND payload->'data'->>'case_id' = :c"
                ),
                {"c": case_id},
            )
        ).scalar() == 1


async def test_a_death_in_a_larger_household_and_a_township_finding_ask_for_a_review(api, tokens, db, open_wuqi_case):
    case_id, members, household = await _approved(api, tokens, open_wuqi_case)
    await _apply(db, on_death_reported, _death(household, members[1], date(2024, 3, 17)))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "approved" and case["next_review_on"] == china_today().isoformat()
    assert case["steps"][-1]["step"] == "death_reported"

    await _apply(
        db,
        on_alert_verified,
        AlertVerified(
            alert_id=uuid.uuid4(),
            household_id=household,
            region_code="610626101201",
            alert_type="possible_overpayment",
            outcome="recipient_change",
            note="新登记车辆一辆",
            verified_on=date(2024, 4, 2),
        ),
    )
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "approved" and case["next_review_on"] == "2024-04-02"
    assert case["steps"][-1]["step"] == "review_requested" and case["steps"][-1]["opinion"] == "新登记车辆一辆"
    due = await walk(api("eligibility"), "/cases/reviews-due", tokens["approver"])
    assert case_id in {c["id"] for c in due}


async def test_two_deaths_one_alert_reports_stop_the_case_after_the_later_death(api, tokens, db, open_wuqi_case):
    """An elderly 低保 couple both die; monitoring's one recipient_death alert for the household sends one
    death.reported per member (the same alert id), each with their own date: the husband on 2024-03-17, the wife on
    2024-04-09. By hand: after the first the case is re-priced for the wife alone from April; after the second
    nobody is left, so it stops after April (last month 2024-04) — never paid for either after their death."""
    case_id, members, household = await _approved(
        api,
        tokens,
        open_wuqi_case,
        members=[
            _member("刘老汉", "1940-02-02", "head", labour_capacity="none"),
            _member("王老太", "1942-06-06", "spouse", labour_capacity="none"),
        ],
        incomes=[],
    )
    alert = uuid.uuid4()
    for member, died in ((members[0], date(2024, 3, 17)), (members[1], date(2024, 4, 9))):
        await _apply(db, on_death_reported, _death(household, member, died).model_copy(update={"alert_id": alert}))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "terminated"
    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload FROM eligibility.outbox WHERE type LIKE '%case.terminated%' "
                    "AND payload->'data'->>'case_id' = :c"
                ),
                {"c": case_id},
            )
        ).scalar_one()
    assert event["data"]["reason"] == "death" and event["data"]["last_month"] == "2024-04"


async def test_a_death_dated_before_the_birth_or_the_case_stops_nothing_and_asks_for_a_review(
    api, tokens, db, open_wuqi_case
):
    """刘老汉, born 1940-02-02, alone on 低保 from 2023. Death reports dated 1939-01-01 (before his birth) and
    2022-05-01 (before the case began) are impossible for this case: by hand, no stop (a last month before the
    first would be nonsense), no crash; the case stays approved, due for review now (an official checks). A death
    on 2024-03-17 then stops it after 2024-03 as usual."""
    case_id, members, household = await _alone(api, tokens, open_wuqi_case)
    for died in (date(1939, 1, 1), date(2022, 5, 1)):
        await _apply(db, on_death_reported, _death(household, members[0], died))
        case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
        assert (case["status"], case["next_review_on"]) == ("approved", china_today().isoformat()), died
    await _apply(db, on_death_reported, _death(household, members[0], date(2024, 3, 17)))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "terminated" and case["steps"][-1]["step"] == "terminate"
