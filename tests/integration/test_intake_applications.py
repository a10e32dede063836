"""Applications, evidence, Idempotency-Key and case status over HTTP on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from services.intake.applications.service import mirror_case_events
from services.intake.models import Application, Evidence, EvidenceChunk, Household, platform
from shared.core.period import Period
from shared.db import session_factory
from shared.events.catalogue import (
    PROGRAMMES,
    CaseApproved,
    CaseDeadlineChanged,
    CaseOpened,
    CaseStatusChanged,
    CaseWithdrawalRefused,
)
from shared.uow import UnitOfWork
from tests.helpers import JPEG, PDF, PNG, delivery, household_body, idem, problem


@pytest.fixture(scope="module", autouse=True)
def evidence_limit(api):
    """A small size limit for this module's uploads."""
    from services.intake.api import app

    settings = app.state.settings
    saved = settings.evidence_max_bytes
    settings.evidence_max_bytes = 64 * 1024
    yield
    settings.evidence_max_bytes = saved


async def _stored(db, digest: str) -> bytes:
    """A file's bytes as the evidence store keeps them."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(EvidenceChunk.data).where(EvidenceChunk.sha256 == digest).order_by(EvidenceChunk.seq)
        )
        return b"".join(rows.scalars())


async def _count(db, model) -> int:
    async with db.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(model))).scalar_one()


async def _household(api, tokens) -> dict:
    r = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    return r.json()


def _facts(programme: str, group: str = "illness_poverty") -> dict:
    if programme == "temporary":
        return {"temporary": {"type": "emergency", "requested_amount_fen": 300_000, "cause": "房屋失火"}}
    if programme == "medical":
        return {
            "medical": {
                "bill_total_fen": 5_000_000,
                "basic_insurance_paid_fen": 2_500_000,
                "critical_illness_paid_fen": 1_000_000,
                "group": group,
            }
        }
    return {}


async def _apply(api, tokens, hid: str, programme: str = "dibao", **extra) -> dict:
    body = {"household_id": hid, "programme": programme, "consent_signed": True, **_facts(programme), **extra}
    r = await api("intake").post("/applications", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    return r.json()


async def _upload(
    api, tokens, aid: str, kind: str, data: bytes = PDF, name: str = "scan.pdf", headers: dict | None = None
):
    return await api("intake").post(
        f"/applications/{aid}/evidence",
        data={"kind": kind},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers or tokens["clerk"],
    )


async def test_every_programme_can_be_applied_for(api, tokens, db):
    household = await _household(api, tokens)
    hid, child = household["id"], household["members"][-1]["id"]
    for programme in PROGRAMMES:
        recognised = programme in ("orphan", "de_facto_orphan")
        extra = {"recognitions": [{"member_id": child, "kind": programme, "basis": "父母双亡"}]} if recognised else {}
        app = await _apply(api, tokens, hid, programme, **extra)
        assert app["programme"] == programme and app["status"] == "submitted"
        assert app["missing_documents"], programme  # every programme needs something
    async with db.connect() as conn:
        rows = (
            (
                await conn.execute(
                    text(
                        "SELECT payload->'data' FROM intake.outbox WHERE "
                        "key = :k AND type LIKE '%application.submitted%'"
                    ),
                    {"k": hid},
                )
            )
            .scalars()
            .all()
        )
    by_programme = {r["programme"]: r for r in rows}
    assert set(by_programme) == set(PROGRAMMES)
    # Programme facts travel typed, tagged by programme, in the front desk's own words.
    assert by_programme["temporary"]["details"] == {
        "programme": "temporary",
        "recognitions": [],
        "temporary": {"type": "emergency", "requested_amount_fen": 300_000, "cause": "房屋失火"},
    }
    assert by_programme["medical"]["details"]["medical"]["bill_total_fen"] == 5_000_000
    assert by_programme["medical"]["details"]["medical"]["compliant_cost_fen"] is None  # = the bill total
    assert by_programme["dibao"]["details"] == {"programme": "dibao", "recognitions": []}


async def test_missing_documents_are_listed_at_once_and_shrink_with_evidence(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    missing = [d["kind"] for d in app["missing_documents"]]
    assert missing == ["application_form", "id_card", "hukou_booklet", "consent_form", "income_proof", "property_proof"]
    assert all(d["name"] for d in app["missing_documents"])  # e.g. 家庭经济状况核对授权书

    r = await _upload(api, tokens, app["id"], "consent_form", PDF, "授权书.pdf")
    assert r.status_code == 201, r.text
    evidence = r.json()
    assert evidence["content_type"] == "application/pdf" and evidence["size_bytes"] == len(PDF)
    import hashlib

    assert evidence["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert await _stored(db, evidence["sha256"]) == PDF
    assert (await _upload(api, tokens, app["id"], "id_card", PNG, "id.png")).json()["content_type"] == "image/png"
    assert (await _upload(api, tokens, app["id"], "hukou_booklet", JPEG, "hk.jpg")).status_code == 201

    now = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["reviewer"])).json()
    assert [d["kind"] for d in now["missing_documents"]] == ["application_form", "income_proof", "property_proof"]

    listed = (await api("intake").get(f"/applications/{app['id']}/evidence", headers=tokens["auditor"])).json()
    assert [e["kind"] for e in listed] == ["consent_form", "id_card", "hukou_booklet"]
    download = await api("intake").get(
        f"/applications/{app['id']}/evidence/{evidence['id']}", headers=tokens["reviewer"]
    )
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    other = await api("intake").get(
        f"/applications/{app['id']}/evidence/{evidence['id']}", headers=tokens["clerk_other_township"]
    )
    assert other.status_code == 404
    async with db.connect() as conn:
        actions = (
            (
                await conn.execute(
                    text("SELECT action FROM intake.audit_log WHERE household_id = :h ORDER BY id"), {"h": hid}
                )
            )
            .scalars()
            .all()
        )
    assert actions.count("evidence.upload") == 3
    assert "evidence.download" in actions and "evidence.list" in actions


async def test_temporary_expenditure_needs_consent_and_its_own_documents(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    body = {
        "household_id": hid,
        "programme": "temporary",
        "consent_signed": False,
        "temporary": {"type": "expenditure", "requested_amount_fen": 800_000},
    }
    problem(await api("intake").post("/applications", json=body, headers=tokens["clerk"]), 422, "consent_signed")
    body["temporary"]["type"] = "emergency"  # 急难型: help first, no means check, no consent needed
    r = await api("intake").post("/applications", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    assert "emergency_proof" in [d["kind"] for d in r.json()["missing_documents"]]
    assert "consent_form" not in [d["kind"] for d in r.json()["missing_documents"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"programme": "pension"}, "programme"),
        ({"programme": "dibao", "consent_signed": False}, "consent_signed"),
        ({"programme": "temporary"}, "temporary"),
        ({"programme": "dibao", "temporary": {"type": "emergency", "requested_amount_fen": 1}}, "temporary"),
        ({"programme": "temporary", "temporary": {"type": "sudden", "requested_amount_fen": 1}}, "temporary.type"),
        (
            {"programme": "temporary", "temporary": {"type": "emergency", "requested_amount_fen": -100}},
            "temporary.requested_amount_fen",
        ),
        (
            {"programme": "temporary", "temporary": {"type": "emergency", "requested_amount_fen": 10.5}},
            "temporary.requested_amount_fen",
        ),
        ({"programme": "medical"}, "medical"),
        (
            {
                "programme": "medical",
                "medical": {"bill_total_fen": 100, "basic_insurance_paid_fen": 80, "critical_illness_paid_fen": 30},
            },
            "medical.critical_illness_paid_fen",
        ),
        ({"programme": "medical", "medical": {"bill_total_fen": -1}}, "medical.bill_total_fen"),
        ({"programme": "dibao", "separate_register": True}, "separate_register_name"),
        ({"programme": "dibao", "separate_register_name": "张三"}, "separate_register_name"),
        ({"programme": "dibao", "applicant_member_id": str(uuid.uuid4())}, "applicant_member_id"),
        ({"programme": "dibao", "urgent": True}, "urgent"),
    ],
)
async def test_bad_application_input_names_the_field_and_writes_nothing(api, tokens, db, body, field):
    hid = (await _household(api, tokens))["id"]
    before = (await _count(db, Application), await _count(db, platform.outbox))
    r = await api("intake").post(
        "/applications", json={"household_id": hid, "consent_signed": True, **body}, headers=tokens["clerk"]
    )
    problem(r, 422, field)
    assert (await _count(db, Application), await _count(db, platform.outbox)) == before


async def test_malformed_json_and_unknown_household(api, tokens, db):
    before = await _count(db, Application)
    r = await api("intake").post(
        "/applications", content=b'{"household_id": ', headers={**tokens["clerk"], "content-type": "application/json"}
    )
    problem(r, 422, "body")
    r = await api("intake").post(
        "/applications",
        json={"household_id": str(uuid.uuid4()), "programme": "dibao", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert r.status_code == 404
    assert await _count(db, Application) == before


async def test_separate_register_is_kept(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao", separate_register=True, separate_register_name="李村支书")
    assert app["separate_register"] is True and app["separate_register_name"] == "李村支书"
    async with db.connect() as conn:
        data = (
            await conn.execute(
                text(
                    "SELECT payload->'data' FROM intake.outbox WHERE type LIKE '%application.submitted%' "
                    "AND payload->'data'->>'application_id' = :a"
                ),
                {"a": app["id"]},
            )
        ).scalar_one()
    assert data["separate_register"] is True


async def test_amend_then_withdraw_then_apply_again(api, tokens, db):
    household = await _household(api, tokens)
    hid, spouse = household["id"], next(m["id"] for m in household["members"] if m["relation"] == "spouse")
    app = await _apply(api, tokens, hid, "temporary")
    client = api("intake")
    r = await client.patch(
        f"/applications/{app['id']}",
        headers=tokens["clerk"],
        json={
            "applicant_member_id": spouse,
            "temporary": {"type": "emergency", "requested_amount_fen": 450_000, "cause": "车祸"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["details"]["temporary"]["requested_amount_fen"] == 450_000
    assert r.json()["applicant_member_id"] == spouse
    problem(
        await client.patch(f"/applications/{app['id']}", headers=tokens["clerk"], json={"temporary": None}),
        422,
        "temporary",
    )
    problem(
        await client.patch(f"/applications/{app['id']}", headers=tokens["clerk"], json={"programme": "x"}),
        422,
        "programme",
    )

    problem(await client.post(f"/applications/{app['id']}/withdraw", json={}, headers=tokens["clerk"]), 422, "reason")
    r = await client.post(
        f"/applications/{app['id']}/withdraw", json={"reason": "已获亲属资助"}, headers=tokens["clerk"]
    )
    # A request to eligibility, which owns the case: intake shows it pending, not its own guess of the outcome.
    assert r.status_code == 202 and (r.json()["status"], r.json()["withdrawal"]) == (
        "withdrawal_requested",
        "requested",
    )
    problem(
        await client.post(f"/applications/{app['id']}/withdraw", json={"reason": "again"}, headers=tokens["clerk"]),
        409,
        "status",
    )
    problem(
        await client.patch(f"/applications/{app['id']}", json={"consent_signed": True}, headers=tokens["clerk"]),
        409,
        "status",
    )
    problem(await _upload(api, tokens, app["id"], "emergency_proof"), 409, "status")
    await _deliver(
        db,
        CaseStatusChanged(
            case_id=uuid.uuid4(),
            application_id=app["id"],
            household_id=hid,
            region_code="610626101201",
            status="withdrawn",
            previous_status="accepted",
        ),
    )
    shown = (await client.get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["case_status"], shown["withdrawal"]) == ("withdrawn", "withdrawn", "accepted")
    again = await _apply(api, tokens, hid, "temporary")
    assert again["id"] != app["id"]
    # An event of the withdrawn case's earlier life, arriving late (a replay), cannot reopen it: withdrawal is final,
    # and with the new application open it could not be both.
    await _deliver(
        db,
        CaseOpened(
            case_id=uuid.uuid4(),
            application_id=app["id"],
            household_id=hid,
            programme="temporary",
            region_code="610626101201",
            status="accepted",
            due_date=date(2026, 12, 4),
        ),
    )
    shown = (await client.get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["case_status"]) == ("withdrawn", "withdrawn")
    async with db.connect() as conn:
        types = (
            (
                await conn.execute(
                    text("SELECT type FROM intake.outbox WHERE key = :k AND type LIKE '%application%' ORDER BY id"),
                    {"k": hid},
                )
            )
            .scalars()
            .all()
        )
    assert [t.split(".")[-2] for t in types] == ["submitted", "amended", "withdrawn", "submitted"]
    listed = await client.get("/applications", params={"household_id": hid}, headers=tokens["auditor"])
    assert listed.json()["total"] == 2
    assert {a["status"] for a in listed.json()["items"]} == {"withdrawn", "submitted"}
    narrowed = await client.get(
        "/applications", params={"household_id": hid, "status": "submitted", "limit": 1}, headers=tokens["auditor"]
    )
    assert [a["id"] for a in narrowed.json()["items"]] == [again["id"]] and narrowed.json()["total"] == 1
    problem(
        await client.get("/applications", params={"status": "lost"}, headers=tokens["auditor"]), 422, "query.status"
    )


async def test_wrong_type_oversize_and_empty_uploads_write_nothing(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    chunks_before = await _count(db, EvidenceChunk)
    before = await _count(db, Evidence)
    problem(await _upload(api, tokens, app["id"], "id_card", b"GIF89a" + b"\x00" * 20, "id.pdf"), 415, "file")
    problem(await _upload(api, tokens, app["id"], "id_card", b"MZ\x90\x00 evil.exe", "id.png"), 415, "file")
    problem(await _upload(api, tokens, app["id"], "id_card", b"", "empty.pdf"), 415, "file")
    problem(await _upload(api, tokens, app["id"], "id_card", PDF + b"\x00" * (64 * 1024), "big.pdf"), 413, "file")
    problem(await _upload(api, tokens, app["id"], "selfie", PDF), 422, "kind")
    r = await api("intake").post(
        f"/applications/{app['id']}/evidence", data={"kind": "id_card"}, headers=tokens["clerk"]
    )
    problem(r, 422, "file")
    r = await _upload(api, tokens, app["id"], "id_card", headers=tokens["reviewer"])
    assert r.status_code == 403
    r = await _upload(api, tokens, app["id"], "id_card", headers=tokens["clerk_other_township"])
    assert r.status_code == 404
    assert await _count(db, Evidence) == before
    assert await _count(db, EvidenceChunk) == chunks_before


async def test_idempotency_key_replays_the_first_result_and_creates_nothing_new(api, tokens, db):
    client = api("intake")
    body = household_body()
    key = f"desk-{uuid.uuid4()}"
    before = await _count(db, Household)
    first = await client.post("/households", json=body, headers=idem(tokens["clerk"], key))
    again = await client.post("/households", json=body, headers=idem(tokens["clerk"], key))
    assert first.status_code == again.status_code == 201
    assert first.content == again.content and again.headers["idempotent-replayed"] == "true"
    assert await _count(db, Household) == before + 1
    # The same key with a different request is a client bug, reported on the header.
    changed = {**body, "address": "别处"}
    problem(await client.post("/households", json=changed, headers=idem(tokens["clerk"], key)), 422, "Idempotency-Key")
    problem(
        await client.post(
            "/applications",
            json={"household_id": first.json()["id"], "programme": "dibao", "consent_signed": True},
            headers=idem(tokens["clerk"], key),
        ),
        422,
        "Idempotency-Key",
    )
    # Keys belong to the caller: another clerk's identical key is a different request.
    other = {**household_body(region_code="610626102201")}
    r = await client.post("/households", json=other, headers=idem(tokens["clerk_other_township"], key))
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]
    problem(
        await client.post("/households", json=body, headers=idem(tokens["clerk"], "x" * 201)),
        422,
        "header.Idempotency-Key",
    )


async def test_a_failed_request_leaves_no_key_so_the_corrected_retry_runs(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    key = str(uuid.uuid4())
    headers = idem(tokens["clerk"], key)
    body = {"household_id": hid, "programme": "dibao", "consent_signed": False}
    problem(await api("intake").post("/applications", json=body, headers=headers), 422, "consent_signed")
    body["consent_signed"] = True
    r = await api("intake").post("/applications", json=body, headers=headers)
    assert r.status_code == 201
    replay = await api("intake").post("/applications", json=body, headers=headers)
    assert replay.json()["id"] == r.json()["id"]


async def test_concurrent_retries_run_the_effect_once(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    key = str(uuid.uuid4())
    body = {"household_id": hid, "programme": "dibao", "consent_signed": True}
    responses = await asyncio.gather(
        *[api("intake").post("/applications", json=body, headers=idem(tokens["clerk"], key)) for _ in range(6)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    async with db.connect() as conn:
        # (intake.applications allows one live application per household and programme: counting them could not
        # fail; the audit record of the submission has no such guard.)
        n = (
            await conn.execute(
                text("SELECT count(*) FROM intake.audit_log WHERE action = 'application.submit' AND household_id = :h"),
                {"h": hid},
            )
        ).scalar_one()
        events = (
            await conn.execute(
                text("SELECT count(*) FROM intake.outbox WHERE key = :h AND type LIKE '%application.submitted%'"),
                {"h": hid},
            )
        ).scalar_one()
    assert n == 1 and events == 1
    # Uploads: the multipart bytes differ per retry, the request is recognised by its content.
    aid = responses[0].json()["id"]
    key = str(uuid.uuid4())
    ups = await asyncio.gather(
        *[_upload(api, tokens, aid, "id_card", PNG, "id.png", headers=idem(tokens["clerk"], key)) for _ in range(3)]
    )
    assert len({u.json()["id"] for u in ups}) == 1
    listed = (await api("intake").get(f"/applications/{aid}/evidence", headers=tokens["clerk"])).json()
    assert len(listed) == 1


async def _deliver(db, event) -> None:
    """Eligibility's event applied as intake's consumer applies it."""
    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        await mirror_case_events(uow, [delivery(event)])
        await uow.commit()


def _approval(case_id: uuid.UUID, aid: str, hid: str) -> CaseApproved:
    return CaseApproved(
        case_id=case_id,
        application_id=aid,
        household_id=hid,
        programme="dibao",
        region_code="610626101201",
        member_ids=[],
        monthly_amount_fen=80_000,
        effective_month=Period(2027, 1),
        decided_at=datetime.now(UTC),
    )


async def test_status_follows_eligibility_events_and_a_pending_withdrawal_waits_for_the_answer(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    sessions = session_factory(db)
    case_id = uuid.uuid4()
    opened = CaseOpened(
        case_id=case_id,
        application_id=app["id"],
        household_id=hid,
        programme="dibao",
        region_code="610626101201",
        status="investigation",
        due_date=date(2026, 12, 4),
    )
    async with UnitOfWork(sessions, platform, "/test") as uow:
        await mirror_case_events(uow, [delivery(opened)])
        await uow.commit()
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["case_status"], shown["next_deadline"]) == (
        "in_review",
        "investigation",
        "2026-12-04",
    )
    approved = _approval(case_id, app["id"], hid)
    await _deliver(db, approved)
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert shown["status"] == "approved" and shown["decision"]["monthly_amount_fen"] == 80_000
    problem(
        await api("intake").patch(f"/applications/{app['id']}", json={"consent_signed": True}, headers=tokens["clerk"]),
        409,
        "status",
    )

    second = await _apply(api, tokens, hid, "medical", **_facts("medical", "dibao"))  # the household receives 低保
    await api("intake").post(f"/applications/{second['id']}/withdraw", json={"reason": "撤回"}, headers=tokens["clerk"])
    late = CaseOpened(
        case_id=uuid.uuid4(),
        application_id=second["id"],
        household_id=hid,
        programme="medical",
        region_code="610626101201",
        status="investigation",
        due_date=date(2026, 12, 4),
    )
    async with UnitOfWork(sessions, platform, "/test") as uow:
        await mirror_case_events(uow, [delivery(late)])
        await uow.commit()
    shown = (await api("intake").get(f"/applications/{second['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["case_status"]) == ("withdrawal_requested", "investigation")


async def test_a_medical_claim_as_dibao_or_tekun_needs_the_household_to_receive_it(api, tokens, db):
    """医疗救助 pays 低保 and 特困 recipients at their own rate (≥ 70 %, no deductible): the group the front desk
    states for them is checked against what the household receives — an approved application of that programme —
    and refused naming `medical.group` otherwise (a household with 8000 yuan of wages was paid 70 % as 特困)."""
    hid = (await _household(api, tokens))["id"]
    before = await _count(db, Application)
    for group in ("dibao", "tekun"):
        body = {"household_id": hid, "programme": "medical", "consent_signed": True, **_facts("medical", group)}
        problem(await api("intake").post("/applications", json=body, headers=tokens["clerk"]), 422, "medical.group")
    dibao = await _apply(api, tokens, hid, "dibao")  # applied for, not yet approved: not a 低保 household yet
    body = {"household_id": hid, "programme": "medical", "consent_signed": True, **_facts("medical", "dibao")}
    problem(await api("intake").post("/applications", json=body, headers=tokens["clerk"]), 422, "medical.group")
    assert await _count(db, Application) == before + 1
    await _deliver(db, _approval(uuid.uuid4(), dibao["id"], hid))
    assert (await _apply(api, tokens, hid, "medical", **_facts("medical", "dibao")))["status"] == "submitted"
    # A group we hold no roll of (因病致贫重病患者) is the desk's to state.
    other = (await _household(api, tokens))["id"]
    assert (await _apply(api, tokens, other, "medical"))["status"] == "submitted"


async def test_a_withdrawal_that_crossed_the_decision_shows_eligibilitys_refusal(api, tokens, db):
    """The race of issue 12: the clerk withdraws while intake has not yet heard of the approval."""
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    case_id = uuid.uuid4()
    r = await api("intake").post(
        f"/applications/{app['id']}/withdraw", json={"reason": "撤回"}, headers=tokens["clerk"]
    )
    assert r.status_code == 202
    approved = _approval(case_id, app["id"], hid)
    await _deliver(db, approved)
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["withdrawal"]) == ("approved", "requested")  # no guess before the answer
    problem(
        await api("intake").post(
            f"/applications/{app['id']}/withdraw", json={"reason": "再次撤回"}, headers=tokens["clerk"]
        ),
        409,
        "status",
    )
    refused = CaseWithdrawalRefused(
        case_id=case_id,
        application_id=app["id"],
        household_id=hid,
        region_code="610626101201",
        status="approved",
        reason="the case was already decided: approved",
    )
    await _deliver(db, refused)
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["case_status"], shown["withdrawal"]) == ("approved", "approved", "refused")
    assert "already decided" in shown["withdrawal_refused_because"]


async def test_other_regions_see_nothing(api, tokens):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    for who in ("clerk_other_township", "clerk_other_county"):
        assert (await api("intake").get(f"/applications/{app['id']}", headers=tokens[who])).status_code == 404
        listed = await api("intake").get("/applications", params={"household_id": hid}, headers=tokens[who])
        assert listed.json()["items"] == []
        r = await api("intake").post(
            "/applications",
            json={"household_id": hid, "programme": "tekun", "consent_signed": True},
            headers=tokens[who],
        )
        assert r.status_code == 404
    assert (await api("intake").get(f"/applications/{app['id']}", headers=tokens["approver"])).status_code == 200
    r = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "tekun", "consent_signed": True},
        headers=tokens["approver"],
    )
    assert r.status_code == 403  # approvers decide in eligibility; they do not file applications


async def test_a_provisional_deadline_shows_as_such_until_eligibility_counts_it_again(api, tokens, db):
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    case_id = uuid.uuid4()
    await _deliver(
        db,
        CaseOpened(
            case_id=case_id,
            application_id=app["id"],
            household_id=hid,
            programme="dibao",
            region_code="610626101201",
            status="accepted",
            due_date=date(2027, 1, 1),
            due_date_provisional=True,
        ),
    )
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["next_deadline"], shown["next_deadline_provisional"]) == ("2027-01-01", True)
    await _deliver(
        db,
        CaseDeadlineChanged(
            case_id=case_id,
            application_id=app["id"],
            household_id=hid,
            region_code="610626101201",
            due_date=date(2027, 1, 4),
        ),
    )
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["next_deadline"], shown["next_deadline_provisional"], shown["status"]) == (
        "2027-01-04",
        False,
        "in_review",
    )


async def test_a_run_of_case_events_is_mirrored_in_order_and_an_unknown_application_refuses_the_run(api, tokens, db):
    """The set-based mirror: several events of one case in a run end in the last one's state; a run naming an
    application intake never had is refused whole (the consumer then applies it event by event)."""
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "dibao")
    case_id = uuid.uuid4()

    def moved(status: str, due: date) -> CaseStatusChanged:
        return CaseStatusChanged(
            case_id=case_id,
            application_id=app["id"],
            household_id=hid,
            region_code="610626101201",
            status=status,
            previous_status="accepted",
            due_date=due,
        )

    run = [delivery(moved("investigation", date(2026, 12, 4))), delivery(moved("township_review", date(2026, 12, 9)))]
    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        await mirror_case_events(uow, run)
        await uow.commit()
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["case_status"], shown["next_deadline"]) == ("township_review", "2026-12-09")
    async with db.connect() as conn:
        audited = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM intake.audit_log WHERE action "
                    "= 'application.case_update' AND resource_id = :a"
                ),
                {"a": app["id"]},
            )
        ).scalar_one()
    assert audited == 2

    stray = CaseStatusChanged(
        case_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        household_id=hid,
        region_code="610626101201",
        status="investigation",
        previous_status="accepted",
    )
    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        with pytest.raises(LookupError):
            await mirror_case_events(uow, [delivery(moved("appraisal", date(2026, 12, 10))), delivery(stray)])
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert shown["case_status"] == "township_review"  # nothing of the refused run was kept


async def test_paperwork_owed_after_emergency_help_shows_as_the_next_deadline(api, tokens, db):
    """急难型 paid first: eligibility announces the approval, then the paperwork's deadline (case.deadline_changed)
    in the same run; the front desk shows it as the application's next deadline until it is cleared."""
    hid = (await _household(api, tokens))["id"]
    app = await _apply(api, tokens, hid, "temporary")
    case_id = uuid.uuid4()
    approved = _approval(case_id, app["id"], hid).model_copy(
        update={"programme": "temporary", "monthly_amount_fen": None, "one_off_amount_fen": 500_000}
    )

    def owed(due: date | None) -> CaseDeadlineChanged:
        return CaseDeadlineChanged(
            case_id=case_id, application_id=app["id"], household_id=hid, region_code="610626101201", due_date=due
        )

    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        await mirror_case_events(uow, [delivery(approved), delivery(owed(date(2023, 10, 8)))])
        await uow.commit()
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["next_deadline"]) == ("approved", "2023-10-08")
    await _deliver(db, owed(None))
    shown = (await api("intake").get(f"/applications/{app['id']}", headers=tokens["clerk"])).json()
    assert (shown["status"], shown["next_deadline"]) == ("approved", None)
