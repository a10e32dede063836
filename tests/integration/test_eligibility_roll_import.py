"""存量对象导入 in eligibility, on the real PostgreSQL: `application.imported.v1` through the set-based handler (an
approved case whose history is one step `imported`, its schedule from the month after the old approval at the file's
amount, the three events an approval raises; flagged for review when the amount differs; a second live case
refused; a replay changes nothing), and `POST /assessments` (the golden cases' amounts, the caller's region, the
1000-item limit)."""

from __future__ import annotations

import io
import uuid
from datetime import date

from docx import Document
from sqlalchemy import text

from services.eligibility.cases.service import import_cases
from services.eligibility.models import platform
from services.eligibility.policy.golden_cases import load_golden_cases
from shared.core.household import HouseholdSnapshot
from shared.core.period import china_today
from shared.db import session_factory
from shared.events.catalogue import ApplicationImported
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import delivery, problem, report_death, walk

VILLAGE = "610626101207"
ADMIN = bearer("admin-wuqi", ["admin"], "610626")


def _member(name: str, born: str, relation: str) -> dict:
    return {"member_id": str(uuid.uuid4()), "name": name, "birth_date": born, "sex": "male", "relation": relation}


def household(members: int = 2) -> HouseholdSnapshot:
    people = [_member("张德山", "1958-03-01", "head"), _member("李桂兰", "1960-05-02", "spouse")][:members]
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": VILLAGE,
            "hukou_type": "rural",
            "members": people,
            "incomes": [{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 20_000}],
            "properties": [{"kind": "housing", "value_fen": 5_000_000}],
        }
    )


def imported(snapshot: HouseholdSnapshot, programme: str = "dibao", **overrides) -> ApplicationImported:
    members = [m.member_id for m in snapshot.members]
    data = {
        "application_id": uuid.uuid4(),
        "household_id": snapshot.household_id,
        "programme": programme,
        "region_code": snapshot.region_code,
        "submitted_on": date(2024, 2, 20),  # as intake sends it: the application's date is the old approval's
        "consent_signed": True,
        "separate_register": False,
        "details": {},
        "snapshot": snapshot,
        "import_id": uuid.uuid4(),
        "approved_on": date(2024, 2, 20),
        "monthly_amount_fen": 52_000,
        "persons": len(members),
        "covered_member_ids": members,
        "next_review_on": date(2027, 2, 1),
        "paid_through": "2026-11",
        "amount_differs": False,
        "computed_amount_fen": 52_000,
    }
    data["submitted_on"] = overrides.get("approved_on", data["approved_on"])
    return ApplicationImported.model_validate({**data, **overrides})


async def _run(db, events: list[ApplicationImported]) -> None:
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await import_cases(uow, [delivery(e, f"import-{i}") for i, e in enumerate(events)])
        await uow.commit()


async def _case_of(db, application_id: uuid.UUID) -> dict:
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, status, monthly_amount_fen FROM eligibility.cases WHERE application_id = :a"),
                {"a": application_id},
            )
        ).all()
    assert len(rows) == 1, rows
    return dict(rows[0]._mapping)


async def _events(db, case_id) -> list[tuple[str, dict]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT type, payload->'data' FROM eligibility.outbox "
                "WHERE payload->'data'->>'case_id' = :c ORDER BY id"
            ),
            {"c": str(case_id)},
        )
        return [(t.removeprefix("cn.gov.mca.assistance."), d) for t, d in rows]


