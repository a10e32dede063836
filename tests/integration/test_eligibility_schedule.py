"""Each case's schedule (待遇) through eligibility's real paths on the real PostgreSQL: the API's steps, the
death feed's handler, the standard rise's handler (`policy.standard_changed.v1`) and the what-if, asserting the
`case.schedule_changed` events in the outbox (fen per person and month) against figures worked by hand.

The rises here are 盱眙县's (320830, ILLUSTRATIVE gap-mode county: urban 低保 450 → 490 yuan from July 2023 in its
file), 490 → 530 from March 2024 added by an admin: no other test touches 320830, so the figures do not depend on
which of the 吴起县 rises other modules add first. Issue 16 sequences 2, 5, 6 and 8."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from docx import Document
from sqlalchemy import text

from services.eligibility.cases.service import on_death_reported, open_cases, record_households
from services.eligibility.models import StandardRecompute, platform
from services.eligibility.recompute.service import on_standard_changed
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period, china_today
from shared.db import session_factory
from shared.events.catalogue import (
    ApplicationSubmitted,
    DeathReported,
    HouseholdRegistered,
    HouseholdUpdated,
    StandardChanged,
)
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import delivery, report_death, run_recomputes

VILLAGE = "320830100001"
OFFICIAL = bearer("official-xuyi", ["clerk", "township_reviewer"], "320830")
APPROVER = bearer("approver-xuyi", ["county_approver"], "320830")
FINANCE = bearer("finance-xuyi", ["finance"], "320830")
RISE = {
    "region": "320830",
    "key": "dibao.standard.urban",
    "start": "2024-03-01",
    "value": {"per": "month", "fen": 53_000},
    "reference": "盱眙县 2024 城市低保提标 (test: 490 → 530元/月 from March)",
}


def _member(name: str, born: str, relation: str, **facts) -> dict:
    return {
        "member_id": str(uuid.uuid4()),
        "name": name,
        "birth_date": born,
        "sex": "male",
        "relation": relation,
        **facts,
    }


def urban(members: list[dict], wages_fen: int, earner: str | None = None, household_id: str | None = None):
    return HouseholdSnapshot.model_validate(
        {
            "household_id": household_id or str(uuid.uuid4()),
            "region_code": VILLAGE,
            "hukou_type": "urban",
            "members": members,
            "incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": wages_fen, "member_id": earner}]
            if wages_fen
            else [],
            "properties": [{"kind": "housing", "value_fen": 6_000_000}],
        }
    )


def couple(wages_fen: int = 60_000, earner: bool = False) -> HouseholdSnapshot:
    """Two urban members; 600 yuan a month of wages (the spouse's own when `earner`). 陈明 is 70 on 1 February
    2041 and 周丽 on 4 March 2043: 盱眙县's 分类施保 adds 30 yuan for each from that month and the next (priced
    from the approval on, as every schedule below shows)."""
    head, spouse = _member("陈明", "1971-02-01", "head"), _member("周丽", "1973-03-04", "spouse")
    return urban([head, spouse], wages_fen, spouse["member_id"] if earner else None)


async def _approve(api, db, snapshot: HouseholdSnapshot, programme: str = "dibao", **application) -> str:
    """Accepted 2 January 2024, through every step, approved on 25 January: owed from February."""
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        [case] = await open_cases(
            uow,
            [
                delivery(
                    ApplicationSubmitted(
                        application_id=uuid.uuid4(),
                        household_id=snapshot.household_id,
                        programme=programme,
                        region_code=VILLAGE,
                        submitted_on=date(2024, 1, 2),
                        consent_signed=True,
                        separate_register=False,
                        details={},
                        snapshot=snapshot,
                        **application,
                    )
                )
            ],
        )
        await uow.commit()
    eligibility, case_id = api("eligibility"), str(case.id)
    for path, body in (
        ("investigation", {"on": "2024-01-03"}),
        ("home-visits", {"on": "2024-01-04", "investigators": ["王强", "刘娜"], "findings": "与申报一致"}),
        ("economic-check", {"on": "2024-01-05", "result": "consistent"}),
        ("township-opinion", {"on": "2024-01-08", "recommendation": "approve", "opinion": "建议纳入"}),
    ):
        r = await eligibility.post(f"/cases/{case_id}/{path}", json=body, headers=OFFICIAL)
        assert r.status_code == 200, (path, r.text)
    if r.json()["status"] == "appraisal":
        body = {"on": "2024-01-09", "result": "agreed", "participants": 9, "opinion": "同意"}
        r = await eligibility.post(f"/cases/{case_id}/appraisal", json=body, headers=OFFICIAL)
        assert r.status_code == 200, r.text
    after_notice = str(date.fromisoformat(r.json()["notice_ends_on"]) + timedelta(days=1))
    r = await eligibility.post(f"/cases/{case_id}/notice/close", json={"on": after_notice}, headers=OFFICIAL)
    assert r.status_code == 200, r.text
    r = await eligibility.post(
        f"/cases/{case_id}/decision",
        headers=APPROVER,
        json={"on": "2024-01-25", "decision": "approve", "opinion": "同意"},
    )
    assert r.status_code == 200 and r.json()["effective_month"] == "2024-02", r.text
    return case_id


async def _schedule_events(db, case_id: str) -> list[dict]:
    """The case's `case.schedule_changed` events, in the order written."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload->'data' FROM eligibility.outbox WHERE type LIKE '%case.schedule_changed%' "
                "AND payload->'data'->>'case_id' = :c ORDER BY id"
            ),
            {"c": case_id},
        )
        return list(rows.scalars())


