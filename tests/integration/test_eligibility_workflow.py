"""The 低保 case workflow through eligibility's API on the real PostgreSQL, for a 吴起县 household, with the
county's 2023 figures (seed 000) and deadlines on the Chinese working-day calendar."""

from __future__ import annotations

import importlib
import io
import uuid
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from services.eligibility.cases.service import open_cases, record_households
from services.eligibility.models import platform
from shared.core.household import HouseholdSnapshot
from shared.core.period import china_today
from shared.core.workdays import add_workdays
from shared.db import session_factory
from shared.events.catalogue import ApplicationSubmitted, HouseholdRegistered, HouseholdUpdated
from shared.uow import UnitOfWork
from tests.helpers import delivery, walk

VILLAGE = "610626101201"  # 吴起县铁边城镇, a village under it


def _member(name: str, born: str, relation: str, **facts) -> dict:
    return {
        "member_id": str(uuid.uuid4()),
        "name": name,
        "birth_date": born,
        "sex": "male",
        "relation": relation,
        **facts,
    }


def wuqi_household(**overrides) -> HouseholdSnapshot:
    """Three rural members; 300 yuan a month counted income (the pension is exempt)."""
    data = {
        "household_id": str(uuid.uuid4()),
        "region_code": VILLAGE,
        "hukou_type": "rural",
        "members": [
            _member("刘志明", "1962-04-15", "head", labour_capacity="partial"),
            _member("高桂芳", "1965-08-02", "spouse"),
            _member("刘小军", "2010-09-03", "child", student=True),
        ],
        "incomes": [
            {"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000},
            {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
        ],
        "properties": [{"kind": "housing", "value_fen": 6_000_000}],
    }
    data.update(overrides)
    return HouseholdSnapshot.model_validate(data)


@pytest.fixture
async def open_wuqi_case(db):
    """Open a case as the consumer would, for an application received on a given day."""
    sessions = session_factory(db)

    async def opener(
        received: date, programme: str = "dibao", snapshot: HouseholdSnapshot | None = None, **extra
    ) -> tuple[str, HouseholdSnapshot]:
        snapshot = snapshot or wuqi_household()
        data = ApplicationSubmitted(
            application_id=uuid.uuid4(),
            household_id=snapshot.household_id,
            programme=programme,
            region_code=snapshot.region_code,
            submitted_on=received,
            consent_signed=True,
            separate_register=extra.pop("separate_register", False),
            details=extra.pop("details", {}),
            snapshot=snapshot,
        )
        async with UnitOfWork(sessions, platform, "/tests") as uow:
            await open_cases(uow, [delivery(data)])
            await uow.commit()
        async with db.connect() as conn:
            case_id = (
                await conn.execute(
                    text("SELECT id FROM eligibility.cases WHERE application_id = :a"), {"a": data.application_id}
                )
            ).scalar_one()
        return str(case_id), snapshot

    return opener


async def test_a_run_of_submissions_opens_one_case_each_whatever_is_repeated(db):
    """The consumer's set-based opening: duplicates within a run and redelivered runs open nothing more; every
    opened case has its event (with its own cause's correlation id) and its audit row."""
    submissions = [
        ApplicationSubmitted(
            application_id=uuid.uuid4(),
            household_id=(h := wuqi_household()).household_id,
            programme="dibao",
            region_code=VILLAGE,
            submitted_on=date(2023, 9, 4),
            consent_signed=True,
            separate_register=False,
            snapshot=h,
        )
        for _ in range(5)
    ]
    run = [delivery(d, f"run-{i}") for i, d in enumerate(submissions)]
    sessions = session_factory(db)
    for attempt in (run + run[:2], run):  # a duplicate within the run, then the whole run again
        async with UnitOfWork(sessions, platform, "/tests") as uow:
            await open_cases(uow, attempt)
            await uow.commit()
    ids = [d.application_id for d in submissions]
    async with db.connect() as conn:
        cases = (
            await conn.execute(
                text(
                    "SELECT application_id, status, assessment IS NOT NULL, due_date IS NOT NULL "
                    "FROM eligibility.cases WHERE application_id = ANY(:a)"
                ),
                {"a": ids},
            )
        ).all()
        events = (
            (
                await conn.execute(
                    text(
                        "SELECT payload->>'correlationid' FROM eligibility.outbox WHERE type LIKE '%case.opened%' "
                        "AND (payload->'data'->>'application_id')::uuid = ANY(:a)"
                    ),
                    {"a": ids},
                )
            )
            .scalars()
            .all()
        )
        audits = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM eligibility.audit_log a JOIN "
                    "eligibility.cases c ON a.resource_id = c.id::text "
                    "WHERE a.action = 'case.open' AND c.application_id = ANY(:a)"
                ),
                {"a": ids},
            )
        ).scalar()
    # (One case per application is eligibility.cases' unique index; the events and audit records below are what a
    # duplicate delivery would double.)
    assert len(cases) == 5 and all(status == "accepted" and assessed and due for _, status, assessed, due in cases)
    assert sorted(events) == [f"run-{i}" for i in range(5)] and audits == 5