async def test_an_imported_household_is_an_approved_case_paid_as_the_file_says_from_the_month_after(api, db):
    snapshot = household()
    event = imported(snapshot)
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    assert (case["status"], case["monthly_amount_fen"]) == ("approved", 52_000)

    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert (detail["status"], detail["effective_month"]) == ("approved", "2024-03")
    assert detail["next_review_on"] == "2027-02-01"
    [step] = detail["steps"]
    assert (step["step"], step["to_status"], step["on"]) == ("imported", "approved", "2024-02-20")
    assert step["actor"] == f"roll-import:{event.import_id}"
    assert step["data"]["amount_differs"] is False and step["data"]["paid_through"] == "2026-11"

    events = await _events(db, case["id"])
    assert [t for t, _ in events] == ["case.opened.v1", "case.approved.v1", "case.schedule_changed.v1"]
    opened, approved, schedule = (d for _, d in events)
    assert (opened["status"], opened["received_on"]) == ("approved", "2024-02-20")
    assert approved["effective_month"] == "2024-03" and approved["paid_elsewhere_through"] == "2026-11"
    assert approved["monthly_amount_fen"] == 52_000
    assert sorted(approved["member_ids"]) == sorted(str(m.member_id) for m in snapshot.members)
    assert (schedule["reason"], schedule["changed_from"]) == ("imported", "2024-03")
    # The file's amount from March 2024 on; our values price it from the month the latest of them started (a value
    # another test added may start after March 2024: the months before it then read no value).
    segments = schedule["segments"]
    assert [(s["amount_fen"], s["persons"], s["member_id"], s["reason"]) for s in segments] == [
        (52_000, 2, None, "imported")
    ] * len(segments)
    assert segments[0]["from_month"] == "2024-03" and segments[-1]["to_month"] is None
    assert all(not s["basis"]["values"] for s in segments[:-1])
    *_, priced = segments
    assert priced["basis"]["imported"]["computed_amount_fen"] == 52_000
    assert priced["basis"]["values"], "priced as our rules price it: a 提标 re-prices it"
    assert priced["from_month"] == max(["2024-03", *(v["start"][:7] for v in priced["basis"]["values"])])


async def test_an_amount_that_differs_is_kept_and_flagged_for_review_now(api, db):
    event = imported(household(), monthly_amount_fen=61_000, amount_differs=True, computed_amount_fen=48_000)
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    assert case["monthly_amount_fen"] == 61_000  # never silently re-priced
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert detail["next_review_on"] == str(china_today())  # the import day
    assert detail["steps"][0]["data"]["amount_differs"] is True
    due = await walk(api("eligibility"), "/cases/reviews-due", ADMIN, {"within_days": 0})
    assert case["id"] in {uuid.UUID(c["id"]) for c in due}
    [*_, (_, schedule)] = await _events(db, case["id"])
    [segment] = schedule["segments"]
    assert segment["amount_fen"] == 61_000
    assert segment["basis"]["imported"] == {
        "import_id": str(event.import_id),
        "paid_through": "2026-11",
        "monthly_amount_fen": 61_000,
        "persons": 2,
        "computed_amount_fen": 48_000,
        "amount_differs": True,
    }
    assert segment["basis"]["values"] == []  # left to the review: a 提标 does not re-price the file's amount


async def _old_tekun(db, approved_on: date) -> tuple[HouseholdSnapshot, dict]:
    """A 特困 person of the old roll, approved on `approved_on`, paid 860.00 (as our rules price them), imported."""
    snapshot = household(members=1)
    event = imported(
        snapshot,
        "tekun",
        approved_on=approved_on,
        monthly_amount_fen=86_000,
        computed_amount_fen=86_000,
        persons=1,
        next_review_on=None,
    )
    await _run(db, [event])
    return snapshot, await _case_of(db, event.application_id)


async def test_an_approval_older_than_every_value_we_hold_comes_in_approved(api, db):
    """A 特困 person approved in 2015, paid by the old system through November 2026: every value we hold starts
    later (吴起县's in 2023), so the case is priced, and its procedure's parameters read, as of the import day. It
    was dead-lettered before: the household never reached the roll."""
    _, case = await _old_tekun(db, date(2015, 6, 10))
    assert (case["status"], case["monthly_amount_fen"]) == ("approved", 86_000)
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert detail["effective_month"] == "2015-07" and detail["next_review_on"] > str(china_today())
    approved = next(d for t, d in await _events(db, case["id"]) if t == "case.approved.v1")
    assert (approved["effective_month"], approved["paid_elsewhere_through"]) == ("2015-07", "2026-11")


