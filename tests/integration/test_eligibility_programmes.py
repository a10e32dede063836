"""Person-level and one-off programmes from the front desk (intake's API) to eligibility's decision, on the real
PostgreSQL: the application event intake wrote to its outbox is what eligibility opens the case from, as its consumer
would, and eligibility's decision event is what intake shows. 吴起县 (610626) figures of 2023 (seed 000)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from services.eligibility.cases.service import amend_case, open_cases
from services.eligibility.models import platform as eligibility_platform
from services.intake.applications.service import mirror_case_events
from services.intake.models import platform as intake_platform
from shared.core.period import Period, china_today
from shared.db import session_factory
from shared.events.catalogue import ApplicationAmended, ApplicationSubmitted, CaseApproved
from shared.uow import UnitOfWork
from tests.helpers import delivery, household_body, resident_id

RECEIVED = china_today() - timedelta(days=20)  # a paper application entered later, so the 7-day notice has run


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


async def _register(api, tokens, body: dict) -> dict:
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    return r.json()


def _member(household: dict, name: str) -> str:
    return next(m["id"] for m in household["members"] if m["name"] == name)


async def _apply(api, tokens, body: dict) -> dict:
    r = await api("intake").post(
        "/applications", json={"received_on": RECEIVED.isoformat(), **body}, headers=tokens["clerk"]
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _outbox(db, schema: str, event: str, field: str, value: str) -> dict:
    async with db.connect() as conn:
        return (
            await conn.execute(
                text(
                    f"SELECT payload->'data' FROM {schema}.outbox WHERE "
                    f"type LIKE :t AND payload->'data'->>'{field}' = :v"
                ),
                {"t": f"%{event}%", "v": value},
            )
        ).scalar_one()


async def _apply_tekun(api, tokens, household: dict, member: str) -> dict:
    """A 特困 application for one member, 分散供养 (at home)."""
    body = {"household_id": household["id"], "programme": "tekun", "consent_signed": True}
    return await _apply(api, tokens, {**body, "applicant_member_id": member, "tekun_arrangement": "home"})


async def _open_from_intake(db, application_id: str) -> str:
    """Eligibility opens the case from the event intake published, exactly as its consumer does."""
    data = ApplicationSubmitted.model_validate(
        await _outbox(db, "intake", "application.submitted", "application_id", application_id)
    )
    async with UnitOfWork(session_factory(db), eligibility_platform, "/tests") as uow:
        case = (await open_cases(uow, [delivery(data)]))[0]
        await uow.commit()
    return str(case.id)


async def _case(api, tokens, case_id: str) -> dict:
    return (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()


def _to_county_review() -> list[tuple[str, str, dict]]:
    """Investigation, home visit, data check, township opinion, 7-day notice (no appraisal): to the county."""
    return [
        ("clerk", "investigation", {"on": _on(1)}),
        ("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": _on(3), "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"}),
        ("reviewer", "notice/close", {"on": _on(12)}),
    ]


async def _take(api, tokens, case_id: str, steps: list[tuple[str, str, dict]]) -> dict:
    r = None
    for who, path, body in steps:
        r = await api("eligibility").post(f"/cases/{case_id}/{path}", json=body, headers=tokens[who])
        assert r.status_code == 200, (path, r.text)
    assert r is not None
    return r.json()


async def _to_decision(api, tokens, case_id: str, opinion: str) -> dict:
    """The procedure to the county decision (`_to_county_review`), approved on day 13."""
    decision = ("approver", "decision", {"on": _on(13), "decision": "approve", "opinion": opinion})
    return await _take(api, tokens, case_id, [*_to_county_review(), decision])


async def test_recognised_scattered_orphan_goes_from_the_front_desk_to_approval(api, tokens, db):
    nine = china_today().replace(year=china_today().year - 9) - timedelta(days=100)
    grandmother = {
        "name": "张桂英",
        "id_number": resident_id("19500304", False),
        "relation": "head",
        "labour_capacity": "partial",
    }
    child = {
        "name": "张小宝",
        "id_number": resident_id(nine.strftime("%Y%m%d"), True),
        "relation": "grandchild",
        "student": True,
        "has_capable_supporter": False,  # parents dead: nobody obliged to support the child (特困 asks this too)
    }
    body = {
        **household_body(),
        "members": [grandmother, child],
        "incomes": [{"earner": 0, "kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300}],
    }
    household = await _register(api, tokens, body)
    child_id = _member(household, "张小宝")
    application = {
        "household_id": household["id"],
        "programme": "orphan",
        "applicant_member_id": child_id,
        "consent_signed": False,
    }

    # Without the 孤儿认定 the front desk is told what is missing, naming the field, and nothing is stored.
    r = await api("intake").post("/applications", json=application, headers=tokens["clerk"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "recognitions", r.text
    stranger = {"member_id": household["id"], "kind": "orphan", "basis": "父母双亡"}
    r = await api("intake").post(
        "/applications", json={**application, "recognitions": [stranger]}, headers=tokens["clerk"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "recognitions[0].member_id", r.text

    recognition = {"member_id": child_id, "kind": "orphan", "basis": "父母双亡 (死亡证明两份)"}
    app = await _apply(api, tokens, {**application, "recognitions": [recognition]})
    assert app["details"]["recognitions"] == [recognition]

    case_id = await _open_from_intake(db, app["id"])
    case = await _case(api, tokens, case_id)
    assert case["eligible"] is True and case["assessed_monthly_amount_fen"] == 140_000, case["assessment_reasons"]
    assert any("张小宝" in r and "父母双亡" in r and "社会散居孤儿" in r for r in case["assessment_reasons"])

    done = await _to_decision(api, tokens, case_id, "同意纳入社会散居孤儿保障")
    # seed 000: 社会散居孤儿基本生活最低养育标准为每人每月1400元.
    assert done["status"] == "approved" and done["monthly_amount_fen"] == 140_000
    approved = await _outbox(db, "eligibility", "case.approved", "case_id", case_id)
    assert approved["member_ids"] == [child_id]  # the child alone is on the roll, not the grandmother

    async with UnitOfWork(session_factory(db), intake_platform, "/tests") as uow:
        await mirror_case_events(uow, [delivery(CaseApproved.model_validate(approved))])
        await uow.commit()
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert shown["status"] == "approved" and shown["decision"]["monthly_amount_fen"] == 140_000

    # The same child applied for as 特困 (no recognition on that application): a child counted as an orphan is not
    # 特困 (domain.md), so the case is not eligible, saying why — never approved beside the orphan's support.
    tekun = await _apply_tekun(api, tokens, household, child_id)
    second = await _case(api, tokens, await _open_from_intake(db, tekun["id"]))
    assert second["eligible"] is False, second["assessment_reasons"]
    assert any("已认定为孤儿" in r for r in second["assessment_reasons"]), second["assessment_reasons"]


async def test_tekun_applicant_of_a_two_person_household_is_assessed_alone(api, tokens, db):
    body = household_body(members=2)
    for member in body["members"]:  # two elderly people, nobody obliged and able to support them
        member["has_capable_supporter"] = False
    household = await _register(api, tokens, body)
    wife = _member(household, "王秀兰")
    app = await _apply_tekun(api, tokens, household, wife)
    case_id = await _open_from_intake(db, app["id"])
    case = await _case(api, tokens, case_id)
    # 吴起县 rural 特困: 7800/12 = 650 + 全自理 2520/12 = 210 → 860 yuan for her alone (both would be 1720).
    assert case["eligible"] is True and case["assessed_monthly_amount_fen"] == 86_000
    reasons = case["assessment_reasons"]
    assert any(r.startswith("王秀兰: ") and "无劳动能力" in r and "基本生活标准" in r for r in reasons), reasons
    assert not any("李建国" in r for r in reasons) and reasons[-1] == "合计1人, 每月860.00元"

    done = await _to_decision(api, tokens, case_id, "同意纳入特困人员分散供养")
    assert done["monthly_amount_fen"] == 86_000
    approved = await _outbox(db, "eligibility", "case.approved", "case_id", case_id)
    assert approved["member_ids"] == [wife] and approved["tekun_arrangement"] == "home"  # 分散供养, for statistics


async def test_tekun_counts_the_rent_of_a_one_person_household_recorded_with_no_earner(api, tokens, db):
    """The county's case: one person born 1948, labour capacity none, no capable supporter, rent of 2000 yuan a month
    registered with no earner. Found eligible at 860 a month ("本人月收入0.00元"), as if the rent were nobody's: a
    household of one, its income with no earner is that person's, 2000 ≥ 吴起县's rural 低保 standard of
    6000 / 12 = 500 yuan → 有生活来源, not eligible, as when the earner is named."""
    body = household_body(members=1)
    body["members"][0] |= {
        "id_number": resident_id("19480312", True),
        "labour_capacity": "none",
        "has_capable_supporter": False,
    }
    body["incomes"] = [{"kind": "property", "subkind": "rent", "monthly_amount_fen": 200_000}]
    household = await _register(api, tokens, body)
    app = await _apply_tekun(api, tokens, household, household["members"][0]["id"])
    case = await _case(api, tokens, await _open_from_intake(db, app["id"]))
    reasons = case["assessment_reasons"]
    assert (case["eligible"], case["assessed_monthly_amount_fen"]) == (False, 0), reasons
    assert "有生活来源: 本人月收入2000.00元 (含未指明收入人的收入2000.00元: 本户仅本人一人, 计为本人收入)" in reasons[0]


async def test_a_tekun_child_turning_16_in_school_keeps_support_at_the_review(api, tokens, db):
    """Approved at 15 (under 16: no labour capacity), reviewed after the 16th birthday while in school: a minor
    already supported keeps 特困 until 18, and past it while in school (民发〔2021〕43号; domain.md) — the review
    used to stop it as 有劳动能力."""
    born = china_today().replace(year=china_today().year - 16) - timedelta(days=3)  # 15 at the decision, 16 now
    body = household_body(members=1)
    body["members"][0] |= {
        "id_number": resident_id(born.strftime("%Y%m%d"), True),
        "student": True,
        "has_capable_supporter": False,
        "labour_capacity": "full",
    }
    household = await _register(api, tokens, body)
    child = household["members"][0]["id"]
    app = await _apply_tekun(api, tokens, household, child)
    case_id = await _open_from_intake(db, app["id"])
    done = await _to_decision(api, tokens, case_id, "同意纳入特困人员分散供养")
    assert done["status"] == "approved" and done["monthly_amount_fen"] == 86_000
    r = await api("eligibility").post(
        f"/cases/{case_id}/review", json={"on": china_today().isoformat()}, headers=tokens["reviewer"]
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["monthly_amount_fen"]) == ("approved", 86_000), r.json()
    assert any("特困人员中的未成年人" in reason for reason in r.json()["assessment_reasons"])


async def _dibao_household(api, tokens, db) -> dict:
    """A one-person household receiving 低保 (approved, as intake learns it): the group a medical claim states is
    what the household receives."""
    household = await _register(api, tokens, household_body(members=1))
    dibao = await _apply(api, tokens, {"household_id": household["id"], "programme": "dibao", "consent_signed": True})
    approved = CaseApproved(
        case_id=uuid.uuid4(),
        application_id=dibao["id"],
        household_id=household["id"],
        programme="dibao",
        region_code=household["region_code"],
        member_ids=[m["id"] for m in household["members"]],
        monthly_amount_fen=50_000,
        effective_month=Period.of(RECEIVED),
        decided_at=datetime.now(UTC),
    )
    async with UnitOfWork(session_factory(db), intake_platform, "/tests") as uow:
        await mirror_case_events(uow, [delivery(approved)])
        await uow.commit()
    return household


async def test_a_wuqi_medical_bill_is_assessed(api, tokens, db):
    household = await _dibao_household(api, tokens, db)
    bill = {
        "bill_total_fen": 5_000_000,
        "basic_insurance_paid_fen": 2_500_000,
        "critical_illness_paid_fen": 1_000_000,
        "group": "dibao",
    }
    app = await _apply(
        api, tokens, {"household_id": household["id"], "programme": "medical", "consent_signed": False, "medical": bill}
    )
    case = await _case(api, tokens, await _open_from_intake(db, app["id"]))
    # 国办发〔2021〕42号: 低保对象 no deductible, ≥70%: (50000 − 25000 − 10000) × 0.7 = 10500 yuan.
    assert case["eligible"] is True and case["assessed_one_off_amount_fen"] == 1_050_000, case["assessment_reasons"]
    assert case["assessment_reasons"][0] == "救助对象类别: 低保对象"
    detail = (await api("eligibility").get(f"/cases/{case['id']}", headers=tokens["approver"])).json()
    assert {t["key"] for t in detail["trace"]} >= {
        "medical.ratio.dibao",
        "medical.deductible.dibao",
        "medical.annual_cap.dibao",
    }


def _claim(household: dict, compliant_yuan: int, insurance_yuan: int, **more: object) -> dict:
    """A 医疗救助 claim of a 低保 household, the front desk leaving `paid_this_year_fen` at its default 0."""
    bill = {
        "group": "dibao",
        "bill_total_fen": compliant_yuan * 100,
        "compliant_cost_fen": compliant_yuan * 100,
        "basic_insurance_paid_fen": insurance_yuan * 100,
    }
    return {"household_id": household["id"], "programme": "medical", "consent_signed": False, "medical": bill, **more}


async def _first_claim_approved(api, tokens, db, household: dict) -> str:
    """The household's first claim this year, compliant 120000 yuan of which basic insurance paid 20000:
    (120000 − 20000) × 70% = 70000, over 吴起县's yearly cap of 60000 (`medical.annual_cap.dibao`; no deductible for
    低保), so 60000 — approved on day 13, and intake told (so a second claim may be filed)."""
    first = await _apply(api, tokens, _claim(household, 120_000, 20_000))
    case_id = await _open_from_intake(db, first["id"])
    opened = await _case(api, tokens, case_id)
    assert opened["assessed_one_off_amount_fen"] == 6_000_000, opened["assessment_reasons"]
    assert "本年已救助0.00元, 按前台填报 (前台填报0.00元, 本平台本年已批准0.00元)" in opened["assessment_reasons"]
    done = await _to_decision(api, tokens, case_id, "同意医疗救助")
    assert (done["status"], done["one_off_amount_fen"]) == ("approved", 6_000_000)
    approved = await _outbox(db, "eligibility", "case.approved", "case_id", case_id)
    async with UnitOfWork(session_factory(db), intake_platform, "/tests") as uow:
        await mirror_case_events(uow, [delivery(CaseApproved.model_validate(approved))])
        await uow.commit()
    return case_id


_CAP_USED = "本年已救助60000.00元, 按本平台已批准 (前台填报0.00元, 本平台本年已批准60000.00元)"


async def test_the_medical_annual_cap_counts_what_the_platform_approved_this_year(api, tokens, db):
    """The county's report: after the first claim's 60000 (`_first_claim_approved`), a second claim the same year
    (compliant 20000, insurance 10000, the desk's `paid_this_year_fen` left at 0) would be (20000 − 10000) × 70% =
    7000, and was assessed so (67000 in the year): but the 60000 the platform approved this year already used the
    cap, 60000 − max(0, 60000) = 0 is left — not eligible, the reasons saying the platform's figure was used."""
    household = await _dibao_household(api, tokens, db)
    await _first_claim_approved(api, tokens, db, household)
    # Filed on the day of that decision: the same calendar year, whatever today is.
    second = await _apply(api, tokens, {**_claim(household, 20_000, 10_000), "received_on": _on(13)})
    case = await _case(api, tokens, await _open_from_intake(db, second["id"]))
    reasons = case["assessment_reasons"]
    assert (case["eligible"], case["assessed_one_off_amount_fen"]) == (False, 0), reasons
    assert _CAP_USED in reasons
    assert "年度封顶60000.00元, 本年已救助60000.00元, 按0.00元救助" in reasons and reasons[-1] == "无可救助金额"


async def test_every_assessment_of_a_medical_claim_to_its_decision_counts_the_platform_approvals(api, tokens, db):
    """The second claim of the year (0 left when filed, as above) is assessed again at each step that runs the rule,
    and each counts the 60000 approved too — each would otherwise price it on the bill alone: the desk's correction
    (insurance paid 8000, not 10000: (20000 − 8000) × 70% = 8400, still 0 left), the economic check, and the county's
    decision, which cannot approve it (409 naming the platform's figure) and rejects it."""
    household = await _dibao_household(api, tokens, db)
    await _first_claim_approved(api, tokens, db, household)
    second = await _apply(api, tokens, {**_claim(household, 20_000, 10_000), "received_on": _on(13)})
    case_id = await _open_from_intake(db, second["id"])

    corrected = _claim(household, 20_000, 8_000)["medical"]
    r = await api("intake").patch(f"/applications/{second['id']}", json={"medical": corrected}, headers=tokens["clerk"])
    assert r.status_code == 200, r.text
    amended = ApplicationAmended.model_validate(
        await _outbox(db, "intake", "application.amended", "application_id", second["id"])
    )
    async with UnitOfWork(session_factory(db), eligibility_platform, "/tests") as uow:
        await amend_case(uow, delivery(amended).event, amended)
        await uow.commit()
    reasons = (await _case(api, tokens, case_id))["assessment_reasons"]
    assert "政策范围内自付12000.00元 − 起付线余额0.00元 = 12000.00元, ×0.7 = 8400.00元" in reasons
    assert _CAP_USED in reasons and reasons[-1] == "无可救助金额"

    # All on the first claim's decision day: the same year. The township finds nothing left to pay.
    checked = await _take(
        api,
        tokens,
        case_id,
        [
            ("clerk", "investigation", {"on": _on(13)}),
            ("clerk", "home-visits", {"on": _on(13), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
            ("reviewer", "economic-check", {"on": _on(13), "result": "consistent"}),
        ],
    )
    assert (checked["eligible"], checked["assessed_one_off_amount_fen"]) == (False, 0)
    assert _CAP_USED in checked["assessment_reasons"]
    opinion = {"on": _on(13), "recommendation": "reject", "opinion": "本年度医疗救助已达封顶线"}
    await _take(api, tokens, case_id, [("reviewer", "township-opinion", opinion)])

    # The county, minded to approve against the township, posts the notice first (7 days), then decides.
    notice = {"on": _on(13), "opinion": "县级复核拟予救助, 公示"}
    posted = await _take(api, tokens, case_id, [("approver", "notice", notice)])
    after = (date.fromisoformat(posted["notice_ends_on"]) + timedelta(days=1)).isoformat()
    await _take(api, tokens, case_id, [("reviewer", "notice/close", {"on": after})])
    decide = {"on": after, "decision": "approve", "opinion": "同意医疗救助"}
    r = await api("eligibility").post(f"/cases/{case_id}/decision", json=decide, headers=tokens["approver"])
    assert r.status_code == 409, r.text
    assert _CAP_USED in r.json()["detail"] and "无可救助金额" in r.json()["detail"]
    reject = {**decide, "decision": "reject", "opinion": "不予救助", "reasons": ["本年度医疗救助已达年度封顶线"]}
    assert (await _take(api, tokens, case_id, [("approver", "decision", reject)]))["status"] == "rejected"


async def test_the_medical_deductible_counts_what_the_platforms_approved_claims_met_this_year(api, tokens, db):
    """吴起县 低保边缘 (610626.yaml, our assumption): deductible 1500 a year, ratio 60%. The household's first claim of
    the year (compliant 10000 yuan, nothing from insurance) was approved: (10000 − 1500) × 60% = 5100. A second claim
    of 10000 the same year, the desk leaving `deductible_used_fen` at 0, met no deductible again: the first met it
    all (10000 ≥ 1500), so 10000 × 60% = 6000 — not 5100 — the reasons naming the platform's figure. A claim of the
    next year pays the deductible again."""
    from tests.integration.test_eligibility_workflow import wuqi_household

    snapshot = wuqi_household()
    bill = {"group": "marginal", "bill_total_fen": 1_000_000, "compliant_cost_fen": 1_000_000}
    details = {"programme": "medical", "medical": bill}
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO eligibility.cases (id, application_id, household_id, programme, region_code, status, "
                "opened_on, status_since, decided_on, one_off_amount_fen, separate_register, details, snapshot, "
                "home_visits, county_home_visit, extended, delegated, documents_pending) VALUES (gen_random_uuid(), "
                "gen_random_uuid(), :h, 'medical', :v, 'approved', :on, :on, :on, 510000, false, "
                "CAST(:details AS jsonb), CAST(:snapshot AS jsonb), 1, false, false, false, false)"
            ),
            {
                "h": snapshot.household_id,
                "v": snapshot.region_code,
                "on": date(2026, 3, 2),
                "details": json.dumps(details),
                "snapshot": snapshot.model_dump_json(),
            },
        )

    async def claim(on: date) -> dict:
        data = ApplicationSubmitted(
            application_id=uuid.uuid4(),
            household_id=snapshot.household_id,
            programme="medical",
            region_code=snapshot.region_code,
            submitted_on=on,
            consent_signed=True,
            separate_register=False,
            details=details,
            snapshot=snapshot,
        )
        async with UnitOfWork(session_factory(db), eligibility_platform, "/tests") as uow:
            await open_cases(uow, [delivery(data)])
            await uow.commit()
        async with db.connect() as conn:
            case_id = (
                await conn.execute(
                    text("SELECT id FROM eligibility.cases WHERE application_id = :a"), {"a": data.application_id}
                )
            ).scalar_one()
        r = await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])
        assert r.status_code == 200, r.text
        return r.json()

    second = await claim(date(2026, 6, 1))
    reasons = second["assessment_reasons"]
    assert (second["eligible"], second["assessed_one_off_amount_fen"]) == (True, 600_000), reasons
    assert "本年起付线已用10000.00元, 按本平台已批准 (前台填报0.00元, 本平台本年已批准10000.00元)" in reasons
    assert "政策范围内自付10000.00元 − 起付线余额0.00元 = 10000.00元, ×0.6 = 6000.00元" in reasons
    next_year = await claim(date(2027, 1, 4))
    assert next_year["assessed_one_off_amount_fen"] == 510_000, next_year["assessment_reasons"]
