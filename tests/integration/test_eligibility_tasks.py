"""GET /tasks, the worklist (待办): the steps of the procedure a user's roles may take now on its region's open
cases, oldest deadline first — for cases at different stages, a township clerk and the county approver."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from shared.core.period import china_today
from tests.conftest import bearer
from tests.helpers import problem, walk

pytestmark = pytest.mark.integration

COUNTY = "610627"  # a county no other test uses
TOWN, OTHER_TOWN = f"{COUNTY}101", f"{COUNTY}102"
BASE = date(2026, 1, 5)

# (status, home visits, delegated, days after BASE it is due, township)
STAGES = {
    "accepted": ("accepted", 0, False, 9, TOWN),
    "investigating": ("investigation", 0, False, 3, TOWN),
    "visited": ("investigation", 1, False, 5, TOWN),
    "township_review": ("township_review", 1, False, 1, TOWN),
    "county_review": ("county_review", 1, False, 7, TOWN),
    "delegated": ("county_review", 1, True, 8, TOWN),
    "approved": ("approved", 1, False, None, TOWN),
    "elsewhere": ("accepted", 0, False, 0, OTHER_TOWN),
}


@pytest.fixture(scope="module")
async def cases(db) -> dict[str, str]:
    ids = {name: str(uuid.uuid4()) for name in STAGES}
    async with db.begin() as conn:
        for name, (status, visits, delegated, due_in, town) in STAGES.items():
            village, household = f"{town}201", str(uuid.uuid4())
            snapshot = (
                f'{{"household_id": "{household}", "region_code": "{village}", "hukou_type": "rural", "members": '
                f'[{{"member_id": "{household}", "name": "张三", "birth_date": "1960-01-01", "sex": "male", '
                f'"relation": "head"}}]}}'
            )
            await conn.execute(
                text(
                    "INSERT INTO eligibility.cases (id, application_id, household_id, programme, region_code, status, "
                    "opened_on, status_since, due_date, due_date_provisional, separate_register, details, snapshot, "
                    "home_visits, county_home_visit, extended, delegated, documents_pending) VALUES (:id, "
                    "gen_random_uuid(), :h, 'dibao', :v, :status, :base, :base, :due, false, false, '{}', "
                    "CAST(:snapshot AS jsonb), :visits, false, false, :delegated, false)"
                ),
                {
                    "id": ids[name],
                    "h": household,
                    "v": village,
                    "status": status,
                    "base": BASE,
                    "due": BASE + timedelta(days=due_in) if due_in is not None else None,
                    "snapshot": snapshot,
                    "visits": visits,
                    "delegated": delegated,
                },
            )
    return ids


def _steps(items: list[dict], cases: dict[str, str]) -> list[tuple[str, list[str]]]:
    names = {v: k for k, v in cases.items()}
    return [(names[i["case_id"]], [s["step"] for s in i["steps"]]) for i in items]


async def test_a_township_clerk_and_the_county_approver_each_see_their_own_steps(api, cases):
    eligibility = api("eligibility")
    clerk = bearer("clerk-town", ["clerk"], TOWN)
    # By hand from the procedure: a clerk starts the investigation and records home visits; 初审, appraisal,
    # notice and decision are not the clerk's, and a case waiting for the county leaves the clerk's worklist.
    assert _steps(await walk(eligibility, "/tasks", clerk), cases) == [
        ("investigating", ["home-visits"]),
        ("visited", ["home-visits"]),
        ("accepted", ["investigation"]),
    ]
    approver = bearer("approver-county", ["county_approver"], COUNTY)
    # The county: home visits and the economic check (once a visit is recorded), and its decisions; a new
    # (accepted) case holds nothing of the county's (extension is a choice, not a duty: never listed), and in its
    # review a home visit is no duty of a plain case (neither separate register nor complained).
    assert _steps(await walk(eligibility, "/tasks", approver), cases) == [
        ("investigating", ["home-visits"]),
        ("visited", ["home-visits", "economic-check"]),
        ("county_review", ["decision"]),
        ("delegated", ["decision"]),
    ]
    reviewer = bearer("reviewer-town", ["township_reviewer"], TOWN)
    # The township reviewer decides the case the county delegated to it (委托); the county's review is not its own.
    listed = dict(_steps(await walk(eligibility, "/tasks", reviewer), cases))
    assert listed["delegated"] == ["decision"] and "county_review" not in listed


async def test_a_task_carries_the_case_its_path_and_due_date_oldest_first_in_pages(api, cases):
    eligibility = api("eligibility")
    approver = bearer("approver-county", ["county_approver"], COUNTY)
    first = (await eligibility.get("/tasks", params={"limit": 3}, headers=approver)).json()
    assert first["total"] == 4 and len(first["items"]) == 3 and first["next"]
    task = first["items"][0]
    assert task["case_id"] == cases["investigating"] and task["due_date"] == str(BASE + timedelta(days=3))
    assert task["overdue"] is (BASE + timedelta(days=3) < china_today())
    assert task["steps"] == [{"step": "home-visits", "path": f"/cases/{cases['investigating']}/home-visits"}]
    case = (await eligibility.get(f"/cases/{cases['investigating']}", headers=approver)).json()
    assert {s["step"] for s in task["steps"]} <= set(case["next_steps"])  # the same paths a case offers
    rest = (await eligibility.get("/tasks", params={"limit": 3, "cursor": first["next"]}, headers=approver)).json()
    assert [i["case_id"] for i in rest["items"]] == [cases["delegated"]] and rest["next"] is None
    # A township's clerk never sees another township's cases; a township outside its scope is an empty page.
    clerk = bearer("clerk-town", ["clerk"], TOWN)
    assert cases["elsewhere"] not in {i["case_id"] for i in await walk(eligibility, "/tasks", clerk)}
    outside = (await eligibility.get("/tasks", params={"region": OTHER_TOWN}, headers=clerk)).json()
    assert outside["items"] == [] and outside["total"] == 0
    other = bearer("clerk-other", ["clerk"], OTHER_TOWN)
    assert [i["case_id"] for i in await walk(eligibility, "/tasks", other)] == [cases["elsewhere"]]
    problem(await eligibility.get("/tasks", params={"cursor": first["next"][:-2]}, headers=approver), 422, "cursor")
    auditor = bearer("auditor", ["auditor"], COUNTY)
    assert (await eligibility.get("/tasks", headers=auditor)).status_code == 403  # no steps of its own


async def test_a_worklist_page_audits_each_case_it_shows_with_its_household(api, cases, db):
    """The worklist shows cases of households: one audit row per case shown, naming its household and region."""
    sub = "approver-tasks-audit"
    r = await api("eligibility").get("/tasks", headers=bearer(sub, ["county_approver"], COUNTY))
    items = r.json()["items"]
    assert r.status_code == 200 and len(items) == 4, r.text
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT action, resource_id, household_id::text, region_code FROM eligibility.audit_log "
                    "WHERE actor = :a"
                ),
                {"a": sub},
            )
        ).all()
    assert sorted(tuple(r[1:]) for r in rows) == sorted(
        (i["case_id"], i["household_id"], i["region_code"]) for i in items
    )
    assert {r[0] for r in rows} == {"case.tasks"}


async def test_a_reviewers_worklist_counts_the_reviews_falling_due(api, cases, db):
    """定期核查 is not a deadline of the procedure but a township's monthly work: the worklist of a role that takes
    reviews counts the cases on the roll whose review falls within 30 days, the rows of GET /cases/reviews-due."""
    eligibility = api("eligibility")
    reviewer = bearer("reviewer-town", ["township_reviewer"], TOWN)

    async def review_on(day: date) -> None:
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE eligibility.cases SET next_review_on = :day WHERE id = :id"),
                {"day": day, "id": cases["approved"]},
            )

    async def counted(headers, **params) -> int | None:
        return (await eligibility.get("/tasks", params=params, headers=headers)).json()["reviews_due"]

    today = china_today()
    await review_on(today + timedelta(days=30))
    assert await counted(reviewer) == 1
    listed = (await eligibility.get("/cases/reviews-due", headers=reviewer)).json()
    assert [c["id"] for c in listed["items"]] == [cases["approved"]]
    assert await counted(reviewer, programme="tekun") == 0
    assert await counted(bearer("reviewer-other", ["township_reviewer"], OTHER_TOWN)) == 0
    assert await counted(bearer("clerk-town", ["clerk"], TOWN)) is None  # a clerk takes no reviews
    await review_on(today + timedelta(days=31))
    assert await counted(reviewer) == 0
    await review_on(None)


async def test_the_countys_own_home_visit_is_its_duty_only_where_its_approval_needs_one(api, db):
    """县级审核确认 of cases after 初审, 民主评议 and a closed notice: a plain one holds the county's decision and
    nothing of the township's; one in the separate register (单独登记备案) or sent back by an objection (complained)
    holds the county's own home visit too (the decision refuses to approve without it: 409 ["home-visits"]); once
    the county visited, the decision alone. A home visit stays allowed on any of them (optional, never listed)."""
    county = "610632"  # a county no other test uses
    town = f"{county}101"
    kinds = {  # (separate register, complained, county visited)
        "plain": (False, False, False),
        "separate": (True, False, False),
        "complained": (False, True, False),
        "visited": (False, True, True),
    }
    ids = {k: str(uuid.uuid4()) for k in kinds}
    async with db.begin() as conn:
        for i, (name, (separate, complained, visited)) in enumerate(kinds.items()):
            household = str(uuid.uuid4())
            snapshot = (
                f'{{"household_id": "{household}", "region_code": "{town}201", "hukou_type": "rural", "members": '
                f'[{{"member_id": "{household}", "name": "李四", "birth_date": "1960-01-01", "sex": "male", '
                f'"relation": "head"}}]}}'
            )
            await conn.execute(
                text(
                    "INSERT INTO eligibility.cases (id, application_id, household_id, programme, region_code, status, "
                    "opened_on, status_since, due_date, due_date_provisional, separate_register, complained, details, "
                    "snapshot, home_visits, county_home_visit, extended, delegated, documents_pending, "
                    "notice_posted_on, notice_ends_on) VALUES (:id, gen_random_uuid(), :h, 'dibao', :v, "
                    "'county_review', :base, :base, :due, false, :separate, :complained, '{}', "
                    "CAST(:snapshot AS jsonb), 1, :visited, false, false, false, :base, :base)"
                ),
                {
                    "id": ids[name],
                    "h": household,
                    "v": f"{town}201",
                    "base": BASE,
                    "due": BASE + timedelta(days=i),
                    "separate": separate,
                    "complained": complained,
                    "visited": visited,
                    "snapshot": snapshot,
                },
            )
    eligibility = api("eligibility")
    clerk = bearer("clerk-632", ["clerk"], town)
    reviewer = bearer("reviewer-632", ["township_reviewer"], town)
    approver = bearer("approver-632", ["county_approver"], county)
    assert await walk(eligibility, "/tasks", clerk) == []
    assert await walk(eligibility, "/tasks", reviewer) == []
    assert _steps(await walk(eligibility, "/tasks", approver), ids) == [
        ("plain", ["decision"]),
        ("separate", ["home-visits", "decision"]),
        ("complained", ["home-visits", "decision"]),
        ("visited", ["decision"]),
    ]
    approve = {"on": str(BASE), "decision": "approve", "opinion": "同意"}
    r = await eligibility.post(f"/cases/{ids['complained']}/decision", json=approve, headers=approver)
    assert r.status_code == 409 and r.json()["allowed_next"] == ["home-visits"], r.text
    for name in ("plain", "separate"):
        case = (await eligibility.get(f"/cases/{ids[name]}", headers=approver)).json()
        assert "home-visits" in case["next_steps"]  # optional on a plain case: allowed, not listed
    visit = {"on": str(BASE), "investigators": ["王", "赵"], "findings": "核实无误"}
    r = await eligibility.post(f"/cases/{ids['plain']}/home-visits", json=visit, headers=clerk)
    assert r.status_code == 200, r.text
    assert await walk(eligibility, "/tasks", clerk) == []