async def test_a_death_stops_an_import_approved_before_every_value_we_hold(api, db):
    """A 特困 person approved in 2012 dies on 20 November 2026: paid through November, nothing after. Every step
    of a decided case counted its procedure's time limits from the day it was accepted (here the old approval, with
    no value in force), so the death was refused and dead-lettered: a dead person stayed on the roll."""
    snapshot, case = await _old_tekun(db, date(2012, 6, 1))
    [member] = [m.member_id for m in snapshot.members]
    await report_death(db, snapshot.household_id, member, VILLAGE, date(2026, 11, 20))
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert (detail["status"], detail["due_date"]) == ("terminated", None)
    terminated = next(d for t, d in await _events(db, case["id"]) if t == "case.terminated.v1")
    assert terminated["last_month"] == "2026-11"


async def test_a_person_level_programme_is_owed_per_member(api, db):
    snapshot = household(members=1)
    [member] = [m.member_id for m in snapshot.members]
    event = imported(snapshot, "tekun", monthly_amount_fen=86_000, persons=1, computed_amount_fen=None)
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    [*_, (_, schedule)] = await _events(db, case["id"])
    assert [(s["member_id"], s["amount_fen"], s["persons"]) for s in schedule["segments"]] == [(str(member), 86_000, 1)]


async def test_a_person_level_import_that_names_the_uncovered_head_prices_the_person_covered(api, db):
    """Imports of before the fix named the 户主 as the applicant of a person-level programme even when the file
    covered another member (an elder living with a son): the case prices and pays the person covered, whom the
    rule finds 特困 (the son, of working age with no claim, is not)."""
    son = {**_member("张强", "1980-04-01", "head"), "labour_capacity": "full"}
    elder = {
        **_member("张老汉", "1940-03-03", "parent"),
        "labour_capacity": "none",
        "has_capable_supporter": False,
    }
    snapshot = HouseholdSnapshot.model_validate(
        {"household_id": str(uuid.uuid4()), "region_code": VILLAGE, "hukou_type": "rural", "members": [son, elder]}
    )
    event = imported(
        snapshot,
        "tekun",
        applicant_member_id=son["member_id"],
        covered_member_ids=[elder["member_id"]],
        monthly_amount_fen=86_000,
        computed_amount_fen=None,
        persons=1,
    )
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert detail["eligible"] is True, detail["assessment_reasons"]
    [*_, (_, schedule)] = await _events(db, case["id"])
    assert [(s["member_id"], s["amount_fen"]) for s in schedule["segments"]] == [(elder["member_id"], 86_000)]