async def test_a_run_with_two_applications_of_one_household_keeps_its_later_snapshot_as_latest_facts(db):
    """Cases and the households' latest facts are written by one statement: a household applying twice in a run
    (two programmes) gets both cases, and its facts are the later application's snapshot."""
    first = wuqi_household()
    later = wuqi_household(household_id=str(first.household_id), properties=[])
    other = wuqi_household()
    submissions = [
        ApplicationSubmitted(
            application_id=uuid.uuid4(),
            household_id=h.household_id,
            programme=programme,
            region_code=VILLAGE,
            submitted_on=date(2023, 9, 4),
            consent_signed=True,
            separate_register=False,
            snapshot=h,
        )
        for h, programme in ((first, "dibao"), (other, "dibao"), (later, "marginal"))
    ]
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await open_cases(uow, [delivery(d) for d in submissions])
        await uow.commit()
    async with db.connect() as conn:
        cases = (
            await conn.execute(
                text(
                    "SELECT household_id, programme, snapshot FROM eligibility.cases WHERE application_id = ANY(:a) "
                    "ORDER BY programme"
                ),
                {"a": [d.application_id for d in submissions]},
            )
        ).all()
        facts = dict(
            (
                await conn.execute(
                    text("SELECT household_id, snapshot FROM eligibility.household_facts WHERE household_id = ANY(:h)"),
                    {"h": [first.household_id, other.household_id]},
                )
            ).all()
        )
    assert [(c.household_id, c.programme) for c in cases if c.household_id == first.household_id] == [
        (first.household_id, "dibao"),
        (first.household_id, "marginal"),
    ]
    assert facts[first.household_id] == later.model_dump(mode="json") != first.model_dump(mode="json")
    assert facts[other.household_id] == other.model_dump(mode="json")


async def _post(api, tokens, who: str, case_id: str, path: str, body: dict):
    return await api("eligibility").post(f"/cases/{case_id}/{path}", json=body, headers=tokens[who])


async def household_facts(db, snapshot: HouseholdSnapshot) -> None:
    """The household's latest facts as eligibility learns them from intake (what a review reassesses on)."""
    event = HouseholdRegistered(household_id=snapshot.household_id, region_code=snapshot.region_code, snapshot=snapshot)
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_households(uow, [delivery(event)])
        await uow.commit()


async def household_updated(db, snapshot: HouseholdSnapshot) -> None:
    """The front desk changed the household (its facts, its members): intake's `household.updated`, as the
    consumer hands it to eligibility."""
    event = HouseholdUpdated(household_id=snapshot.household_id, region_code=snapshot.region_code, snapshot=snapshot)
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_households(uow, [delivery(event)])
        await uow.commit()


async def _to_notice(api, tokens, case_id: str) -> dict:
    """accepted → investigation → home visit → economic check → township opinion → appraisal → notice."""
    steps = [
        ("clerk", "investigation", {"on": "2023-09-05"}),
        (
            "clerk",
            "home-visits",
            {"on": "2023-09-06", "investigators": ["张强", "李娜"], "findings": "窑洞一孔，家中无大件家电，与申报一致"},
        ),
        ("reviewer", "economic-check", {"on": "2023-09-11", "result": "consistent"}),
        (
            "reviewer",
            "township-opinion",
            {"on": "2023-09-12", "recommendation": "approve", "opinion": "符合农村低保条件，建议纳入"},
        ),
        (
            "reviewer",
            "appraisal",
            {"on": "2023-09-13", "result": "agreed", "participants": 9, "opinion": "民主评议一致同意"},
        ),
    ]
    r = None
    for who, path, body in steps:
        r = await _post(api, tokens, who, case_id, path, body)
        assert r.status_code == 200, (path, r.text)
    assert r is not None
    return r.json()