def segments(event: dict) -> list[tuple]:
    """(from, to, fen, persons, member) of each segment."""
    return [(s["from_month"], s["to_month"], s["amount_fen"], s["persons"], s["member_id"]) for s in event["segments"]]


def owed_by_month(events: list[dict], months: list[str]) -> dict[str, int]:
    """What the events say each month is owed (every person), replayed in order as payments would keep it: each
    event's segments replace what was owed from its `changed_from` on. An independent model of the contract."""
    owed: dict[tuple[str | None, str], int] = {}
    for e in events:
        for key in [k for k in owed if k[1] >= e["changed_from"]]:
            del owed[key]
        for s in e["segments"]:
            for month in months:
                if month >= s["from_month"] and (s["to_month"] is None or month <= s["to_month"]):
                    owed[(s["member_id"], month)] = s["amount_fen"]
    return {m: sum(fen for (_, month), fen in owed.items() if month == m) for m in months}


MONTHS = ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]


async def _rise(api, tokens, db, rise: dict) -> uuid.UUID:
    """An admin adds the value; its `policy.standard_changed` is queued by the consumer's handler and the recompute
    run by the worker's runner. Returns the recompute's id."""
    r = await api("eligibility").post("/parameters", json=rise, headers=tokens["admin"])
    assert r.status_code == 201, r.text
    async with db.connect() as conn:
        raised = (
            await conn.execute(
                text(
                    "SELECT payload->'data' FROM eligibility.outbox WHERE type LIKE '%policy.standard_changed%' "
                    "AND payload->'data'->>'region' = :r AND payload->'data'->>'key' = :k "
                    "AND payload->'data'->>'start' = :s"
                ),
                {"r": rise["region"], "k": rise["key"], "s": rise["start"]},
            )
        ).scalar_one()
    async with UnitOfWork(session_factory(db), platform, "/services/eligibility") as uow:
        queued = await on_standard_changed(uow, StandardChanged.model_validate(raised))
        assert queued is not None
        rid = queued.id
        await uow.commit()
    assert await run_recomputes(db, recompute_id=rid) == 1
    return rid


@pytest.fixture(scope="module")
async def history(api, tokens, db) -> dict:
    """Sequence 8's and 6's cases decided before the rise, the what-if, the rise through its handler, and
    sequence 5's case decided (back-dated) after it."""
    sessions = session_factory(db)
    # Sequence 8: approved for February at 490 × 2 − 600 = 380; the April review finds 800 yuan of wages:
    # 490 × 2 − 800 = 180 from May.
    reviewed = couple()
    cut = await _approve(api, db, reviewed)
    later = urban(
        [m.model_dump(mode="json") for m in reviewed.members], 80_000, household_id=str(reviewed.household_id)
    )
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        await record_households(
            uow, [delivery(HouseholdRegistered(household_id=later.household_id, region_code=VILLAGE, snapshot=later))]
        )
        await uow.commit()
    r = await api("eligibility").post(f"/cases/{cut}/review", json={"on": "2024-04-20"}, headers=APPROVER)
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 18_000, r.text
    # Sequence 6: approved for February at 380, moved away on 10 April: owed February–April.
    moved = await _approve(api, db, couple())
    r = await api("eligibility").post(
        f"/cases/{moved}/termination", json={"on": "2024-04-10", "reason": "moved", "opinion": "迁出"}, headers=APPROVER
    )
    assert r.status_code == 200 and r.json()["status"] == "terminated", r.text

    r = await api("eligibility").post("/parameters/what-if", json={**RISE, "paid_through": "2024-06"}, headers=FINANCE)
    assert r.status_code == 200, r.text
    what_if = r.json()
    rid = await _rise(api, tokens, db, RISE)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        impact = (await uow.session.get(StandardRecompute, rid)).cases_changed
    # Sequence 5: a decision dated 25 January entered after the rise was decided.
    late = await _approve(api, db, couple())
    return {"cut": cut, "moved": moved, "late": late, "what_if": what_if, "impact": impact}