async def test_the_papers_of_an_imported_single_person_case_say_what_was_imported(api, db):
    """单人保: the old roll pays 500.00 for the head alone of a two-person household. Our rules price the household
    otherwise (flagged for review, kept as paid): the 审核确认表 says the case came in approved from the old system
    at the amount paid, covering 1 person, and gives our figure as what the review looks at — not "不符合保障条件"
    with 2 persons for an approved case; the 长期公示 lists the 1 person paid for."""
    snapshot = household()
    head = snapshot.members[0].member_id
    event = imported(
        snapshot,
        monthly_amount_fen=50_000,
        persons=1,
        covered_member_ids=[head],
        computed_amount_fen=80_000,
        amount_differs=True,
    )
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    r = await api("eligibility").get(f"/cases/{case['id']}/documents/approval-form", headers=ADMIN)
    assert r.status_code == 200, r.text
    doc = Document(io.BytesIO(r.content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert cells[cells.index("保障人数") + 1] == "1人"
    text_of = "\n".join(p.text for p in doc.paragraphs)
    assert "不符合保障条件" not in text_of
    assert "认定结论：原系统审批纳入（存量对象导入），按现发放金额保障。保障金额：每月500.00元。" in text_of, text_of
    assert "现行规则测算每月800.00元，与现发放金额不一致，待复核" in text_of, text_of
    reviewer = bearer("reviewer-wuqi", ["township_reviewer"], VILLAGE[:9])
    notice = await api("eligibility").get(f"/notices/{VILLAGE}/recipients", headers=reviewer)
    [row] = [r for r in notice.json()["rows"] if r["monthly_amount_fen"] == 50_000 and r["name"].startswith("张")]
    assert row["persons"] == 1


def _form_text(content: bytes) -> tuple[list[str], str]:
    doc = Document(io.BytesIO(content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return cells, "\n".join(p.text for p in doc.paragraphs)


def marginal_household() -> HouseholdSnapshot:
    """低保边缘, rural, 2 persons earning 1,200.00 a month: 600.00 per head, not below the standard (500.00, or
    600.00 once test_eligibility_recompute's rise is in) and below 1.5 × it (750.00 or 900.00). No cash."""
    snapshot = household()
    return snapshot.model_copy(
        update={"incomes": [snapshot.incomes[0].model_copy(update={"monthly_amount_fen": 120_000})]}
    )


async def test_a_marginal_household_is_priced_at_no_cash_for_its_members(api):
    """低保边缘 pays no cash by right: our rules' amount for an eligible household is 0, for its 2 members — not
    "no amount, 0 persons", which the roll import read as an amount differing from the file's 0.00."""
    item = {
        "ref": "m1",
        "programme": "marginal",
        "on": str(china_today()),
        "snapshot": marginal_household().model_dump(mode="json"),
    }
    r = await api("eligibility").post("/assessments", json={"items": [item]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    [result] = r.json()["items"]
    assert (result["eligible"], result["monthly_amount_fen"], result["persons"]) == (True, 0, 2), result


async def test_an_imported_marginal_household_is_not_flagged_and_its_papers_say_so(api, db):
    """The file's 0.00 is what our rules find (eligible, no cash): the case keeps the file's review date, is not
    due for review on the import day, and its 审核确认表 says nothing of a differing amount or of not being
    eligible — also from an intake that sends no figure of its own (`computed_amount_fen` null)."""
    for computed in (0, None):
        event = imported(
            marginal_household(), "marginal", monthly_amount_fen=0, computed_amount_fen=computed, amount_differs=False
        )
        await _run(db, [event])
        case = await _case_of(db, event.application_id)
        detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
        assert detail["eligible"] is True, detail["assessment_reasons"]
        assert detail["next_review_on"] == "2027-02-01"
        assert detail["steps"][0]["data"]["amount_differs"] is False
        assert detail["steps"][0]["data"]["computed_amount_fen"] == 0
        r = await api("eligibility").get(f"/cases/{case['id']}/documents/approval-form", headers=ADMIN)
        assert r.status_code == 200, r.text
        cells, text_of = _form_text(r.content)
        assert cells[cells.index("保障人数") + 1] == "2人"
        assert "不符合保障条件" not in text_of and "待复核" not in text_of, text_of


def _owed(segments: list[dict], member: str, month: str) -> int:
    """Fen the schedule owes `member` for `month` (YYYY-MM)."""
    return sum(
        s["amount_fen"]
        for s in segments
        if s["member_id"] == member and s["from_month"] <= month and (s["to_month"] is None or month <= s["to_month"])
    )


def _child(born: str, **facts) -> HouseholdSnapshot:
    child = {**_member("周小花", born, "head"), "sex": "female", **facts}
    return HouseholdSnapshot.model_validate(
        {"household_id": str(uuid.uuid4()), "region_code": VILLAGE, "hukou_type": "rural", "members": [child]}
    )


async def test_an_imported_orphan_is_owed_until_the_month_of_her_18th_birthday(api, db):
    """周小花, born 20 January 2009, 社会散居孤儿 at 1,400.00 a month since July 2015: owed 140,000 fen for every month
    through January 2027 (she turns 18 on the 20th), nothing from February 2027 — as a case approved through the
    procedure is; her review falls on the birthday, not on the file's later date."""
    snapshot = _child("2009-01-20")
    [member] = [str(m.member_id) for m in snapshot.members]
    event = imported(
        snapshot,
        "orphan",
        details={"programme": "orphan", "recognitions": [{"member_id": member, "kind": "orphan", "basis": "原系统"}]},
        approved_on=date(2015, 6, 10),
        monthly_amount_fen=140_000,
        computed_amount_fen=140_000,
        persons=1,
        next_review_on=date(2027, 6, 1),
    )
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    [*_, (_, schedule)] = await _events(db, case["id"])
    segments = schedule["segments"]
    owed = {m: _owed(segments, member, m) for m in ("2015-07", "2026-12", "2027-01", "2027-02", "2030-01")}
    assert owed == {"2015-07": 140_000, "2026-12": 140_000, "2027-01": 140_000, "2027-02": 0, "2030-01": 0}
    assert segments[-1]["to_month"] == "2027-01"
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert detail["next_review_on"] == "2027-01-20"


async def test_an_imported_disabled_child_is_owed_the_adult_rate_from_the_month_after_turning_18(api, db):
    """A grade-2 disabled child of a household without income (低保 by our rules), born 20 January 2009, paid the
    child rate 100.00 a month: 10,000 fen through January 2027, then grade 2's 85.00 — 8,500 fen from February
    2027, as an approval prices it (吴起县 disability_living.by_grade, child_age 18)."""
    snapshot = _child("2009-01-20", disability_category="physical", disability_grade=2)
    [member] = [str(m.member_id) for m in snapshot.members]
    event = imported(
        snapshot,
        "disability_living",
        approved_on=date(2024, 2, 20),
        monthly_amount_fen=10_000,
        computed_amount_fen=10_000,
        persons=1,
        next_review_on=None,
    )
    await _run(db, [event])
    case = await _case_of(db, event.application_id)
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=ADMIN)).json()
    assert detail["eligible"] is True, detail["assessment_reasons"]
    [*_, (_, schedule)] = await _events(db, case["id"])
    owed = {m: _owed(schedule["segments"], member, m) for m in ("2024-03", "2027-01", "2027-02", "2028-06")}
    assert owed == {"2024-03": 10_000, "2027-01": 10_000, "2027-02": 8_500, "2028-06": 8_500}
    assert detail["next_review_on"] <= "2027-01-20"


async def test_a_second_live_case_is_refused_and_a_replay_changes_nothing(db):
    snapshot = household()
    first, second = imported(snapshot), imported(snapshot)
    await _run(db, [first, second])  # one run: the second sees the first's case as live
    live = await _case_of(db, first.application_id)
    refused = await _case_of(db, second.application_id)
    assert (live["status"], refused["status"]) == ("approved", "rejected")
    [*_, (kind, rejected)] = await _events(db, refused["id"])
    assert kind == "case.rejected.v1" and str(live["id"]) in rejected["reasons"][0]

    async with db.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM eligibility.outbox"))).scalar_one()
    await _run(db, [first, second])  # the same events again
    await _run(db, [imported(snapshot)])  # and a third import of the household, in a later run
    async with db.connect() as conn:
        cases = (
            await conn.execute(
                text("SELECT status, count(*) FROM eligibility.cases WHERE household_id = :h GROUP BY status"),
                {"h": snapshot.household_id},
            )
        ).all()
        after = (await conn.execute(text("SELECT count(*) FROM eligibility.outbox"))).scalar_one()
    assert dict(cases) == {"approved": 1, "rejected": 2}
    assert after - before == 2  # only the third import's refusal: case.opened and case.rejected


# --- POST /assessments -------------------------------------------------------------------------------------------


def _golden_items() -> list[tuple[dict, dict]]:
    """(item, expected) for the golden cases the contract can state: monthly programmes, facts from the snapshot, the
    application's applicant and recognised children (no 已享受 programmes, no one-off requests)."""
    out = []
    for case in load_golden_cases():
        a = case.application
        if "monthly_amount_fen" not in case.expect or case.programme in ("temporary", "medical"):
            continue
        if case.region not in (None, case.snapshot.region_code):
            continue
        if a is not None and (a.household_programmes or a.temporary or a.medical):
            continue
        recognitions = []
        if a is not None:
            for kind, ids in (("orphan", a.orphan_member_ids), ("de_facto_orphan", a.de_facto_orphan_member_ids)):
                recognitions += [
                    {"member_id": str(m), "kind": kind, "basis": a.recognition_basis.get(m, "认定")} for m in ids
                ]
        item = {
            "ref": case.id[:64],
            "programme": case.programme,
            "on": str(case.on),
            "snapshot": case.snapshot.model_dump(mode="json"),
            "details": {"programme": case.programme, "recognitions": recognitions},
        }
        if a is not None and a.member_id is not None:
            item["covered_member_ids"] = [str(a.member_id)]
        out.append((item, case.expect))
    return out


async def test_assessments_price_the_golden_cases_at_their_amounts(api, tokens):
    golden = _golden_items()
    assert len(golden) >= 20
    r = await api("eligibility").post("/assessments", json={"items": [i for i, _ in golden]}, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    results = r.json()["items"]
    assert [x["ref"] for x in results] == [i["ref"] for i, _ in golden]
    got = {x["ref"]: (x["eligible"], x["monthly_amount_fen"] if x["eligible"] else None) for x in results}
    want = {
        i["ref"]: (e.get("eligible", True), e["monthly_amount_fen"] if e.get("eligible", True) else None)
        for i, e in golden
    }
    assert got == want


async def test_assessments_refuse_a_village_outside_the_caller_region(api, tokens):
    item = {"ref": "r1", "programme": "dibao", "on": "2026-12-01", "snapshot": household().model_dump(mode="json")}
    ok = await api("eligibility").post("/assessments", json={"items": [item]}, headers=tokens["clerk"])
    assert ok.status_code == 200, ok.text
    [result] = ok.json()["items"]
    assert result["ref"] == "r1" and result["persons"] == (2 if result["eligible"] else 0)
    elsewhere = household().model_copy(update={"region_code": "610626102201"}).model_dump(mode="json")
    r = await api("eligibility").post(
        "/assessments", json={"items": [item, {**item, "ref": "r2", "snapshot": elsewhere}]}, headers=tokens["clerk"]
    )
    problem(r, 403, "items[1].snapshot.region_code")
    r = await api("eligibility").post("/assessments", json={"items": [item]}, headers=tokens["finance"])
    assert r.status_code == 403  # not a role that prices


async def test_assessments_take_at_most_1000_items(api, tokens):
    item = {"ref": "r", "programme": "dibao", "on": "2026-12-01", "snapshot": household().model_dump(mode="json")}
    r = await api("eligibility").post("/assessments", json={"items": [item] * 1001}, headers=tokens["admin"])
    problem(r, 422, "items")


async def test_the_worker_takes_an_import_file_as_intake_sends_it(db):
    """Through eligibility's own consumer (inbox included): every household.registered of a chunk, then every
    application.imported — each type one run of the set-based handlers."""
    from aiokafka import ConsumerRecord

    from services.eligibility.worker import HANDLERS
    from shared.consumer import EventConsumer
    from shared.events.catalogue import HouseholdRegistered, event_type
    from shared.events.envelope import DomainEvent

    def record(data, offset: int) -> ConsumerRecord:
        value = DomainEvent(type=event_type(type(data)), key=str(data.household_id), data=data)
        raw = value.to_cloudevent("/tests", f"file-{offset}").to_json()
        key = str(data.household_id).encode()
        return ConsumerRecord("intake.applications", 0, offset, 0, 0, key, raw, None, 0, len(raw), [])

    consumer = EventConsumer(
        name="eligibility.import-tests",
        topics=[],
        handlers=HANDLERS,
        uow_factory=lambda: UnitOfWork(session_factory(db), platform, "/tests"),
        bootstrap="",
        producer=None,
    )  # type: ignore[arg-type]
    households = [household() for _ in range(30)]
    registered = [HouseholdRegistered(household_id=h.household_id, region_code=VILLAGE, snapshot=h) for h in households]
    events = [imported(h) for h in households]
    records = [record(d, i) for i, d in enumerate([*registered, *events])]
    await consumer.process(records)
    await consumer.process(records)  # redelivered: the inbox drops it
    async with db.connect() as conn:
        made = (
            await conn.execute(
                text("SELECT count(*) FROM eligibility.cases WHERE application_id = ANY(:a) AND status = 'approved'"),
                {"a": [e.application_id for e in events]},
            )
        ).scalar_one()
    assert made == 30