async def test_dibao_from_acceptance_to_county_approval_with_wuqi_2023_amount(api, tokens, db, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["status"] == "accepted"
    assert case["due_date"] == "2023-09-07"  # investigation starts within 3 working days
    assert case["eligible"] is True and case["assessed_monthly_amount_fen"] == 135_000

    case = await _to_notice(api, tokens, case_id)
    assert case["status"] == "public_notice"
    assert (case["notice_posted_on"], case["notice_ends_on"]) == ("2023-09-13", "2023-09-19")

    early = await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-19"})
    assert early.status_code == 409
    r = await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    assert r.status_code == 200
    # 10 working days from 20 Sept 2023 cross National Day (29 Sept–6 Oct off, 7–8 Oct worked): 10 Oct.
    assert r.json()["status"] == "county_review" and r.json()["due_date"] == "2023-10-10"
    assert add_workdays(date(2023, 9, 20), 10) == date(2023, 10, 10)

    by_clerk = await _post(
        api, tokens, "clerk", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    assert by_clerk.status_code == 403
    r = await _post(
        api,
        tokens,
        "approver",
        case_id,
        "decision",
        {"on": "2023-09-25", "decision": "approve", "opinion": "经审核，同意纳入农村低保"},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    # 吴起县 2023: per-capita 100 yuan → tier 450 yuan/person/month × 3 = 1350 yuan.
    assert done["status"] == "approved" and done["monthly_amount_fen"] == 135_000
    assert done["effective_month"] == "2023-10"  # the month after approval
    assert done["due_date"] is None and done["next_review_on"] is not None
    assert {t["key"] for t in done["trace"]} >= {"dibao.standard.rural", "dibao.tiers.rural", "dibao.mode.rural"}
    assert [s["step"] for s in done["steps"]] == [
        "investigation",
        "home-visits",
        "economic-check",
        "township-opinion",
        "appraisal",
        "notice/close",
        "decision",
    ]

    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload FROM eligibility.outbox WHERE type LIKE "
                    "'%case.approved%' AND payload->'data'->>'case_id'"
                    " = :c"
                ),
                {"c": case_id},
            )
        ).scalar_one()
        opinion = (
            await conn.execute(
                text("SELECT reason FROM eligibility.audit_log WHERE action = 'case.decision' AND resource_id = :c"),
                {"c": case_id},
            )
        ).scalar_one()
    assert event["data"]["monthly_amount_fen"] == 135_000 and event["data"]["effective_month"] == "2023-10"
    assert len(event["data"]["member_ids"]) == 3
    # The decision's date is the step's (the county's statistics count it in that month), not the day keyed in.
    decided = next(s for s in r.json()["steps"] if s["step"] == "decision")["on"]
    assert event["data"]["decided_on"] == decided != event["data"]["decided_at"][:10]
    assert opinion == "经审核，同意纳入农村低保"