async def test_sequence_8_the_rise_prices_each_segment_with_its_own_facts(api, tokens, db, history):
    events = await _schedule_events(db, history["cut"])
    assert [e["reason"] for e in events] == ["approval", "review", "standard_rise"]
    rise = events[-1]
    # March–April on the facts before the review: 530 × 2 − 600 = 460; May on with the review's: 530 × 2 − 800
    # = 260 (today's facts from March would have owed 260 for March and April).
    assert rise["changed_from"] == "2024-03"
    assert segments(rise) == [
        ("2024-03", "2024-04", 46_000, 2, None),
        ("2024-05", "2041-01", 26_000, 2, None),
        ("2041-02", "2043-03", 29_000, 2, None),
        ("2043-04", None, 32_000, 2, None),
    ]
    assert owed_by_month(events, MONTHS) == {
        "2024-02": 38_000,
        "2024-03": 46_000,
        "2024-04": 46_000,
        "2024-05": 26_000,
        "2024-06": 26_000,
    }
    case = (await api("eligibility").get(f"/cases/{history['cut']}", headers=APPROVER)).json()
    assert case["monthly_amount_fen"] == 26_000 and case["steps"][-1]["step"] == "standard_recompute"


async def test_sequence_6_a_case_off_the_roll_gets_the_rise_for_the_months_it_was_owed(db, history):
    events = await _schedule_events(db, history["moved"])
    assert [e["reason"] for e in events] == ["approval", "termination", "standard_rise"]
    assert (events[1]["changed_from"], events[1]["segments"]) == ("2024-05", [])
    assert segments(events[-1]) == [("2024-03", "2024-04", 46_000, 2, None)]
    assert owed_by_month(events, MONTHS) == {
        "2024-02": 38_000,
        "2024-03": 46_000,
        "2024-04": 46_000,
        "2024-05": 0,
        "2024-06": 0,
    }


async def test_sequence_5_a_decision_entered_after_a_back_dated_rise_is_priced_month_by_month(db, history):
    [approval] = await _schedule_events(db, history["late"])
    assert approval["reason"] == "approval" and approval["changed_from"] == "2024-02"
    assert segments(approval) == [
        ("2024-02", "2024-02", 38_000, 2, None),
        ("2024-03", "2041-01", 46_000, 2, None),
        ("2041-02", "2043-03", 49_000, 2, None),
        ("2043-04", None, 52_000, 2, None),
    ]


async def test_the_what_if_reports_the_months_and_fen_the_recompute_then_changed(db, history):
    """The dry run before the rise and the rise's own steps name the same cases, months and fen (and the replayed
    event changes nothing more)."""
    what_if = {c["case_id"]: c["months"] for c in history["what_if"]["cases"]}
    assert what_if[history["cut"]] == [
        {"member_id": None, "from_month": "2024-03", "to_month": "2024-04", "before_fen": 38_000, "after_fen": 46_000},
        {"member_id": None, "from_month": "2024-05", "to_month": "2041-01", "before_fen": 18_000, "after_fen": 26_000},
        {"member_id": None, "from_month": "2041-02", "to_month": "2043-03", "before_fen": 21_000, "after_fen": 29_000},
        {"member_id": None, "from_month": "2043-04", "to_month": None, "before_fen": 24_000, "after_fen": 32_000},
    ]
    assert what_if[history["moved"]] == [
        {"member_id": None, "from_month": "2024-03", "to_month": "2024-04", "before_fen": 38_000, "after_fen": 46_000}
    ]
    async with db.connect() as conn:
        steps = (
            await conn.execute(
                text(
                    "SELECT case_id::text, data->'changes' FROM eligibility.case_steps "
                    "WHERE step = 'standard_recompute' AND data->>'key' = 'dibao.standard.urban' "
                    "AND data->>'region' = '320830' AND data->>'start' = '2024-03-01'"
                )
            )
        ).all()
    assert dict(steps) == what_if
    # 8 × 2 months for each case up to June for `cut` (+ 8 × 2 from May), 8 × 2 for `moved`.
    assert history["what_if"]["total"]["back_pay_fen"] == 3 * 16_000
    assert history["impact"] == len(what_if)


