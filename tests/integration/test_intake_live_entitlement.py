"""One live entitlement per household and programme (issue 16, sequence 1: a second 低保 application for a
household already receiving it was accepted, approved and paid twice), through the front desk's API, eligibility's
consumer path and API, and intake's mirror of eligibility's events, on the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from services.eligibility.cases.service import open_cases
from services.eligibility.models import platform as eligibility_platform
from services.intake.applications.service import CaseEvent, mirror_case_events
from services.intake.models import platform as intake_platform
from shared.core.period import china_today
from shared.db import session_factory
from shared.events.catalogue import ApplicationSubmitted, event_type, spec_for
from shared.uow import UnitOfWork
from tests.helpers import delivery, household_body, problem
from tests.integration.test_eligibility_programmes import _open_from_intake, _outbox

RECEIVED = china_today() - timedelta(days=25)
MIRRORED = {event_type(t) for t in CaseEvent.__args__}  # what intake's worker mirrors


def _on(days: int) -> str:
    return (RECEIVED + timedelta(days=days)).isoformat()


async def _mirror(db, case_id: str) -> None:
    """Eligibility's events of the case, in outbox order, through intake's consumer handler."""
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT type, payload->'data' FROM eligibility.outbox WHERE payload->'data'->>'case_id' = :c "
                    "ORDER BY id"
                ),
                {"c": case_id},
            )
        ).all()
    deliveries = [delivery(spec_for(t).data.model_validate(data)) for t, data in rows if t in MIRRORED]
    async with UnitOfWork(session_factory(db), intake_platform, "/tests") as uow:
        await mirror_case_events(uow, deliveries)
        await uow.commit()


async def _approve(api, tokens, case_id: str) -> None:
    steps = [
        ("clerk", "investigation", {"on": _on(1)}),
        ("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": _on(3), "result": "consistent"}),
        ("reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"}),
    ]
    for who, path, body in steps:
        r = await api("eligibility").post(f"/cases/{case_id}/{path}", json=body, headers=tokens[who])
        assert r.status_code == 200, (path, r.text)
    if r.json()["status"] == "appraisal":
        body = {"on": _on(5), "result": "agreed", "participants": 9, "opinion": "同意"}
        r = await api("eligibility").post(f"/cases/{case_id}/appraisal", json=body, headers=tokens["reviewer"])
        assert r.status_code == 200, r.text
    r = await api("eligibility").post(
        f"/cases/{case_id}/notice/close", json={"on": _on(14)}, headers=tokens["reviewer"]
    )
    assert r.status_code == 200, r.text
    body = {"on": _on(15), "decision": "approve", "opinion": "同意"}
    r = await api("eligibility").post(f"/cases/{case_id}/decision", json=body, headers=tokens["approver"])
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text


async def test_a_household_receiving_dibao_cannot_apply_for_it_again_until_it_stops(api, tokens, db):
    intake = api("intake")
    r = await intake.post("/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    dibao = {"household_id": hid, "programme": "dibao", "consent_signed": True, "received_on": RECEIVED.isoformat()}
    r = await intake.post("/applications", json=dibao, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    case_id = await _open_from_intake(db, first)
    await _approve(api, tokens, case_id)
    await _mirror(db, case_id)
    shown = (await intake.get(f"/applications/{first}", headers=tokens["clerk"])).json()
    assert shown["status"] == "approved" and shown["case_id"] == case_id

    # The front desk: a second 低保 application is refused, naming the application and case (a review changes it).
    r = await intake.post("/applications", json={**dibao, "received_on": None}, headers=tokens["clerk"])
    problem(r, 409, "programme")
    assert (r.json()["application_id"], r.json()["case_id"]) == (first, case_id)
    assert "review" in r.json()["detail"]
    # One-off help is not an entitlement held: 临时救助 is still accepted.
    temporary = {"type": "emergency", "requested_amount_fen": 200_000, "cause": "房屋失火"}
    r = await intake.post(
        "/applications",
        json={"household_id": hid, "programme": "temporary", "consent_signed": True, "temporary": temporary},
        headers=tokens["clerk"],
    )
    assert r.status_code == 201, r.text

    # Eligibility: a second application reaching it anyway (a replay of another's event, a race past the front
    # desk) is refused at once, naming the live case; nothing is approved, nobody is put on the roll twice.
    again = ApplicationSubmitted.model_validate(
        await _outbox(db, "intake", "application.submitted", "application_id", first)
    ).model_copy(update={"application_id": uuid.uuid4()})
    async with UnitOfWork(session_factory(db), eligibility_platform, "/tests") as uow:
        refused = (await open_cases(uow, [delivery(again)]))[0]
        await uow.commit()
    assert refused.status.value == "rejected" and refused.id != case_id
    rejected = await _outbox(db, "eligibility", "case.rejected", "case_id", str(refused.id))
    assert case_id in rejected["reasons"][0]
    async with db.connect() as conn:
        approvals = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM eligibility.outbox WHERE type LIKE '%case.approved%' "
                    "AND payload->'data'->>'household_id' = :h AND payload->'data'->>'programme' = 'dibao'"
                ),
                {"h": hid},
            )
        ).scalar_one()
    assert approvals == 1

    # Once the case stops (moved away), the household may apply again.
    r = await api("eligibility").post(
        f"/cases/{case_id}/termination",
        json={"reason": "moved", "opinion": "迁出后又迁回"},
        headers=tokens["approver"],
    )
    assert r.status_code == 200, r.text
    await _mirror(db, case_id)
    r = await intake.post("/applications", json={**dibao, "received_on": None}, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    # The stopped case's events replayed (a consumer reset): the old application stays stopped, the new one open.
    await _mirror(db, case_id)
    old = (await intake.get(f"/applications/{first}", headers=tokens["clerk"])).json()
    assert (old["status"], old["case_status"]) == ("approved", "terminated")
    assert (await intake.get(f"/applications/{r.json()['id']}", headers=tokens["clerk"])).json()[
        "status"
    ] == "submitted"


async def test_one_off_claims_may_be_open_side_by_side_and_reach_eligibility_as_cases(api, tokens, db):
    """Two hospital stays, two emergencies: 医疗救助 and 临时救助 are paid once per claim, so a household may have
    several open; the one-live rule (and its index) holds for the other programmes only."""
    intake = api("intake")
    r = await intake.post("/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    bill = {"bill_total_fen": 5_000_000, "basic_insurance_paid_fen": 2_500_000, "group": "illness_poverty"}
    fire = {"type": "emergency", "requested_amount_fen": 200_000, "cause": "房屋失火"}
    claims = [("medical", {"medical": bill})] * 2 + [("temporary", {"temporary": fire})] * 2
    ids = []
    for programme, facts in claims:
        body = {"household_id": hid, "programme": programme, "consent_signed": True, **facts}
        r = await intake.post("/applications", json=body, headers=tokens["clerk"])
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # Eligibility opens each as a case of its own: none is refused as a second live case.
    for application_id in ids[:2]:
        case_id = await _open_from_intake(db, application_id)
        case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
        assert case["status"] != "rejected", case

    # The others keep one open application: the second is refused naming the first (not the bare index).
    dibao = {"household_id": hid, "programme": "dibao", "consent_signed": True}
    r = await intake.post("/applications", json=dibao, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = await intake.post("/applications", json=dibao, headers=tokens["clerk"])
    assert problem(r, 409, "programme")["application_id"] == first
    # A withdrawal asked for holds the slot until eligibility answers.
    r = await intake.post(f"/applications/{first}/withdraw", json={"reason": "外出务工"}, headers=tokens["clerk"])
    assert r.status_code == 202, r.text
    r = await intake.post("/applications", json=dibao, headers=tokens["clerk"])
    assert problem(r, 409, "programme")["application_id"] == first
    rigid = {"household_id": hid, "programme": "rigid_expense", "consent_signed": True}
    r = await intake.post("/applications", json=rigid, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = await intake.post("/applications", json=rigid, headers=tokens["clerk"])
    assert problem(r, 409, "programme")["application_id"] == first