async def test_public_notice_spreadsheet_shows_only_masked_name_size_and_amount(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    r = await api("eligibility").get("/notices/610626101", params={"format": "xlsx"}, headers=tokens["reviewer"])
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("姓名", "家庭人口", "救助项目", "月保障金额(元)", "公示开始", "公示结束")
    mine = [row for row in rows[2:] if row and row[0] == "刘*明"]
    assert mine and mine[0][1:4] == (3, "最低生活保障", "1350.00")
    flat = " ".join(str(c) for row in rows for c in row if c is not None)
    assert "刘志明" not in flat and "300.00" not in flat  # no full name, no income
    as_json = (await api("eligibility").get("/notices/610626101", headers=tokens["reviewer"])).json()
    assert any(row["name"] == "刘*明" and row["household_size"] == 3 for row in as_json["rows"])
    other = await api("eligibility").get("/notices/610626102", headers=tokens["reviewer"])
    assert other.status_code == 404  # another township's notice is outside a township reviewer's region


async def test_objection_during_notice_sends_it_back_to_investigation(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    r = await _post(
        api,
        tokens,
        "reviewer",
        case_id,
        "notice/objections",
        {"on": "2023-09-15", "objection": "村民反映其子在外务工收入未申报"},
    )
    assert r.status_code == 200 and r.json()["status"] == "investigation"
    assert r.json()["notice_posted_on"] is None


async def test_a_case_with_an_objection_needs_the_countys_home_visit_before_approval(api, tokens, open_wuqi_case):
    """domain.md: the county's home visit is compulsory for the separate register *and for complained cases*: an
    objection during the public notice sends the case back, and once it comes round again the county cannot approve
    it before visiting the household itself."""
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    objection = {"on": "2023-09-15", "objection": "群众反映其子在外务工收入较高"}
    assert (await _post(api, tokens, "reviewer", case_id, "notice/objections", objection)).status_code == 200
    again = [
        (
            "clerk",
            "home-visits",
            {"on": "2023-09-18", "investigators": ["张强", "李娜"], "findings": "其子务工收入不稳定"},
        ),
        ("reviewer", "economic-check", {"on": "2023-09-19", "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": "2023-09-20", "recommendation": "approve", "opinion": "建议纳入"}),
        ("reviewer", "appraisal", {"on": "2023-09-21", "result": "agreed", "participants": 9, "opinion": "同意"}),
        ("reviewer", "notice/close", {"on": "2023-09-29"}),
    ]
    for who, path, body in again:
        r = await _post(api, tokens, who, case_id, path, body)
        assert r.status_code == 200, (path, r.text)
    approve = {"on": "2023-10-09", "decision": "approve", "opinion": "同意"}
    r = await _post(api, tokens, "approver", case_id, "decision", approve)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["home-visits"], r.text
    assert "异议" in r.json()["detail"]
    county = {"on": "2023-10-09", "investigators": ["县局王科长", "县局赵干事"], "findings": "核实", "by_county": True}
    assert (await _post(api, tokens, "approver", case_id, "home-visits", county)).status_code == 200
    assert (await _post(api, tokens, "approver", case_id, "decision", approve)).json()["status"] == "approved"


def _pair_on_400() -> HouseholdSnapshot:
    """Two rural members, 400 yuan a month from farm work: per capita 200, eligible (tier 400 yuan a person)."""
    return wuqi_household(
        members=[
            _member("马文礼", "1968-03-12", "head", labour_capacity="partial"),
            _member("白秀英", "1970-06-20", "spouse", labour_capacity="partial"),
        ],
        incomes=[{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 40_000}],
    )


async def _to_township_review(api, tokens, case_id: str) -> None:
    """accepted → investigation → home visit → economic check (November 2023)."""
    for who, path, body in (
        ("clerk", "investigation", {"on": "2023-11-01"}),
        ("clerk", "home-visits", {"on": "2023-11-02", "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": "2023-11-03", "result": "consistent"}),
    ):
        r = await _post(api, tokens, who, case_id, path, body)
        assert r.status_code == 200, (path, r.text)


async def _approval_refused_for_want_of_notice(api, tokens, db, case_id: str, who: str, on: str) -> None:
    """The approval is a 409 naming the missing notice and the step that runs it, and writes nothing: the case,
    its steps, its events and its audit stay as they were."""

    async def written() -> tuple:
        async with db.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT c.status, c.notice_posted_on, c.decided_on, c.monthly_amount_fen, "
                        "(SELECT count(*) FROM eligibility.case_steps s WHERE s.case_id = c.id), "
                        "(SELECT count(*) FROM eligibility.outbox o WHERE o.payload->'data'->>'case_id' = :c), "
                        "(SELECT count(*) FROM eligibility.audit_log a WHERE a.resource_id = :c "
                        "AND a.action = 'case.decision') "
                        "FROM eligibility.cases c WHERE c.id = CAST(:c AS uuid)"
                    ),
                    {"c": case_id},
                )
            ).one()

    before = await written()
    assert before[:2] == ("county_review", None)
    r = await _post(api, tokens, who, case_id, "decision", {"on": on, "decision": "approve", "opinion": "同意纳入"})
    assert r.status_code == 409, r.text
    assert "公示" in r.json()["detail"] and r.json()["allowed_next"] == ["notice"]
    assert await written() == before


