"""Who may act, and which steps a case offers, through eligibility's API (cases/endpoints.py's step table,
cases/workflow.py's rules): the steps a case lists are the steps its endpoints accept; the role is checked before the
state; workflow limits bind every role, admin too; an admin changes only its own region's parameters."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from tests.conftest import bearer
from tests.helpers import walk
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


async def test_a_paid_one_off_case_offers_no_review_and_nothing_to_stop(api, tokens, open_wuqi_case):
    """A one-off paid once has no roll life: no review, and no 停保 (payments acknowledges an end of a one-off
    without effect: there is nothing running to stop)."""
    facts = {"temporary": {"kind": "emergency", "requested_fen": 500_000, "cause": "窑洞坍塌"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=facts)
    case = await _case(api, tokens, case_id)
    assert case["next_steps"] == ["investigation", "extension", "emergency-approval"]
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行"})
    assert r.status_code == 200, r.text
    assert r.json()["next_steps"] == ["documents-complete"]
    r = await _post(api, tokens, "reviewer", case_id, "review", {"on": "2023-09-05"})
    assert r.status_code == 409 and r.json()["allowed_next"] == ["documents-complete"]
    stop = {"on": "2023-09-05", "reason": "other", "opinion": "停保"}
    r = await _post(api, tokens, "approver", case_id, "termination", stop)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["documents-complete"], r.text
    r = await _post(api, tokens, "clerk", case_id, "documents-complete", {"on": "2023-09-05"})
    assert r.status_code == 200 and r.json()["next_steps"] == []


async def test_the_paperwork_owed_after_emergency_help_is_the_townships_task_until_completed(
    api, tokens, db, open_wuqi_case
):
    """急难型: paid first, documented after. While documents are pending, `documents-complete` is on the township's
    worklists (clerk and reviewer, the step's roles; not the county's), due by the whole-case limit the normal
    临时救助 procedure would have had from acceptance: within the township's limit the township decides it, so 20
    WD (procedure.delegated_overall_wd). By hand from Mon 4 Sept 2023: 5–8 Sept (4), 11–15 (9), 18–22 (14),
    25–28 (18), 29 Sept–6 Oct off, Sat 7 Oct (19) and Sun 8 Oct (20) make-up working days → 2023-10-08. Intake hears
    it as the case's deadline (case.deadline_changed after case.approved), and hears it cleared once completed."""
    facts = {"temporary": {"type": "emergency", "requested_amount_fen": 500_000, "cause": "窑洞坍塌"}}
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="temporary", details=facts)
    r = await _post(api, tokens, "reviewer", case_id, "emergency-approval", {"on": "2023-09-04", "opinion": "先行"})
    assert r.status_code == 200 and r.json()["documents_pending"] is True, r.text
    assert r.json()["due_date"] == "2023-10-08"
    eligibility = api("eligibility")

    async def listed(who: str) -> dict[str, dict]:
        return {t["case_id"]: t for t in await walk(eligibility, "/tasks", tokens[who])}

    for who in ("clerk", "reviewer"):
        task = (await listed(who))[case_id]
        assert task["status"] == "approved" and task["due_date"] == "2023-10-08" and task["overdue"] is True
        assert task["steps"] == [{"step": "documents-complete", "path": f"/cases/{case_id}/documents-complete"}]
    assert case_id not in await listed("approver")
    assert case_id not in await listed("clerk_other_township")

    async def deadlines() -> list[tuple[str, str | None]]:
        async with db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT type, payload->'data'->>'due_date' FROM eligibility.outbox "
                    "WHERE payload->'data'->>'case_id' = :c AND (type LIKE '%deadline_changed%' OR type LIKE "
                    "'%approved%') ORDER BY id"
                ),
                {"c": case_id},
            )
            return [(t.rsplit(".", 2)[-2], due) for t, due in rows]

    assert await deadlines() == [("approved", None), ("deadline_changed", "2023-10-08")]
    r = await _post(api, tokens, "clerk", case_id, "documents-complete", {"on": "2023-09-05"})
    assert r.status_code == 200 and r.json()["due_date"] is None
    assert case_id not in await listed("clerk")
    assert (await deadlines())[-1] == ("deadline_changed", None)


async def test_a_tekun_case_has_no_extension_a_dibao_case_has(api, tokens, open_wuqi_case):
    """特困 (民发〔2021〕43号): 15 WD for the township, 15 for the county, no extension: not offered, and posted it
    answers 409 with the steps allowed now (its deadline would not move). 低保's 30 WD extend to 45."""
    case_id, _ = await open_wuqi_case(date(2023, 9, 4), programme="tekun")
    case = await _case(api, tokens, case_id)
    assert "extension" not in case["next_steps"]
    r = await _post(api, tokens, "approver", case_id, "extension", {"on": "2023-09-05", "opinion": "延长"})
    assert r.status_code == 409 and r.json()["allowed_next"] == case["next_steps"] == ["investigation"], r.text
    assert (await _case(api, tokens, case_id))["extended"] is False
    dibao, _ = await open_wuqi_case(date(2023, 9, 4))
    before = (await _case(api, tokens, dibao))["due_date"]
    r = await _post(api, tokens, "approver", dibao, "extension", {"on": "2023-09-05", "opinion": "延长"})
    assert r.status_code == 200 and r.json()["extended"] is True
    assert r.json()["due_date"] == before  # accepted: the 3-WD start of the investigation is still the nearest


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
