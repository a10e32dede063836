"""The front desk refuses names a person cannot have (shared/core/names.py): a formula payload as a member's name or an
account holder's is a 422 naming the field and changes nothing; a transliterated name typed with a look-alike dot
is stored with `·`."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import household_body, problem
from tests.spreadsheet_kit import FORMULA_PAYLOADS

ACCOUNT = {"bank_name": "吴起农村商业银行", "account_holder": "李建国", "account_number": "6217000012345678901"}


async def _households_at(api, tokens, marker: str) -> int:
    r = await api("intake").get("/households", params={"address": marker}, headers=tokens["clerk"])
    assert r.status_code == 200, r.text
    return r.json()["total"]


@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
async def test_a_formula_as_a_member_or_holder_name_is_refused_and_nothing_is_stored(api, tokens, payload):
    marker = uuid.uuid4().hex[:10]
    body = household_body()
    body["address"] = f"吴起县铁边城镇{marker}"
    body["members"][1]["name"] = payload
    body["bank_account"] = {**ACCOUNT, "account_holder": payload}
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    for field in ("members[1].name", "bank_account.account_holder"):
        problem(r, 422, field)
    assert await _households_at(api, tokens, marker) == 0


async def test_updates_refuse_them_too_and_a_look_alike_dot_is_stored_as_the_middle_dot(api, tokens):
    body = household_body()
    body["members"][1]["name"] = "买买提•艾力"  # typed with a bullet
    r = await api("intake").post("/households", json=body, headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    household = r.json()
    assert {m["name"] for m in household["members"]} == {"李建国", "买买提·艾力"}
    hid, member = household["id"], household["members"][0]

    r = await api("intake").patch(
        f"/households/{hid}/members/{member['id']}", json={"name": "=1+1"}, headers=tokens["clerk"]
    )
    assert "formula" in problem(r, 422, "name")["errors"][0]["message"]
    r = await api("intake").patch(
        f"/households/{hid}",
        json={"bank_account": {**ACCOUNT, "account_holder": "@SUM(1+1)*cmd|' /C calc'!A0"}},
        headers=tokens["clerk"],
    )
    problem(r, 422, "bank_account.account_holder")
    after = (await api("intake").get(f"/households/{hid}", headers=tokens["clerk"])).json()
    assert {m["name"] for m in after["members"]} == {"李建国", "买买提·艾力"} and after["bank_account"] is None

    r = await api("intake").patch(
        f"/households/{hid}",
        json={"bank_account": {**ACCOUNT, "account_holder": "Mary-Jane O’Neil"}},
        headers=tokens["clerk"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["bank_account"]["account_holder"] == "Mary-Jane O'Neil"