async def test_an_appraisal_that_disagreed_is_approved_only_after_the_public_notice_ran(
    api, tokens, db, open_wuqi_case
):
    """民发〔2021〕57号 (domain.md): the township's opinion is posted in the village for 7 days before the county
    decides. An appraisal that disagreed sends the case to the county unposted: the county may reject it as it is,
    but may approve it only after sending it to the public notice (`notice`), which the township then closes."""
    case_id, _ = await open_wuqi_case(date(2023, 10, 31), snapshot=_pair_on_400())
    await _to_township_review(api, tokens, case_id)
    opinion = {"on": "2023-11-04", "recommendation": "approve", "opinion": "符合农村低保条件，建议纳入"}
    assert (await _post(api, tokens, "reviewer", case_id, "township-opinion", opinion)).json()["status"] == "appraisal"
    appraisal = {"on": "2023-11-05", "result": "disagreed", "participants": 9, "opinion": "评议未通过"}
    r = await _post(api, tokens, "reviewer", case_id, "appraisal", appraisal)
    assert r.status_code == 200 and r.json()["status"] == "county_review" and r.json()["notice_posted_on"] is None
    assert r.json()["next_steps"] == ["home-visits", "notice", "decision", "extension"]

    await _approval_refused_for_want_of_notice(api, tokens, db, case_id, "approver", "2023-11-06")

    # The county does not follow the appraisal: the case goes to the public notice, 7 days from the posting.
    send = {"on": "2023-11-06", "opinion": "经县级核查符合条件，退回乡镇公示"}
    assert (await _post(api, tokens, "reviewer", case_id, "notice", send)).status_code == 403  # the county's step
    r = await _post(api, tokens, "approver", case_id, "notice", send)
    assert r.status_code == 200, r.text
    posted = r.json()
    assert (posted["status"], posted["notice_posted_on"], posted["notice_ends_on"]) == (
        "public_notice",
        "2023-11-06",
        "2023-11-12",
    )
    assert posted["next_steps"] == ["notice/objections", "notice/close", "extension"]
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-11-12"})).status_code == 409
    r = await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-11-13"})
    assert r.status_code == 200 and r.json()["status"] == "county_review"
    assert "notice" not in r.json()["next_steps"]  # it ran: the county decides
    approve = {"on": "2023-11-14", "decision": "approve", "opinion": "公示无异议，同意纳入"}
    r = await _post(api, tokens, "approver", case_id, "decision", approve)
    assert r.status_code == 200, r.text
    done = r.json()
    # Per capita 200 yuan: tier 400 yuan/person/month × 2.
    assert done["status"] == "approved" and done["monthly_amount_fen"] == 80_000
    assert [s["step"] for s in done["steps"]][-5:] == [
        "township-opinion",
        "appraisal",
        "notice",
        "notice/close",
        "decision",
    ]


async def test_a_township_rejection_is_rejected_without_a_notice_and_approved_only_after_one(
    api, tokens, db, open_wuqi_case
):
    """A township recommending rejection sends the case to the county with nothing to post: the county rejects it
    as it is (a rejection needs no notice), or, not agreeing, approves it only once the notice has run."""
    rejected, _ = await open_wuqi_case(date(2023, 10, 31), snapshot=_pair_on_400())
    overruled, _ = await open_wuqi_case(date(2023, 10, 31), snapshot=_pair_on_400())
    opinion = {"on": "2023-11-04", "recommendation": "reject", "opinion": "家庭收入不实，建议不予纳入"}
    for case_id in (rejected, overruled):
        await _to_township_review(api, tokens, case_id)
        r = await _post(api, tokens, "reviewer", case_id, "township-opinion", opinion)
        assert r.status_code == 200 and r.json()["status"] == "county_review", r.text
        await _approval_refused_for_want_of_notice(api, tokens, db, case_id, "approver", "2023-11-06")

    reject = {"on": "2023-11-06", "decision": "reject", "reasons": ["家庭收入不实"], "opinion": "不予批准"}
    r = await _post(api, tokens, "approver", rejected, "decision", reject)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text

    r = await _post(api, tokens, "approver", overruled, "notice", {"on": "2023-11-06", "opinion": "不同意乡镇意见"})
    assert r.status_code == 200 and r.json()["status"] == "public_notice", r.text
    assert (await _post(api, tokens, "reviewer", overruled, "notice/close", {"on": "2023-11-13"})).status_code == 200
    approve = {"on": "2023-11-14", "decision": "approve", "opinion": "公示无异议，同意纳入"}
    r = await _post(api, tokens, "approver", overruled, "decision", approve)
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text