async def test_sequence_2_a_tekun_recipient_living_with_a_sibling_stops_after_the_month_of_death(api, db, history):
    """特困 (urban, 全自理): 1.3 × the 低保 standard + 100 care; from March 1.3 × 530 × 12 = 8268元/年 = 689 + 100 =
    789 yuan. The sibling (who works) is not covered; the recipient dies on 10 June: owed through June, none after."""
    elder = _member("吴老汉", "1948-03-10", "head", labour_capacity="none", has_capable_supporter=False)
    sibling = _member("吴二", "1962-06-01", "sibling", labour_capacity="full")
    snapshot = urban([elder, sibling], 150_000, sibling["member_id"])
    case_id = await _approve(api, db, snapshot, "tekun", applicant_member_id=elder["member_id"])
    death = DeathReported(
        alert_id=uuid.uuid4(),
        household_id=snapshot.household_id,
        member_id=elder["member_id"],
        region_code=VILLAGE,
        death_date=date(2024, 6, 10),
        source="public_security",
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await on_death_reported(uow, death)
        await uow.commit()
    events = await _schedule_events(db, case_id)
    assert [e["reason"] for e in events] == ["approval", "death"]
    # 1.3 × 490 × 12 = 7644元/年 = 637 + 100 = 737 in February.
    assert segments(events[0]) == [
        ("2024-02", "2024-02", 73_700, 1, elder["member_id"]),
        ("2024-03", None, 78_900, 1, elder["member_id"]),
    ]
    assert (events[1]["changed_from"], events[1]["segments"]) == ("2024-07", [])
    assert owed_by_month(events, ["2024-06", "2024-07"]) == {"2024-06": 78_900, "2024-07": 0}
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=APPROVER)).json()
    assert case["status"] == "terminated"


async def test_a_member_who_leaves_the_household_at_the_front_desk_is_not_paid_for_from_the_next_month(
    api, db, history
):
    """分户 (or a death recorded at the front desk, or a move): intake removes the spouse from the household and
    tells eligibility only the household's new facts. The live 低保 case is priced for the head alone from the month
    after (S − 0 instead of 2 × S − 600 with the earner), and its review is due now — the spouse, a household of
    their own, was paid again in the new household's case while the old one still counted them."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    head, spouse = snapshot.members
    alone = urban([head.model_dump(mode="json")], 0, household_id=str(snapshot.household_id))
    async with UnitOfWork(session_factory(db), platform, "/services/eligibility") as uow:
        await record_households(
            uow, [delivery(HouseholdUpdated(household_id=alone.household_id, region_code=VILLAGE, snapshot=alone))]
        )
        await uow.commit()
    today, after = Period.of(china_today()), Period.of(china_today()).next()
    months = [str(today), str(after), str(after.next())]
    owed = owed_by_month(await _schedule_events(db, case_id), months)
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=APPROVER)).json()
    assert owed[str(after)] * 2 - 60_000 == owed[str(today)]  # the couple this month; the head alone from the next
    assert owed[str(after.next())] == owed[str(after)] and case["monthly_amount_fen"] == owed[str(today)]
    assert case["next_review_on"] == china_today().isoformat()
    assert case["steps"][-1]["step"] == "member_left" and str(spouse.member_id) in str(case["steps"][-1]["data"])
    # The same facts again (a replay, or another edit of the household) change nothing more.
    async with UnitOfWork(session_factory(db), platform, "/services/eligibility") as uow:
        await record_households(
            uow, [delivery(HouseholdUpdated(household_id=alone.household_id, region_code=VILLAGE, snapshot=alone))]
        )
        await uow.commit()
    assert owed_by_month(await _schedule_events(db, case_id), months) == owed


async def _front_desk_removes(db, snapshot: HouseholdSnapshot, member, died_on: date | None) -> None:
    """Intake's household.updated after the clerk took `member` out (died on `died_on`, or left when None)."""
    rest = urban(
        [m.model_dump(mode="json") for m in snapshot.members if m.member_id != member],
        0,
        household_id=str(snapshot.household_id),
    )
    departures = [{"member_id": str(member), "reason": "died", "on": str(died_on)}] if died_on else []
    event = HouseholdUpdated(household_id=rest.household_id, region_code=VILLAGE, snapshot=rest, departures=departures)
    async with UnitOfWork(session_factory(db), platform, "/services/eligibility") as uow:
        await record_households(uow, [delivery(event)])
        await uow.commit()


