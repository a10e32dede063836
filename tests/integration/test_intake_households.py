"""Households over HTTP on the real PostgreSQL: update, search, lookup, members, economic facts, bank account,
regions; bad input names the field and writes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from services.intake.models import Household, Member
from services.intake.regions.table import with_villages
from shared.core.period import china_today
from shared.core.regions import RegionTable
from tests.helpers import household_body, problem, resident_id

ACCOUNT = "6228480123456789012"


async def _count(db, model) -> int:
    async with db.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(model))).scalar_one()


async def _outbox(db, key: str, kind: str) -> list[dict]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM intake.outbox WHERE key = :k AND type LIKE :t ORDER BY id"),
            {"k": key, "t": f"%{kind}%"},
        )
        return [r[0] for r in rows]


async def _register(api, tokens, **kwargs) -> dict:
    r = await api("intake").post("/households", json=household_body(**kwargs), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    return r.json()


async def test_bank_account_is_stored_but_only_ever_shown_masked(api, tokens, db):
    body = household_body()
    body["bank_account"] = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": ACCOUNT}
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    assert r.json()["bank_account"]["account_number_masked"].endswith("9012")
    assert ACCOUNT not in r.text
    read = await api("intake").get(f"/households/{hid}", headers=tokens["reviewer"])
    assert ACCOUNT not in read.text and read.json()["bank_account"]["bank_name"] == "吴起农村商业银行"
    async with db.connect() as conn:
        stored = (
            await conn.execute(text("SELECT h::text FROM intake.households h WHERE id = :h"), {"h": hid})
        ).scalar_one()
        audit = (
            await conn.execute(
                text(
                    "SELECT coalesce(string_agg(details::text, ''), '') FROM intake.audit_log WHERE household_id = :h"
                ),
                {"h": hid},
            )
        ).scalar_one()
    assert ACCOUNT not in stored and "9012" in stored  # sealed at rest; the last four digits shown
    assert ACCOUNT not in audit
    assert all(ACCOUNT not in json.dumps(p) for p in await _outbox(db, hid, "household"))


async def test_an_account_number_or_village_of_other_digits_is_refused_naming_it(api, tokens, db):
    """pydantic-core's \\d took any script's digits: an account of full-width digits was sealed, announced to
    payments and bound for a bank file. Digits are 0-9 only; nothing is written."""
    households = await _count(db, Household)
    for script in (str.maketrans("0123456789", "０１２３４５６７８９"), str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")):
        body = household_body()
        body["bank_account"] = {
            "bank_name": "吴起农村商业银行",
            "account_holder": "李建国",
            "account_number": ACCOUNT.translate(script),
        }
        r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
        problem(r, 422, "bank_account.account_number")
        r = await api("intake").post(
            "/households", json=household_body("610626101201".translate(script)), headers=tokens["clerk"]
        )
        problem(r, 422, "region_code")
    assert await _count(db, Household) == households


async def test_update_household_emits_updated_with_snapshot_and_is_audited(api, tokens, db):
    hid = (await _register(api, tokens))["id"]
    r = await api("intake").patch(
        f"/households/{hid}",
        headers=tokens["clerk"],
        json={
            "address": "吴起县铁边城镇新村12号",
            "region_code": "610626101205",
            "bank_account": {"bank_name": "邮储银行", "account_holder": "李建国", "account_number": ACCOUNT},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["address"] == "吴起县铁边城镇新村12号" and r.json()["region_code"] == "610626101205"
    events = await _outbox(db, hid, "household.updated")
    assert len(events) == 1 and events[0]["data"]["snapshot"]["region_code"] == "610626101205"
    assert events[0]["region"] == "610626101205"
    # Removing the bank account: an explicit null.
    r = await api("intake").patch(f"/households/{hid}", headers=tokens["clerk"], json={"bank_account": None})
    assert r.json()["bank_account"] is None
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
    assert actions.count("household.update") == 2


async def test_update_rejects_unknown_region_and_other_township_and_writes_nothing(api, tokens, db):
    hid = (await _register(api, tokens))["id"]
    before = await _outbox(db, hid, "household.updated")
    r = await api("intake").patch(f"/households/{hid}", headers=tokens["clerk"], json={"region_code": "610626999201"})
    problem(r, 422, "region_code")
    r = await api("intake").patch(f"/households/{hid}", headers=tokens["clerk"], json={"region_code": "610626102201"})
    assert r.status_code == 403  # moving a household out of the clerk's township
    r = await api("intake").patch(f"/households/{hid}", headers=tokens["clerk_other_township"], json={"address": "x"})
    assert r.status_code == 404
    r = await api("intake").patch(f"/households/{hid}", headers=tokens["reviewer"], json={"address": "x"})
    assert r.status_code == 403  # reviewers read, they do not write
    r = await api("intake").patch(
        f"/households/{hid}",
        headers=tokens["clerk"],
        json={"bank_account": {"bank_name": "x", "account_holder": "y", "account_number": "12ab"}},
    )
    problem(r, 422, "bank_account.account_number")
    assert await _outbox(db, hid, "household.updated") == before
    assert (await api("intake").get(f"/households/{hid}", headers=tokens["clerk"])).json()[
        "region_code"
    ] == "610626101201"


async def test_search_sees_only_the_callers_region(api, tokens):
    marker = uuid.uuid4().hex[:8]
    body = household_body()
    body["address"] = f"吴起县铁边城镇{marker}"
    name = "搜" + "".join(chr(0x4E00 + int(c, 16)) for c in marker)  # a name holds no digits: hex as characters
    body["members"][0]["name"] = name
    hid = (await api("intake").post("/households", json=body, headers=tokens["clerk"])).json()["id"]

    found = (await api("intake").get("/households", params={"address": marker}, headers=tokens["clerk"])).json()
    assert [h["id"] for h in found["items"]] == [hid] and found["total"] == 1
    assert found["items"][0]["head_name"] == name and found["items"][0]["member_count"] == 2
    by_name = (await api("intake").get("/households", params={"name": name}, headers=tokens["auditor"])).json()
    assert [h["id"] for h in by_name["items"]] == [hid]
    for who in ("clerk_other_township", "clerk_other_county"):
        other = (await api("intake").get("/households", params={"address": marker}, headers=tokens[who])).json()
        assert other["items"] == [] and other["total"] == 0
    # Asking for another region explicitly shows nothing rather than widening the scope.
    r = await api("intake").get(
        "/households", params={"region_code": "610626102", "address": marker}, headers=tokens["clerk"]
    )
    assert r.json()["total"] == 0
    r = await api("intake").get(
        "/households", params={"region_code": "6106261012", "limit": 0}, headers=tokens["clerk"]
    )
    problem(r, 422, "query.limit")


async def test_lookup_by_resident_id_in_body(api, tokens, db):
    body = household_body()
    hid = (await api("intake").post("/households", json=body, headers=tokens["clerk"])).json()["id"]
    number = body["members"][1]["id_number"]
    r = await api("intake").post("/households/lookup", json={"id_number": number}, headers=tokens["reviewer"])
    assert r.status_code == 200 and r.json()["id"] == hid
    r = await api("intake").post(
        "/households/lookup", json={"id_number": number}, headers=tokens["clerk_other_township"]
    )
    assert r.status_code == 404
    r = await api("intake").post("/households/lookup", json={"id_number": number[:-1] + "Z"}, headers=tokens["clerk"])
    problem(r, 422, "id_number")


async def test_members_add_update_remove_with_one_active_household_per_person(api, tokens, db):
    first = await _register(api, tokens)
    hid = first["id"]
    client = api("intake")
    child = {"name": "李明", "id_number": resident_id("20150601", True), "relation": "child", "student": True}
    r = await client.post(f"/households/{hid}/members", json=child, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    member = next(m for m in r.json()["members"] if m["name"] == "李明")
    assert member["birth_date"] == "2015-06-01" and member["sex"] == "male"

    # The same person cannot join a second active household ...
    other = await _register(api, tokens)
    before = await _count(db, Member)
    r = await client.post(f"/households/{other['id']}/members", json=child, headers=tokens["clerk"])
    problem(r, 409, "id_number")
    assert await _count(db, Member) == before

    # ... until removed from the first (kept in history), with a reason.
    r = await client.delete(f"/households/{hid}/members/{member['id']}", headers=tokens["clerk"])
    problem(r, 422, "query.reason")
    r = await client.delete(
        f"/households/{hid}/members/{member['id']}", params={"reason": "分户"}, headers=tokens["clerk"]
    )
    assert r.status_code == 200 and all(m["id"] != member["id"] for m in r.json()["members"])
    r = await client.post(f"/households/{other['id']}/members", json=child, headers=tokens["clerk"])
    assert r.status_code == 201
    async with db.connect() as conn:
        reason = (
            await conn.execute(
                text("SELECT reason FROM intake.audit_log WHERE action = 'member.remove' AND resource_id = :m"),
                {"m": member["id"]},
            )
        ).scalar_one()
    assert reason == "分户"
    events = await _outbox(db, hid, "household.updated")
    assert len(events) == 2  # added, removed: each carries the snapshot
    assert len(events[-1]["data"]["snapshot"]["members"]) == 2


async def test_not_counted_member_needs_a_reason(api, tokens, db):
    body = household_body()
    body["members"][1]["counted"] = False
    before = await _count(db, Household)
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    problem(r, 422, "members[1].not_counted_reason")
    assert await _count(db, Household) == before

    hid = (await _register(api, tokens))["id"]
    spouse = next(
        m
        for m in (await api("intake").get(f"/households/{hid}", headers=tokens["clerk"])).json()["members"]
        if m["relation"] == "spouse"
    )
    url = f"/households/{hid}/members/{spouse['id']}"
    problem(
        await api("intake").patch(url, json={"counted": False}, headers=tokens["clerk"]), 422, "body.not_counted_reason"
    )
    r = await api("intake").patch(url, json={"counted": False, "not_counted_reason": "服刑"}, headers=tokens["clerk"])
    assert r.status_code == 200, r.text
    facts = next(m for m in r.json()["members"] if m["id"] == spouse["id"])["facts"]
    assert facts["counted"] is False and facts["not_counted_reason"] == "服刑"
    problem(
        await api("intake").patch(url, json={"labour_capacity": None}, headers=tokens["clerk"]), 422, "labour_capacity"
    )
    problem(
        await api("intake").patch(url, json={"id_number": resident_id()}, headers=tokens["clerk"]), 422, "id_number"
    )


async def test_a_death_recorded_at_the_front_desk_tells_eligibility_the_date_of_death(api, tokens, db):
    """死亡 at the front desk months after the fact: the household.updated event names the member and the date of
    death, so the household's cases stop paying for them from the month after the death, not after today. A
    date of death in the future, or one given for a member who left for another reason, is refused and writes
    nothing."""
    household = await _register(api, tokens)
    hid = household["id"]
    spouse = next(m for m in household["members"] if m["relation"] == "spouse")
    url = f"/households/{hid}/members/{spouse['id']}"
    client, before = api("intake"), len(await _outbox(db, hid, "household.updated"))
    tomorrow = str(china_today() + timedelta(days=1))
    problem(
        await client.delete(url, params={"reason": "死亡", "died_on": tomorrow}, headers=tokens["clerk"]),
        422,
        "query.died_on",
    )
    problem(
        await client.delete(url, params={"reason": "死亡", "died_on": "2024-02-30"}, headers=tokens["clerk"]),
        422,
        "query.died_on",
    )
    assert len(await _outbox(db, hid, "household.updated")) == before
    r = await client.delete(url, params={"reason": "死亡", "died_on": "2024-05-17"}, headers=tokens["clerk"])
    assert r.status_code == 200, r.text
    assert all(m["id"] != spouse["id"] for m in r.json()["members"])
    [event] = (await _outbox(db, hid, "household.updated"))[before:]
    assert event["data"]["departures"] == [{"member_id": spouse["id"], "reason": "died", "on": "2024-05-17"}]
    assert spouse["id"] not in {m["member_id"] for m in event["data"]["snapshot"]["members"]}
    # Another member who moves out: left on the day, no date of death.
    child = {"name": "李明", "id_number": resident_id("20150601", True), "relation": "child", "student": True}
    r = await client.post(f"/households/{hid}/members", json=child, headers=tokens["clerk"])
    kid = next(m for m in r.json()["members"] if m["name"] == "李明")
    r = await client.delete(
        f"/households/{hid}/members/{kid['id']}", params={"reason": "分户"}, headers=tokens["clerk"]
    )
    assert r.status_code == 200, r.text
    event = (await _outbox(db, hid, "household.updated"))[-1]
    assert event["data"]["departures"] == [{"member_id": kid["id"], "reason": "left", "on": str(china_today())}]


async def test_last_member_cannot_be_removed(api, tokens):
    household = await _register(api, tokens, members=1)
    mid = household["members"][0]["id"]
    r = await api("intake").delete(
        f"/households/{household['id']}/members/{mid}", params={"reason": "死亡"}, headers=tokens["clerk"]
    )
    problem(r, 409, "member_id")


async def test_economic_facts_are_replaced_and_bad_money_is_rejected(api, tokens, db):
    household = await _register(api, tokens)
    hid, head = household["id"], household["members"][0]["id"]
    facts = {
        "incomes": [
            {"member_id": head, "kind": "wages", "subkind": "salary", "monthly_amount_fen": 150_000},
            {"kind": "transfer", "subkind": "social_assistance", "monthly_amount_fen": 40_000},
        ],
        "properties": [{"kind": "vehicle", "value_fen": 3_000_000, "description": "农用三轮车"}],
        "rigid_expenses": [{"kind": "education", "amount_fen_12m": 600_000}],
    }
    r = await api("intake").put(f"/households/{hid}/economic-facts", json=facts, headers=tokens["clerk"])
    assert r.status_code == 200, r.text
    assert [i["monthly_amount_fen"] for i in r.json()["incomes"]] == [150_000, 40_000]
    events = await _outbox(db, hid, "household.updated")
    assert events[-1]["data"]["snapshot"]["properties"][0]["kind"] == "vehicle"

    for bad, field in (
        (
            {"incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": -1}]},
            "incomes[0].monthly_amount_fen",
        ),
        (
            {"incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": 99.5}]},
            "incomes[0].monthly_amount_fen",
        ),
        ({"properties": [{"kind": "deposits", "value_fen": "1万"}]}, "properties[0].value_fen"),
        # money in fen is a JSON integer: a string of digits was stored as the number, a float or boolean taken
        (
            {"incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": "100"}]},
            "incomes[0].monthly_amount_fen",
        ),
        (
            {"incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": 100.0}]},
            "incomes[0].monthly_amount_fen",
        ),
        ({"properties": [{"kind": "deposits", "value_fen": True}]}, "properties[0].value_fen"),
        ({"rigid_expenses": [{"kind": "medical", "amount_fen_12m": "5"}]}, "rigid_expenses[0].amount_fen_12m"),
        ({"rigid_expenses": [{"kind": "medical", "amount_fen_12m": -5}]}, "rigid_expenses[0].amount_fen_12m"),
        ({"incomes": [{"kind": "lottery", "subkind": "x", "monthly_amount_fen": 1}]}, "incomes[0].kind"),
        (
            {"incomes": [{"member_id": str(uuid.uuid4()), "kind": "wages", "subkind": "x", "monthly_amount_fen": 1}]},
            "incomes[0].member_id",
        ),
        ({"incomes": [], "savings": 1}, "savings"),
    ):
        whole = {"incomes": [], "properties": [], "rigid_expenses": [], **bad}  # the three lists are required
        r = await api("intake").put(f"/households/{hid}/economic-facts", json=whole, headers=tokens["clerk"])
        assert [e["field"] for e in problem(r, 422, field)["errors"]] == [field]
    assert len(await _outbox(db, hid, "household.updated")) == len(events)
    read = (await api("intake").get(f"/households/{hid}", headers=tokens["clerk"])).json()
    assert [i["monthly_amount_fen"] for i in read["incomes"]] == [150_000, 40_000]


async def test_registering_a_household_refuses_fen_sent_as_a_string_naming_the_field(api, tokens, db):
    households = await _count(db, Household)
    for income in ("100", 100.0, True):
        body = household_body()
        body["incomes"][0]["monthly_amount_fen"] = income
        r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
        problem(r, 422, "incomes[0].monthly_amount_fen")
    body = household_body()
    body["rigid_expenses"][0]["amount_fen_12m"] = "1200000"
    problem(
        await api("intake").post("/households", json=body, headers=tokens["clerk"]),
        422,
        "rigid_expenses[0].amount_fen_12m",
    )
    assert await _count(db, Household) == households


async def test_an_empty_put_of_economic_facts_or_patch_is_refused_and_changes_nothing(api, tokens, db):
    """PUT …/economic-facts with {} answered 200 and erased every income, property and rigid expense; PATCH with {}
    answered 200, bumped the version and audited {"fields": []}. The PUT replaces the whole set, so it names all
    three lists (an explicit [] clears one); a PATCH changes at least one field. Both are 422, nothing written."""
    household = await _register(api, tokens)
    hid, member = household["id"], household["members"][0]["id"]

    async def audits() -> int:
        async with db.connect() as conn:
            query = text("SELECT count(*) FROM intake.audit_log WHERE household_id = :h")
            return (await conn.execute(query, {"h": hid})).scalar_one()

    before, audited, events = household, await audits(), len(await _outbox(db, hid, "household.updated"))
    r = await api("intake").put(f"/households/{hid}/economic-facts", json={}, headers=tokens["clerk"])
    body = problem(r, 422, "incomes")
    assert {e["field"] for e in body["errors"]} == {"incomes", "properties", "rigid_expenses"}
    r = await api("intake").put(
        f"/households/{hid}/economic-facts", json={"incomes": before["incomes"]}, headers=tokens["clerk"]
    )
    assert {e["field"] for e in problem(r, 422, "properties")["errors"]} == {"properties", "rigid_expenses"}
    for path in (f"/households/{hid}", f"/households/{hid}/members/{member}"):
        problem(await api("intake").patch(path, json={}, headers=tokens["clerk"]), 422, "body")
    after = await api("intake").get(f"/households/{hid}", headers=tokens["clerk"])
    assert after.headers["ETag"] == '"1"' and after.json()["version"] == before["version"]
    for facts in ("incomes", "properties", "rigid_expenses"):
        assert after.json()[facts] == before[facts] != []
    assert len(await _outbox(db, hid, "household.updated")) == events
    assert await audits() == audited + 1  # the GET's read, nothing of the refused writes

    # An explicit [] clears one list, the others as sent.
    r = await api("intake").put(
        f"/households/{hid}/economic-facts",
        json={"incomes": [], "properties": before["properties"], "rigid_expenses": before["rigid_expenses"]},
        headers=tokens["clerk"],
    )
    assert r.status_code == 200 and r.json()["incomes"] == [] and r.json()["properties"] == before["properties"]


async def test_regions_table_for_the_demo_county(api, tokens):
    r = await api("intake").get("/regions/610626", headers=tokens["clerk"])
    assert r.status_code == 200
    assert r.json()["name"] == "吴起县"
    townships = {c["code"]: c["name"] for c in r.json()["children"]}
    assert len(townships) == 9 and townships["610626101"] == "铁边城镇"
    assert (await api("intake").get("/regions/610626999", headers=tokens["clerk"])).status_code == 404


def test_villages_file_adds_names_and_rejects_bad_rows(tmp_path):
    good = tmp_path / "villages.csv"
    good.write_text("code,name,townshipCode\n610626101201,张湾村,610626101\n", encoding="utf-8")
    table = with_villages(RegionTable.load(), good)
    assert table.name("610626101201") == "张湾村"
    assert [v.code for v in table.villages("610626101")] == ["610626101201"]
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,townshipCode\n610626999201,某村,610626999\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        with_villages(RegionTable.load(), bad)


async def test_nul_characters_are_refused_not_a_database_error(api, tokens, db):
    before = await _count(db, Household)
    body = household_body()
    body["address"] = "吴起县\u0000铁边城镇"
    problem(await api("intake").post("/households", json=body, headers=tokens["clerk"]), 422, "address")
    problem(
        await api("intake").get("/households", params={"address": "\x00"}, headers=tokens["clerk"]),
        422,
        "query.address",
    )
    assert await _count(db, Household) == before


async def test_concurrent_registrations_of_one_person_make_one_household(api, tokens, db):
    """The check before writing cannot see a registration still in flight: the unique index refuses the second at
    commit, and it is answered with the same 409 naming the members, nothing of it written."""
    body = household_body(members=1)
    households, members = await _count(db, Household), await _count(db, Member)
    answers = await asyncio.gather(
        *(api("intake").post("/households", json=body, headers=tokens["clerk"]) for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert any(e["field"].startswith("members") for e in r.json()["errors"]), r.text
    assert (await _count(db, Household), await _count(db, Member)) == (households + 1, members + 1)


async def test_each_household_shown_is_audited_under_itself(api, tokens, db):
    """Registering answers the household back (a read) and a list shows each of its households: every record is
    filed under the household it is about, in its region."""
    h = await _register(api, tokens)
    listed = {"region": h["region_code"], "limit": 100}
    r = await api("intake").get("/households", params=listed, headers=tokens["clerk"])
    assert r.status_code == 200 and h["id"] in {i["id"] for i in r.json()["items"]}, r.text
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT action, resource_type, resource_id, household_id::text, region_code FROM intake.audit_log"
                    " WHERE resource_id = :h ORDER BY id"
                ),
                {"h": h["id"]},
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (action, "household", h["id"], h["id"], h["region_code"])
        for action in ("household.register", "household.read", "household.list")
    ]


async def test_an_address_of_spaces_only_is_refused_naming_it(api, tokens, db):
    before = await _count(db, Household)
    for blank in (" ", "\u3000\u3000", "\t "):
        body = {**household_body(), "address": blank}
        problem(await api("intake").post("/households", json=body, headers=tokens["clerk"]), 422, "address")
    assert await _count(db, Household) == before


async def test_a_household_has_one_head_at_registration_and_after(api, tokens, db):
    """户主: one per household (the roll import refuses a second one too); bad input names the member, writes
    nothing."""
    client = api("intake")
    body = household_body(members=3)
    body["members"][2]["relation"] = "head"
    households, members = await _count(db, Household), await _count(db, Member)
    r = await client.post("/households", json=body, headers=tokens["clerk"])
    problem(r, 422, "members[2].relation")
    body["members"][0]["relation"] = body["members"][2]["relation"] = "child"
    problem(await client.post("/households", json=body, headers=tokens["clerk"]), 422, "members")
    assert (await _count(db, Household), await _count(db, Member)) == (households, members)

    household = await _register(api, tokens)
    hid = household["id"]
    head = next(m["id"] for m in household["members"] if m["relation"] == "head")
    spouse = next(m["id"] for m in household["members"] if m["relation"] == "spouse")
    second = {"name": "李明", "id_number": resident_id("19800601", True), "relation": "head"}
    r = await client.post(f"/households/{hid}/members", json=second, headers=tokens["clerk"])
    problem(r, 422, "relation")
    assert await _count(db, Member) == members + 2
    r = await client.patch(f"/households/{hid}/members/{spouse}", json={"relation": "head"}, headers=tokens["clerk"])
    problem(r, 422, "relation")
    # A new 户主 (the old one died, or 分户): the old one's relation changes first, then the new one's.
    for member, relation in ((head, "parent"), (spouse, "head")):
        r = await client.patch(
            f"/households/{hid}/members/{member}", json={"relation": relation}, headers=tokens["clerk"]
        )
        assert r.status_code == 200, r.text
    shown = (await client.get(f"/households/{hid}", headers=tokens["clerk"])).json()
    assert [m["id"] for m in shown["members"] if m["relation"] == "head"] == [spouse]


async def test_an_id_number_of_no_province_is_refused_naming_the_member_without_echoing_it(api, tokens, db):
    body = household_body()
    number = resident_id("19800101", True, area="000000")
    body["members"][1]["id_number"] = number
    before = await _count(db, Household)
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    refused = problem(r, 422, "members[1].id_number")
    assert "province" in r.text and number not in r.text and number[:17] not in r.text
    assert refused["errors"] and await _count(db, Household) == before