async def test_a_township_deciding_itself_approves_only_after_the_notice_too(api, tokens, db, open_wuqi_case):
    """委托: 支出型 临时救助 within the township's limit is decided by the township's reviewer, as in a county that
    delegates its decisions. The township that recommended rejection cannot approve it unposted either: it posts
    the notice first (the county's `notice` is the delegated township's too)."""
    facts = {"temporary": {"type": "expenditure", "requested_amount_fen": 300_000, "cause": "住院"}}
    case_id, _ = await open_wuqi_case(date(2023, 10, 31), programme="temporary", details=facts)
    await _to_township_review(api, tokens, case_id)
    opinion = {"on": "2023-11-04", "recommendation": "reject", "opinion": "建议不予救助"}
    r = await _post(api, tokens, "reviewer", case_id, "township-opinion", opinion)
    assert r.status_code == 200 and r.json()["status"] == "county_review", r.text

    await _approval_refused_for_want_of_notice(api, tokens, db, case_id, "reviewer", "2023-11-06")

    r = await _post(api, tokens, "reviewer", case_id, "notice", {"on": "2023-11-06", "opinion": "重新研究，予以公示"})
    assert r.status_code == 200 and r.json()["status"] == "public_notice", r.text
    assert (await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-11-13"})).status_code == 200
    approve = {"on": "2023-11-14", "decision": "approve", "opinion": "公示无异议，同意救助"}
    r = await _post(api, tokens, "reviewer", case_id, "decision", approve)
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    assert r.json()["one_off_amount_fen"] == 300_000


async def test_illegal_steps_get_409_with_the_allowed_next_steps(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    r = await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-05", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 409 and "investigation" in r.json()["allowed_next"]
    await _post(api, tokens, "clerk", case_id, "investigation", {"on": "2023-09-05"})
    r = await _post(api, tokens, "reviewer", case_id, "economic-check", {"on": "2023-09-06", "result": "consistent"})
    assert r.status_code == 409 and r.json()["allowed_next"] == ["home-visits", "extension"]


async def test_bad_step_input_is_rejected_naming_the_field_and_changes_nothing(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _post(api, tokens, "clerk", case_id, "investigation", {"on": "2023-09-05"})
    r = await _post(
        api, tokens, "clerk", case_id, "home-visits", {"investigators": ["张强"], "findings": "x", "on": "2023-09-06"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "investigators"
    r = await _post(
        api,
        tokens,
        "clerk",
        case_id,
        "home-visits",
        {"investigators": ["张强", "李娜"], "findings": "x", "on": "2030-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    r = await _post(
        api,
        tokens,
        "clerk",
        case_id,
        "home-visits",
        {"investigators": ["张强", "李娜"], "findings": "x", "on": "2023-09-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"  # before the step began
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["reviewer"])).json()
    assert case["home_visits"] == 0


async def test_rejection_needs_written_reasons(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    # No reasons, none, or only blanks: a 422 naming `reasons` (not `body`), and the case is still to decide.
    for reasons in ({}, {"reasons": []}, {"reasons": ["  "]}):
        body = {"on": "2023-09-25", "decision": "reject", "opinion": "不符合", **reasons}
        r = await _post(api, tokens, "approver", case_id, "decision", body)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["reasons"], r.text
        assert "书面说明理由" in r.json()["errors"][0]["message"]
    assert (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()["status"] == (
        "county_review"
    )
    r = await _post(
        api,
        tokens,
        "approver",
        case_id,
        "decision",
        {
            "on": "2023-09-25",
            "decision": "reject",
            "reasons": ["家庭人均收入高于当地低保标准"],
            "opinion": "不符合条件",
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"


async def test_separate_register_needs_the_countys_home_visit_before_approval(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), separate_register=True)
    await _to_notice(api, tokens, case_id)
    await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    approve = {"on": "2023-09-26", "decision": "approve", "opinion": "同意"}
    r = await _post(api, tokens, "approver", case_id, "decision", approve)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["home-visits"]
    r = await _post(
        api,
        tokens,
        "approver",
        case_id,
        "home-visits",
        {"on": "2023-09-25", "investigators": ["县局王科长", "县局赵干事"], "findings": "核实无误", "by_county": True},
    )
    assert r.status_code == 200
    assert (await _post(api, tokens, "approver", case_id, "decision", approve)).json()["status"] == "approved"


async def test_emergency_temporary_assistance_is_paid_first_within_the_township_limit(api, tokens, open_wuqi_case):
    facts = {"temporary": {"type": "emergency", "requested_amount_fen": 800_000, "cause": "窑洞坍塌"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=facts)
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行救助"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["one_off_amount_fen"] == 800_000
    assert r.json()["documents_pending"] is True

    big = {"temporary": {"type": "emergency", "requested_amount_fen": 3_000_000, "cause": "火灾"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=big)
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行"})
    assert r.status_code == 403  # above 20,000 yuan: the county joint meeting decides
    r = await _post(api, tokens, "approver", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "联席会议"})
    assert r.status_code == 200 and r.json()["one_off_amount_fen"] == 3_000_000


async def test_overdue_cases_are_listed_for_the_region(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    listed = await walk(api("eligibility"), "/cases/deadlines", tokens["approver"])
    overdue = {c["id"]: c for c in listed if c["due_date"] < china_today().isoformat()}
    assert case_id in overdue and overdue[case_id]["due_date"] == "2023-09-07"
    other = await walk(api("eligibility"), "/cases/deadlines", tokens["clerk_other_township"])
    assert case_id not in {c["id"] for c in other}


async def test_review_starts_gradual_exit_when_work_lifts_income(api, tokens, db, open_wuqi_case):
    snapshot = wuqi_household()
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), snapshot=snapshot)
    await _to_notice(api, tokens, case_id)
    await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    await _post(
        api, tokens, "approver", case_id, "decision", {"on": "2023-09-25", "decision": "approve", "opinion": "同意"}
    )
    due = await walk(api("eligibility"), "/cases/reviews-due", tokens["approver"], {"within_days": 0})
    assert case_id in {c["id"] for c in due}  # approved 2023-09-25: its yearly review is long due
    # The son left school and took a job at 3,000 yuan a month: the household is above the standard.
    members = [m.model_dump(mode="json") for m in snapshot.members]
    members[2].update(student=False, employed=True, birth_date="2004-09-03")
    working = wuqi_household(
        household_id=str(snapshot.household_id),
        members=members,
        incomes=[
            {"member_id": members[2]["member_id"], "kind": "wages", "subkind": "salary", "monthly_amount_fen": 300_000}
        ],
    )
    await household_facts(db, working)
    r = await _post(api, tokens, "reviewer", case_id, "review", {"on": "2024-03-10", "opinion": "年度核查"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "gradual_exit" and r.json()["exit_last_month"] == "2024-09"
    # A death is the death rule's, whoever stops for it (issue 16): the date of death is asked for (was: the month
    # before the termination was the last paid), the member too when several are counted; the remaining members'
    # 渐退 runs out as decided (the son's wages keep them above the standard).
    death = {"on": "2024-05-20", "reason": "death", "opinion": "户主去世"}
    r = await _post(api, tokens, "approver", case_id, "termination", death)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "death_date", r.text
    r = await _post(api, tokens, "approver", case_id, "termination", {**death, "death_date": "2024-04-28"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "member_id", r.text
    head = members[0]["member_id"]
    r = await _post(
        api, tokens, "approver", case_id, "termination", {**death, "death_date": "2024-04-28", "member_id": head}
    )
    assert r.status_code == 200 and r.json()["status"] == "gradual_exit" and r.json()["exit_last_month"] == "2024-09"


async def test_admin_adds_a_dated_standard_rise_and_it_is_announced(api, tokens, db):
    # Dated in the future: the cases other tests open today keep today's standard, whatever the order they run in.
    body = {
        "region": "610626",
        "key": "dibao.standard.rural",
        "start": "2031-01-01",
        "value": {"per": "year", "fen": 660_000},
        "reference": "延安市民政局 2024 提标通知 (test)",
    }
    # The value in force the day before: 6000元/年 from the YAML tree, or what another test dated before 2031
    # added (test_eligibility_recompute's 2024 rise), whichever order the files run in.
    in_force = await api("eligibility").get(
        "/parameters/dibao.standard.rural", params={"region": "610626", "on": "2030-12-31"}, headers=tokens["clerk"]
    )
    previous = in_force.json()["value"]
    assert previous in ({"per": "year", "fen": 600_000}, {"per": "year", "fen": 720_000})
    r = await api("eligibility").post("/parameters", json=body, headers=tokens["approver"])
    assert r.status_code == 403
    r = await api("eligibility").post("/parameters", json=body, headers=tokens["admin"])
    assert r.status_code == 201, r.text
    again = await api("eligibility").post("/parameters", json=body, headers=tokens["admin"])
    assert again.status_code == 409
    r = await api("eligibility").get(
        "/parameters/dibao.standard.rural",
        params={"region": "610626101201", "on": "2031-02-01"},
        headers=tokens["clerk"],
    )
    assert r.json()["value"] == {"per": "year", "fen": 660_000} and r.json()["start"] == "2031-01-01"
    old = await api("eligibility").get(
        "/parameters/dibao.standard.rural", params={"region": "610626", "on": "2030-12-31"}, headers=tokens["clerk"]
    )
    assert old.json()["value"] == previous
    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload FROM eligibility.outbox WHERE type "
                    "LIKE '%standard_changed%' ORDER BY id DESC LIMIT 1"
                )
            )
        ).scalar_one()
    assert event["data"]["previous_value"] == previous
    assert event["data"]["value"] == {"per": "year", "fen": 660_000}

    for bad, field in (
        ({**body, "key": "dibao.standard.moon"}, "key"),
        ({**body, "start": "2024-02-01", "value": {"per": "year", "fen": -5}}, "value"),
        ({**body, "region": "999999"}, "region"),
    ):
        r = await api("eligibility").post("/parameters", json=bad, headers=tokens["admin"])
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


async def test_notice_dates_a_correction_left_behind_are_cleared_on_upgrade(api, tokens, db, open_wuqi_case):
    """Before corrected facts took the notice down, a case they sent back kept its notice's dates and would have
    counted as posted: migration 0011 clears them on the open cases holding them (not on a case whose notice closed
    as its last move, nor on one on notice now)."""
    migration = importlib.import_module("services.eligibility.migrations.versions.0011_eligibility_stale_notice_dates")
    closed, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, closed)
    assert (await _post(api, tokens, "reviewer", closed, "notice/close", {"on": "2023-09-20"})).status_code == 200
    posted, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, posted)
    stale, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_township_review(api, tokens, stale)
    opinion = {"on": "2023-11-04", "recommendation": "reject", "opinion": "建议不予纳入"}
    assert (await _post(api, tokens, "reviewer", stale, "township-opinion", opinion)).status_code == 200
    ids = [closed, posted, stale]
    async with db.begin() as conn:
        # The state an amended case was left in: at the county after a rejection, with its earlier notice's dates.
        await conn.execute(
            text(
                "UPDATE eligibility.cases SET notice_posted_on = '2023-09-13', notice_ends_on = '2023-09-19' "
                "WHERE id = CAST(:c AS uuid)"
            ),
            {"c": stale},
        )
        await conn.execute(text(migration.STALE_NOTICES_CLEARED))
        dates = dict(
            (
                await conn.execute(
                    text("SELECT id::text, notice_ends_on FROM eligibility.cases WHERE id = ANY(CAST(:ids AS uuid[]))"),
                    {"ids": ids},
                )
            ).all()
        )
    assert dates == {closed: date(2023, 9, 19), posted: date(2023, 9, 19), stale: None}
    approve = {"on": "2023-11-06", "decision": "approve", "opinion": "同意"}
    r = await _post(api, tokens, "approver", stale, "decision", approve)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["notice"], r.text


async def test_household_facts_changed_during_the_notice_send_the_case_back(api, tokens, db, open_wuqi_case):
    """The front desk records 750 yuan of farm work (was 300) while the 低保 case is on notice: the household's new
    facts reach the case as an amendment does — 250 per head, the tier below 300 gives 400 each: 1200 yuan (it was
    100 per head: 450 each, 1350) — and it goes back to investigation with the notice taken down, so the notice
    cannot be closed nor the case approved on the old facts. The same facts again change nothing."""
    case_id, snapshot = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    wages = [snapshot.incomes[0].model_copy(update={"monthly_amount_fen": 75_000}), *snapshot.incomes[1:]]
    changed = snapshot.model_copy(update={"incomes": wages})
    await household_updated(db, changed)
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert (case["status"], case["notice_posted_on"], case["notice_ends_on"]) == ("investigation", None, None)
    assert case["assessed_monthly_amount_fen"] == 120_000
    assert case["steps"][-1]["step"] == "amended"
    r = await _post(api, tokens, "reviewer", case_id, "notice/close", {"on": "2023-09-20"})
    assert r.status_code == 409, r.text
    await household_updated(db, changed)  # redelivered, or a change the case was not assessed on
    again = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert len(again["steps"]) == len(case["steps"])


async def test_a_member_removed_during_the_notice_sends_the_case_back(api, tokens, db, open_wuqi_case):
    """Two of three members taken out at the desk during the notice: 300 yuan for one is 300 per head, the tier below
    400 gives 350 yuan."""
    case_id, snapshot = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    await household_updated(db, snapshot.model_copy(update={"members": snapshot.members[:1]}))
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert (case["status"], case["notice_posted_on"], case["assessed_monthly_amount_fen"]) == (
        "investigation",
        None,
        35_000,
    )


async def test_an_objection_after_the_notice_ended_is_refused_naming_on(api, tokens, open_wuqi_case):
    """Notice 13–19 Sept 2023, not yet closed: an objection dated the 25th is a 422 naming `on`, nothing changed."""
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    await _to_notice(api, tokens, case_id)
    body = {"on": "2023-09-25", "objection": "公示结束后收到的异议"}
    r = await _post(api, tokens, "reviewer", case_id, "notice/objections", body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on", r.text
    assert "2023-09-19" in r.json()["errors"][0]["message"]
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert (case["status"], case["complained"], case["notice_ends_on"]) == ("public_notice", False, "2023-09-19")
