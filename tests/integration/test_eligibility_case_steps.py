"""Who may act, and which steps a case offers, through eligibility's API (cases/endpoints.py's step table,
cases/workflow.py's rules): the steps a case lists are the steps its endpoints accept; the role is checked before the
state; workflow limits bind every role, admin too; an admin changes only its own region's parameters."""

from __future__ import annotations

from datetime import date

from tests.conftest import bearer
from tests.integration import test_eligibility_workflow as cases

_post = cases._post
open_wuqi_case = cases.open_wuqi_case  # the fixture, shared with the workflow tests

COUNTY_ADMIN = bearer("admin-wuqi", ["admin"], "610626")
# An admin who also holds the township reviewer's role: may take the step, but only within the township's limit.
ADMIN_REVIEWER = bearer("admin-tiebian", ["admin", "township_reviewer"], "610626101")


async def _case(api, tokens, case_id: str) -> dict:
    r = await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_accepted_dibao_case_offers_only_the_steps_it_accepts(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    case = await _case(api, tokens, case_id)
    assert case["next_steps"] == ["investigation", "extension"]
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行"})
    assert r.status_code == 409 and r.json()["allowed_next"] == case["next_steps"]

    await _post(api, tokens, "clerk", case_id, "investigation", {"on": "2023-09-05"})
    case = await _case(api, tokens, case_id)
    assert case["next_steps"] == ["home-visits", "extension"]  # no economic check before the home visit
    r = await _post(api, tokens, "reviewer", case_id, "economic-check", {"on": "2023-09-06", "result": "consistent"})
    assert r.status_code == 409 and r.json()["allowed_next"] == case["next_steps"]

    r = await _post(api, tokens, "approver", case_id, "extension", {"on": "2023-09-06", "opinion": "需补充材料"})
    assert r.status_code == 200 and "extension" not in r.json()["next_steps"]


async def test_a_paid_one_off_case_offers_no_review(api, tokens, open_wuqi_case):
    facts = {"temporary": {"kind": "emergency", "requested_fen": 500_000, "cause": "窑洞坍塌"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=facts)
    case = await _case(api, tokens, case_id)
    assert case["next_steps"] == ["investigation", "extension", "emergency-approval"]
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行"})
    assert r.status_code == 200, r.text
    assert r.json()["next_steps"] == ["documents-complete", "termination"]
    r = await _post(api, tokens, "reviewer", case_id, "review", {"on": "2023-09-05"})
    assert r.status_code == 409 and r.json()["allowed_next"] == ["documents-complete", "termination"]
    r = await _post(api, tokens, "clerk", case_id, "documents-complete", {"on": "2023-09-05"})
    assert r.status_code == 200 and r.json()["next_steps"] == ["termination"]


async def test_who_may_act_is_checked_before_the_state_of_the_case(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4))
    r = await _post(
        api, tokens, "clerk", case_id, "decision", {"on": "2023-09-05", "decision": "approve", "opinion": "同意"}
    )
    assert r.status_code == 403, r.text
    r = await _post(
        api, tokens, "clerk", case_id, "termination", {"on": "2023-09-05", "reason": "other", "opinion": "停保"}
    )
    assert r.status_code == 403, r.text
    assert (await _case(api, tokens, case_id))["status"] == "accepted"


async def test_the_emergency_limit_binds_an_admin_too(api, tokens, open_wuqi_case):
    facts = {"temporary": {"kind": "emergency", "requested_fen": 2_500_000, "cause": "火灾"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=facts)
    for who in (COUNTY_ADMIN, ADMIN_REVIEWER):
        r = await api("eligibility").post(
            f"/cases/{case_id}/emergency-approval", json={"on": "2023-09-04", "opinion": "先行"}, headers=who
        )
        assert r.status_code == 403, r.text
    assert (await _case(api, tokens, case_id))["status"] == "accepted"
    r = await _post(api, tokens, "approver", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "联席会议"})
    assert r.status_code == 200 and r.json()["one_off_amount_fen"] == 2_500_000


async def test_a_county_admin_changes_only_its_own_regions_parameters(api, tokens):
    body = {
        "key": "dibao.standard.rural",
        "start": "2099-01-01",
        "value": {"per": "year", "fen": 700_000},
        "reference": "test: a county admin's scope",
    }
    for region in ("national", "61", "6106", "62", "610625"):
        r = await api("eligibility").post("/parameters", json={**body, "region": region}, headers=COUNTY_ADMIN)
        assert r.status_code == 403, (region, r.text)
        bad_key = await api("eligibility").post(
            "/parameters", json={**body, "region": region, "key": "no.such"}, headers=COUNTY_ADMIN
        )
        assert bad_key.status_code == 403, (region, bad_key.text)  # scope first: nothing about other regions leaks
    r = await api("eligibility").get(
        "/parameters/dibao.standard.rural", params={"region": "610625", "on": "2099-02-01"}, headers=tokens["clerk"]
    )
    assert r.status_code == 404 or r.json()["value"] != {"per": "year", "fen": 700_000}
    r = await api("eligibility").post("/parameters", json={**body, "region": "610626"}, headers=COUNTY_ADMIN)
    assert r.status_code == 201, r.text


async def test_only_the_county_records_the_countys_own_home_visit_admin_or_not(api, tokens, open_wuqi_case):
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), separate_register=True)
    await _post(api, tokens, "clerk", case_id, "investigation", {"on": "2023-09-05"})
    visit = {"on": "2023-09-06", "investigators": ["张强", "李娜"], "findings": "核实", "by_county": True}
    r = await api("eligibility").post(f"/cases/{case_id}/home-visits", json=visit, headers=ADMIN_REVIEWER)
    assert r.status_code == 403, r.text
    r = await _post(api, tokens, "approver", case_id, "home-visits", visit)
    assert r.status_code == 200 and r.json()["home_visits"] == 1