async def test_a_death_recorded_at_the_front_desk_reprices_from_the_month_after_the_death(api, db, history):
    """The clerk records the earning spouse's death of 17 May at the front desk months later: the case is priced
    for the head alone from June (530 − 0), as the feed's death would price it — not from the month after the
    clerk's entry, which would leave June onwards paid for two (530 × 2 − 600 = 460) with nothing to recover."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    await _front_desk_removes(db, snapshot, snapshot.members[1].member_id, date(2024, 5, 17))
    events = await _schedule_events(db, case_id)
    assert [e["reason"] for e in events] == ["approval", "death"]
    # The head alone from June, 30 yuan more from February 2041 (70 on the 1st).
    assert (events[1]["changed_from"], segments(events[1])) == (
        "2024-06",
        [("2024-06", "2041-01", 53_000, 1, None), ("2041-02", None, 56_000, 1, None)],
    )
    assert owed_by_month(events, ["2024-05", "2024-06", "2024-07"]) == {
        "2024-05": 46_000,
        "2024-06": 53_000,
        "2024-07": 53_000,
    }
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=APPROVER)).json()
    assert case["steps"][-1]["step"] == "death_reported"
    # The partner's feed reporting the same death afterwards changes nothing more.
    await report_death(db, snapshot.household_id, snapshot.members[1].member_id, VILLAGE, date(2024, 5, 17))
    assert len(await _schedule_events(db, case_id)) == 2


async def test_a_person_level_recipient_whose_death_the_front_desk_records_stops_after_the_month_of_death(
    api, db, history
):
    """特困 (the elder, 789 yuan from March; see the feed's sequence 2): the clerk records the death of 10 June at the
    front desk. The person's own programme stops after June, as the feed's death would stop it."""
    elder = _member("吴老汉", "1948-03-10", "head", labour_capacity="none", has_capable_supporter=False)
    sibling = _member("吴二", "1962-06-01", "sibling", labour_capacity="full")
    snapshot = urban([elder, sibling], 150_000, sibling["member_id"])
    case_id = await _approve(api, db, snapshot, "tekun", applicant_member_id=elder["member_id"])
    await _front_desk_removes(db, snapshot, uuid.UUID(elder["member_id"]), date(2024, 6, 10))
    events = await _schedule_events(db, case_id)
    assert [e["reason"] for e in events] == ["approval", "death"]
    assert (events[1]["changed_from"], events[1]["segments"]) == ("2024-07", [])
    assert owed_by_month(events, ["2024-06", "2024-07"]) == {"2024-06": 78_900, "2024-07": 0}
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=APPROVER)).json()
    assert case["status"] == "terminated"


async def test_a_death_reported_after_the_front_desk_took_the_member_out_reprices_from_the_death(api, db, history):
    """The clerk took the spouse out without saying why (priced for the head alone from next month); the feed
    then reports that the spouse died on 17 May: the months from June are the head's alone as well (53,000, not
    46,000), as if the death had come first."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    spouse = snapshot.members[1].member_id
    await _front_desk_removes(db, snapshot, spouse, None)
    await report_death(db, snapshot.household_id, spouse, VILLAGE, date(2024, 5, 17))
    events = await _schedule_events(db, case_id)
    assert [e["reason"] for e in events] == ["approval", "review", "death"]
    months = ["2024-05", "2024-06", "2024-07", str(Period.of(china_today())), str(Period.of(china_today()).next())]
    assert owed_by_month(events, months) == dict(zip(months, [46_000, *[53_000] * 4], strict=True))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=APPROVER)).json()
    assert case["steps"][-1]["step"] == "death_reported"
    await report_death(db, snapshot.household_id, spouse, VILLAGE, date(2024, 5, 17))  # again: nothing more
    assert len(await _schedule_events(db, case_id)) == 3


