"""Intake over HTTP against the real PostgreSQL: what a front-desk app sees, and what bad input never writes."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text

from services.intake.models import Application, Household, Member
from tests.helpers import household_body


async def _count(db, model) -> int:
    async with db.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(model))).scalar_one()


async def test_register_household_derives_birth_and_sex_and_masks_the_id(api, tokens):
    body = household_body()
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    out = r.json()
    head = next(m for m in out["members"] if m["relation"] == "head")
    assert head["birth_date"] == "1956-03-12"
    assert head["sex"] == "male"
    assert head["id_number_masked"].startswith("610626") and "*" in head["id_number_masked"]
    assert body["members"][0]["id_number"] not in r.text


async def test_register_and_read_are_audited_with_the_household(api, tokens, db):
    r = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    hid = r.json()["id"]
    await api("intake").get(f"/households/{hid}", headers=tokens["auditor"])
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT actor, action FROM intake.audit_log WHERE household_id = :h ORDER BY id"), {"h": hid}
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("clerk-tiebian", "household.register"),
        ("clerk-tiebian", "household.read"),
        ("auditor-yanan", "household.read"),
    ]


async def test_audit_log_is_append_only(db):
    async with db.connect() as conn:
        try:
            await conn.execute(text("UPDATE intake.audit_log SET actor = 'someone else'"))
        except Exception as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError("audit_log accepted an UPDATE")


async def _assert_rejected(api, tokens, db, body, field: str, status: int = 422, raw: bytes | None = None):
    before = (await _count(db, Household), await _count(db, Member))
    client = api("intake")
    if raw is not None:
        r = await client.post(
            "/households", content=raw, headers={**tokens["clerk"], "content-type": "application/json"}
        )
    else:
        r = await client.post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert any(e["field"] == field for e in problem.get("errors", [])), problem
    assert (await _count(db, Household), await _count(db, Member)) == before
    return problem


async def test_wrong_check_character_names_the_member_field(api, tokens, db):
    body = household_body()
    number = body["members"][0]["id_number"]
    body["members"][0]["id_number"] = number[:-1] + ("0" if number[-1] != "0" else "1")
    problem = await _assert_rejected(api, tokens, db, body, "members[0].id_number")
    assert "check character" in json.dumps(problem, ensure_ascii=False)


async def test_impossible_birth_date(api, tokens, db):
    body = household_body()
    first17 = "610626" + "19990230" + "123"
    from shared.core.identity import check_character

    body["members"][1]["id_number"] = first17 + check_character(first17)
    await _assert_rejected(api, tokens, db, body, "members[1].id_number")


async def test_negative_and_fractional_money(api, tokens, db):
    body = household_body()
    body["incomes"][0]["monthly_amount_fen"] = -100
    await _assert_rejected(api, tokens, db, body, "incomes[0].monthly_amount_fen")
    body["incomes"][0]["monthly_amount_fen"] = 12.5
    await _assert_rejected(api, tokens, db, body, "incomes[0].monthly_amount_fen")


async def test_unknown_region_and_unknown_field_and_malformed_json(api, tokens, db):
    await _assert_rejected(api, tokens, db, household_body(region_code="610626999201"), "region_code")
    body = household_body()
    body["members"][0]["nickname"] = "老李"
    problem = await _assert_rejected(api, tokens, db, body, "members[0].nickname")
    assert problem["errors"][0]["message"] == "unknown field"
    await _assert_rejected(api, tokens, db, None, "body", raw=b'{"region_code": "6106261')


async def test_duplicate_person_in_another_active_household_is_409(api, tokens, db):
    first = household_body()
    assert (await api("intake").post("/households", json=first, headers=tokens["clerk"])).status_code == 201
    second = household_body()
    second["members"][1]["id_number"] = first["members"][0]["id_number"]
    await _assert_rejected(api, tokens, db, second, "members[1].id_number", status=409)


async def test_clerk_cannot_write_or_see_another_township(api, tokens):
    r = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    hid = r.json()["id"]
    other = await api("intake").get(f"/households/{hid}", headers=tokens["clerk_other_township"])
    assert other.status_code == 404  # as if it did not exist
    r = await api("intake").post(
        "/households", json=household_body(region_code="610626101201"), headers=tokens["clerk_other_township"]
    )
    assert r.status_code == 403


async def test_missing_token_and_wrong_role(api, tokens):
    assert (await api("intake").post("/households", json=household_body())).status_code == 401
    r = await api("intake").post("/households", json=household_body(), headers=tokens["finance"])
    assert r.status_code == 403


async def test_application_needs_consent_and_only_one_open_per_programme(api, tokens, db):
    hid = (await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])).json()["id"]
    before = await _count(db, Application)
    r = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": False},
        headers=tokens["clerk"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "consent_signed"
    r = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "pension", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "programme"
    assert await _count(db, Application) == before
    ok = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert ok.status_code == 201, ok.text
    again = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert again.status_code == 409
    assert await _count(db, Application) == before + 1


async def test_submission_writes_its_event_to_the_outbox_in_the_same_transaction(api, tokens, db):
    body = household_body()
    hid = (await api("intake").post("/households", json=body, headers=tokens["clerk"])).json()["id"]
    r = await api("intake").post(
        "/applications",
        json={"household_id": hid, "programme": "tekun", "consent_signed": True},
        headers={**tokens["clerk"], "X-Correlation-ID": "desk-42"},
    )
    assert r.headers["x-correlation-id"] == "desk-42"
    async with db.connect() as conn:
        payload = (
            await conn.execute(
                text("SELECT payload FROM intake.outbox WHERE key = :k AND type LIKE '%application.submitted%'"),
                {"k": hid},
            )
        ).scalar_one()
    assert payload["specversion"] == "1.0"
    assert payload["correlationid"] == "desk-42"
    assert payload["region"] == "610626101201"
    assert payload["data"]["application_id"] == r.json()["id"]
    assert len(payload["data"]["snapshot"]["members"]) == 2
    for member in body["members"]:  # ID numbers never travel in events
        assert member["id_number"] not in json.dumps(payload)
