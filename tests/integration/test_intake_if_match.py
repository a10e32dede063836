"""Lost updates: writes to a household, its members, its economic facts and an application honour If-Match with the
ETag the read returned (412 when it changed since); every read and write answer carries the ETag."""

from __future__ import annotations

import asyncio

from tests.helpers import household_body, problem, resident_id


def _facts_of(household: dict) -> dict:
    """The economic facts as a read shows them, in the shape PUT takes them back."""
    return {
        "incomes": [
            {k: i[k] for k in ("member_id", "kind", "subkind", "monthly_amount_fen")} for i in household["incomes"]
        ],
        "properties": household["properties"],
        "rigid_expenses": household["rigid_expenses"],
    }


def _with_income(household: dict, subkind: str, fen: int) -> dict:
    facts = _facts_of(household)
    facts["incomes"].append({"member_id": None, "kind": "transfer", "subkind": subkind, "monthly_amount_fen": fen})
    return facts


async def test_two_desks_adding_income_at_once_lose_nothing(api, tokens):
    intake = api("intake")
    r = await intake.post("/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201 and r.headers["ETag"] == '"1"', r.text
    hid = r.json()["id"]

    # Both desks read the household, then each adds its own income entry to what it read, at the same moment.
    read_a, read_b = await asyncio.gather(
        intake.get(f"/households/{hid}", headers=tokens["clerk"]),
        intake.get(f"/households/{hid}", headers=tokens["clerk"]),
    )
    assert read_a.headers["ETag"] == read_b.headers["ETag"] == '"1"'
    url = f"/households/{hid}/economic-facts"
    desk_a, desk_b = _with_income(read_a.json(), "rent", 30_000), _with_income(read_b.json(), "alimony", 45_000)
    answers = await asyncio.gather(
        intake.put(url, json=desk_a, headers={**tokens["clerk"], "If-Match": read_a.headers["ETag"]}),
        intake.put(url, json=desk_b, headers={**tokens["clerk"], "If-Match": read_b.headers["ETag"]}),
    )
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 200)
    assert won.headers["ETag"] == '"2"' and won.json()["version"] == 2
    lost_facts = desk_b if answers[1].status_code == 412 else desk_a
    refused = problem(next(a for a in answers if a.status_code == 412), 412, "If-Match")
    assert refused["etag"] == '"2"'

    # The loser reads again and re-applies its entry on what it now sees.
    again = await intake.get(f"/households/{hid}", headers=tokens["clerk"])
    assert again.headers["ETag"] == '"2"'
    mine = lost_facts["incomes"][-1]
    r = await intake.put(
        url,
        json=_with_income(again.json(), mine["subkind"], mine["monthly_amount_fen"]),
        headers={**tokens["clerk"], "If-Match": again.headers["ETag"]},
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"3"', r.text

    final = (await intake.get(f"/households/{hid}", headers=tokens["clerk"])).json()
    incomes = {(i["subkind"], i["monthly_amount_fen"]) for i in final["incomes"]}
    # Both desks' entries, and the two the household was registered with.
    assert incomes == {("rent", 30_000), ("alimony", 45_000), ("farm_work", 20_000), ("basic_pension", 16_300)}


async def test_every_household_write_checks_if_match_and_bumps_the_etag(api, tokens):
    intake = api("intake")
    registered = (await intake.post("/households", json=household_body(), headers=tokens["clerk"])).json()
    hid, member = registered["id"], registered["members"][0]["id"]
    stale = {**tokens["clerk"], "If-Match": '"1"'}
    writes = [
        ("patch", f"/households/{hid}", {"json": {"address": "吴起县铁边城镇新村1号"}}),
        ("put", f"/households/{hid}/economic-facts", {"json": _facts_of(registered)}),
        (
            "post",
            f"/households/{hid}/members",
            {"json": {"name": "李小明", "id_number": resident_id("20150101"), "relation": "child"}},
        ),
        ("patch", f"/households/{hid}/members/{member}", {"json": {"student": True}}),
    ]
    version = 1
    for method, url, kwargs in writes:
        current = {**tokens["clerk"], "If-Match": f'"{version}"'}
        r = await getattr(intake, method)(url, headers=current, **kwargs)
        assert r.status_code in (200, 201), (url, r.text)
        version += 1
        assert r.headers["ETag"] == f'"{version}"' and r.json()["version"] == version, url
        # The same write sent with the first version's tag is refused and changes nothing.
        problem(await getattr(intake, method)(url, headers=stale, **kwargs), 412, "If-Match")
        assert (await intake.get(f"/households/{hid}", headers=tokens["clerk"])).headers["ETag"] == f'"{version}"'
    members = (await intake.get(f"/households/{hid}", headers=tokens["clerk"])).json()["members"]
    added = next(m for m in members if m["name"] == "李小明")
    r = await intake.delete(f"/households/{hid}/members/{added['id']}", params={"reason": "迁出"}, headers=stale)
    problem(r, 412, "If-Match")
    # Without If-Match a write is still accepted (the row lock serialises it), and still bumps the version; `*`
    # matches any version; a weak tag never does (If-Match compares strongly).
    r = await intake.patch(f"/households/{hid}", json={"address": "吴起县铁边城镇新村2号"}, headers=tokens["clerk"])
    assert r.status_code == 200 and r.headers["ETag"] == f'"{version + 1}"'
    weak = {**tokens["clerk"], "If-Match": f'W/"{version + 1}"'}
    problem(await intake.patch(f"/households/{hid}", json={"address": "x村"}, headers=weak), 412, "If-Match")
    anything = {**tokens["clerk"], "If-Match": "*"}
    r = await intake.patch(f"/households/{hid}", json={"address": "吴起县铁边城镇新村3号"}, headers=anything)
    assert r.status_code == 200 and r.headers["ETag"] == f'"{version + 2}"'


async def test_application_writes_check_if_match(api, tokens):
    intake = api("intake")
    hid = (await intake.post("/households", json=household_body(), headers=tokens["clerk"])).json()["id"]
    r = await intake.post(
        "/applications",
        json={"household_id": hid, "programme": "dibao", "consent_signed": True},
        headers=tokens["clerk"],
    )
    assert r.status_code == 201 and r.headers["ETag"] == '"1"', r.text
    aid = r.json()["id"]
    read = await intake.get(f"/applications/{aid}", headers=tokens["reviewer"])
    assert read.headers["ETag"] == '"1"'
    r = await intake.patch(
        f"/applications/{aid}",
        json={"separate_register": False},
        headers={**tokens["clerk"], "If-Match": read.headers["ETag"]},
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"2"', r.text
    # The other desk still holds version 1: its withdrawal is refused, and the application stays as it is.
    stale = {**tokens["clerk"], "If-Match": read.headers["ETag"]}
    problem(await intake.post(f"/applications/{aid}/withdraw", json={"reason": "搬家"}, headers=stale), 412, "If-Match")
    problem(await intake.patch(f"/applications/{aid}", json={"consent_signed": True}, headers=stale), 412, "If-Match")
    after = await intake.get(f"/applications/{aid}", headers=tokens["clerk"])
    assert after.json()["status"] == "submitted" and after.headers["ETag"] == '"2"'
    r = await intake.post(
        f"/applications/{aid}/withdraw", json={"reason": "搬家"}, headers={**tokens["clerk"], "If-Match": '"2"'}
    )
    assert r.status_code == 202 and r.headers["ETag"] == '"3"' and r.json()["status"] == "withdrawal_requested"