async def test_a_household_repriced_after_a_death_is_told_its_new_amount_in_writing(api, db, history):
    """调整保障金通知书 after the earning spouse's death of 17 May: the household's 低保 goes from 460.00 to 530.00
    from June (the head alone), and the household is told so in writing like after any other change of amount."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    await report_death(db, snapshot.household_id, snapshot.members[1].member_id, VILLAGE, date(2024, 5, 17))
    r = await api("eligibility").get(f"/cases/{case_id}/documents/adjustment-notice", headers=APPROVER)
    assert r.status_code == 200, r.text
    text_of = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "保障金由每月460.00元自2024年6月起调整为每月530.00元" in text_of, text_of
    assert "共同生活家庭成员2人" not in text_of  # the approval's computation is not the new amount's


async def test_a_review_after_a_reported_death_keeps_the_dead_member_out(api, db, history):
    """A death reported by a partner's feed (monitoring → eligibility) never reaches intake's copy of the household;
    the review the death makes due, taken on the household's latest facts (the front desk changed them since, the
    member still listed), must not count the dead spouse again: the head alone, 530 − 0 = 530 from the month after
    the review, not 530 × 2 − 600 = 460 for two."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    spouse = snapshot.members[1].member_id
    await report_death(db, snapshot.household_id, spouse, VILLAGE, date(2024, 5, 17))
    edited = urban(  # the front desk's edit after the death: the spouse still on intake's household, still counted
        [m.model_dump(mode="json") for m in snapshot.members],
        60_000,
        str(spouse),
        household_id=str(snapshot.household_id),
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_households(
            uow, [delivery(HouseholdRegistered(household_id=edited.household_id, region_code=VILLAGE, snapshot=edited))]
        )
        await uow.commit()
    r = await api("eligibility").post(f"/cases/{case_id}/review", json={"on": "2024-07-10"}, headers=APPROVER)
    assert r.status_code == 200, r.text
    assert r.json()["monthly_amount_fen"] == 53_000
    events = await _schedule_events(db, case_id)
    assert owed_by_month(events, ["2024-05", "2024-06", "2024-08"]) == {
        "2024-05": 46_000,
        "2024-06": 53_000,
        "2024-08": 53_000,
    }


async def test_sequence_2_a_household_programme_is_repriced_for_the_remaining_members(api, db, history):
    """The spouse earning the 600 yuan dies on 17 May: May owed as before (530 × 2 − 600 = 460), the head alone
    from June: 530 − 0 = 530. Reported through the feed, then again by an official (the same death: nothing
    more)."""
    snapshot = couple(earner=True)
    case_id = await _approve(api, db, snapshot)
    spouse = str(snapshot.members[1].member_id)
    death = DeathReported(
        alert_id=uuid.uuid4(),
        household_id=snapshot.household_id,
        member_id=spouse,
        region_code=VILLAGE,
        death_date=date(2024, 5, 17),
        source="funeral",
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await on_death_reported(uow, death)
        await uow.commit()
    events = await _schedule_events(db, case_id)
    assert [e["reason"] for e in events] == ["approval", "death"]
    assert segments(events[1]) == [("2024-06", "2041-01", 53_000, 1, None), ("2041-02", None, 56_000, 1, None)]
    assert owed_by_month(events, ["2024-04", "2024-05", "2024-06", "2024-07"]) == {
        "2024-04": 46_000,
        "2024-05": 46_000,
        "2024-06": 53_000,
        "2024-07": 53_000,
    }
    r = await api("eligibility").post(
        f"/cases/{case_id}/termination",
        json={
            "on": "2024-06-20",
            "reason": "death",
            "opinion": "成员去世",
            "death_date": "2024-05-17",
            "member_id": spouse,
        },
        headers=APPROVER,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "member_id", r.text  # no longer counted
    assert len(await _schedule_events(db, case_id)) == 2


def _notice_text(response) -> str:
    assert response.status_code == 200, response.text
    return "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)


async def test_the_notice_of_a_back_dated_rise_after_a_review_gives_each_month_its_amount_and_reasons(api, history):
    """调整保障金通知书 of sequence 8's case after the rise: March–April 380 → 460 (the rise alone); from May the
    household gets 260, and the month before (April) is 460 now: the review (380 → 180 from May) and the rise
    (180 → 260) both moved May. Not 'from 380, by the rise' for May as well."""
    r = await api("eligibility").get(f"/cases/{history['cut']}/documents/adjustment-notice", headers=APPROVER)
    text_of = _notice_text(r)
    assert "你（你家）享受的最低生活保障，根据《社会救助暂行办法》等有关规定，保障金调整如下：" in text_of, text_of
    assert "1. 经提高保障标准，保障金由每月380.00元自2024年3月起调整为每月460.00元。" in text_of, text_of
    assert "2. 经定期核查、提高保障标准，保障金由每月460.00元自2024年5月起调整为每月260.00元。" in text_of, text_of


def rural(members: list[dict], wages_fen: int, earner: str | None = None) -> HouseholdSnapshot:
    return urban(members, wages_fen, earner).model_copy(update={"hukou_type": "rural"})


# 盱眙县's rural standard 370 → 410 yuan from May 2024: its own key, so no urban case above is re-priced.
RURAL_RISE = {
    "region": "320830",
    "key": "dibao.standard.rural",
    "start": "2024-05-01",
    "value": {"per": "month", "fen": 41_000},
    "reference": "盱眙县 2024 农村低保提标 (test: 370 → 410元/月 from May)",
}


async def test_the_notice_of_a_rise_after_a_review_or_a_death_of_the_same_month_says_what_the_household_got_before(
    api, tokens, db, history
):
    """Two rural couples approved for February at 370 × 2 − 200 = 540 (the go-live test's WQ003 and WQ001). One's
    review of 20 April finds 400 yuan of wages: 370 × 2 − 400 = 340 from May; the other's earning spouse dies on 17
    April: the head alone, 370 − 0 = 370 from May. Then the rise from May: 410 × 2 − 400 = 420 and 410 − 0 = 410.
    Each household was paid 540 for April and gets 420 (410) from May, because of the review (the death) and the
    rise both: not 'from 340 (370), by the rise'."""
    reviewed = rural([_member("孙福", "1971-02-01", "head"), _member("钱英", "1973-03-04", "spouse")], 20_000)
    head, spouse = _member("李根", "1970-05-01", "head"), _member("何芳", "1972-06-02", "spouse")
    bereaved = rural([head, spouse], 20_000, spouse["member_id"])
    cases = {"reviewed": await _approve(api, db, reviewed), "bereaved": await _approve(api, db, bereaved)}
    poorer = reviewed.model_copy(
        update={"incomes": [reviewed.incomes[0].model_copy(update={"monthly_amount_fen": 40_000})]}
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        event = HouseholdRegistered(household_id=poorer.household_id, region_code=VILLAGE, snapshot=poorer)
        await record_households(uow, [delivery(event)])
        await uow.commit()
    r = await api("eligibility").post(
        f"/cases/{cases['reviewed']}/review", json={"on": "2024-04-20", "opinion": "务工收入增加"}, headers=APPROVER
    )
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 34_000, r.text
    await report_death(db, bereaved.household_id, bereaved.members[1].member_id, VILLAGE, date(2024, 4, 17))
    await _rise(api, tokens, db, RURAL_RISE)

    url = "/cases/{}/documents/adjustment-notice"
    text_of = _notice_text(await api("eligibility").get(url.format(cases["reviewed"]), headers=APPROVER))
    assert (
        "你（你家）享受的最低生活保障，经定期核查、提高保障标准，根据《社会救助暂行办法》等有关规定，"
        "保障金由每月540.00元自2024年5月起调整为每月420.00元。"
    ) in text_of, text_of
    assert "调整依据：务工收入增加；盱眙县 2024 农村低保提标" in text_of, text_of
    text_of = _notice_text(await api("eligibility").get(url.format(cases["bereaved"]), headers=APPROVER))
    assert (
        "你（你家）享受的最低生活保障，经核实家庭成员变化、提高保障标准，根据《社会救助暂行办法》等有关规定，"
        "保障金由每月540.00元自2024年5月起调整为每月410.00元。"
    ) in text_of, text_of
