"""Every list of the four services under the one convention (shared/pagination.py), on real PostgreSQL: walked to
its last row in pages, each row exactly once and in the list's order; filters narrow; a cursor of another list or
an edited one is a 422 naming `cursor`; a township's official never pages into another township; and each page
is read from an index (EXPLAIN of the statement the repository runs, on 20,000 rows ANALYZEd)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import get_args

import pytest
from sqlalchemy import text

from services.intake.applications.schemas import ApplicationStatus
from shared.core.identity import id_fingerprint
from shared.core.period import Period, china_today
from shared.settings import ServiceSettings
from tests.conftest import bearer
from tests.helpers import problem, resident_id, walk
from tests.lists_kit import seed_lists, township
from tests.plans_kit import nodes, show, statement_plans

pytestmark = pytest.mark.integration

COUNTY, BIG = "610628", "610629"  # counties no other test uses
N = 130  # rows per list: 15 pages of 9
PII_KEY = ServiceSettings().pii_hmac_key.encode()  # the services' key in the test environment

# list → (service, path, params, the SQL of its rows in its order; :p is the county's prefix, :batch the batch)
LISTS = {
    "cases": (
        "eligibility",
        "/cases",
        {},
        "SELECT id FROM eligibility.cases WHERE region_code LIKE :p ORDER BY opened_on, id",
    ),
    "deadlines": (
        "eligibility",
        "/cases/deadlines",
        {"within_workdays": 0},
        "SELECT id FROM eligibility.cases WHERE region_code LIKE :p AND status = 'investigation' "
        "AND due_date <= CURRENT_DATE ORDER BY due_date, id",
    ),
    "reviews-due": (
        "eligibility",
        "/cases/reviews-due",
        {"within_days": 0},
        "SELECT id FROM eligibility.cases WHERE region_code LIKE :p AND status = 'approved' "
        "AND next_review_on <= CURRENT_DATE ORDER BY next_review_on, id",
    ),
    "beneficiaries": (
        "payments",
        "/beneficiaries",
        {},
        "SELECT id FROM payments.beneficiaries WHERE region_code LIKE :p ORDER BY created_at, id",
    ),
    "batches": (
        "payments",
        "/batches",
        {},
        "SELECT id FROM payments.batches WHERE region_code LIKE :p ORDER BY created_at DESC, id DESC",
    ),
    "lines": (
        "payments",
        "/batches/{batch}/lines",
        {},
        "SELECT id FROM payments.payment_lines WHERE batch_id = :batch ORDER BY id",
    ),
    "overpayments": (
        "payments",
        "/overpayments",
        {},
        "SELECT id FROM payments.overpayments WHERE region_code LIKE :p ORDER BY id",
    ),
    "households": (
        "intake",
        "/households",
        {},
        "SELECT id FROM intake.households WHERE region_code LIKE :p ORDER BY created_at DESC, id DESC",
    ),
    "applications": (
        "intake",
        "/applications",
        {},
        "SELECT id FROM intake.applications WHERE region_code LIKE :p ORDER BY created_at DESC, id DESC",
    ),
    "drafts": (
        "intake",
        "/application-drafts",
        {},
        "SELECT id FROM intake.application_drafts WHERE region_code LIKE :p ORDER BY created_at, id",
    ),
    "alerts": (
        "monitoring",
        "/alerts",
        {},
        "SELECT id FROM monitoring.alerts WHERE region_code LIKE :p ORDER BY created_at DESC, id DESC",
    ),
    "alerts-overdue": (
        "monitoring",
        "/alerts/overdue",
        {},
        "SELECT id FROM monitoring.alerts WHERE region_code LIKE :p AND status <> 'closed' "
        "AND due_date < CURRENT_DATE ORDER BY due_date, id",
    ),
}


def official(region: str) -> dict[str, str]:
    return bearer(f"approver-{region}", ["county_approver"], region)


@pytest.fixture(scope="module")
async def seeded(db):
    return await seed_lists(db, COUNTY, N)


async def expected(db, sql: str, prefix: str, batch) -> list[str]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(sql), {"p": prefix + "%", "batch": batch} if ":batch" in sql else {"p": prefix + "%"}
        )
        return [str(r[0]) for r in rows]


@pytest.mark.parametrize("name", LISTS)
async def test_every_list_is_walked_to_its_last_row_each_row_once_in_order(api, db, seeded, name):
    service, path, params, sql = LISTS[name]
    path = path.format(batch=seeded.batch_id)
    want = await expected(db, sql, COUNTY, seeded.batch_id)
    assert len(want) > 9  # more than one page
    got = [str(item["id"]) for item in await walk(api(service), path, official(COUNTY), params, limit=9)]
    assert got == want  # none missed, none repeated, the list's order
    first = (await api(service).get(path, params={**params, "limit": 9}, headers=official(COUNTY))).json()
    assert first["total"] == len(want) and len(first["items"]) == 9 and first["next"]
    last = (await api(service).get(path, params={**params, "limit": len(want)}, headers=official(COUNTY))).json()
    assert last["next"] is None and len(last["items"]) == len(want)


@pytest.mark.parametrize("name", [n for n in LISTS if n != "lines"])
async def test_a_township_official_never_pages_into_another_township(api, db, seeded, name):
    service, path, params, sql = LISTS[name]
    own, other = township(COUNTY, 1), township(COUNTY, 2)
    want = await expected(db, sql, own, seeded.batch_id)
    got = await walk(api(service), path, official(own), params, limit=9)
    assert [str(i["id"]) for i in got] == want and all(i["region_code"].startswith(own) for i in got)
    # Asking for the other township: nothing, not a wider scope.
    r = await api(service).get(path, params={**params, "region": other}, headers=official(own))
    assert r.status_code == 200 and r.json() == {**r.json(), "items": [], "next": None, "total": 0}
    # The county narrows itself to a township with `region`.
    narrowed = await walk(api(service), path, official(COUNTY), {**params, "region": other}, limit=9)
    assert [str(i["id"]) for i in narrowed] == await expected(db, sql, other, seeded.batch_id)


# Every list that takes `region`: those above (a batch's lines have none) and the other lists of the four services.
REGION_LISTS = {
    **{name: (service, path, params) for name, (service, path, params, _) in LISTS.items() if name != "lines"},
    "tasks": ("eligibility", "/tasks", {}),
    "changes": ("payments", "/statistics/changes", {"period": "2024-01"}),
    "alerts-due-soon": ("monitoring", "/alerts/due-soon", {}),
}
# Not a GB/T 2260 code (2, 4, 6, 9 or 12 ASCII digits): a township's code with a digit more or less, a cut village
# code, a county's with a digit short, full-width digits.
NO_REGION = ("6106281", "61062810", "6106281012", "61062", "６１０６２８", "６１０６２８１０１")


@pytest.mark.parametrize("name", REGION_LISTS)
async def test_a_region_that_is_no_code_is_a_422_naming_region_on_every_list(api, seeded, name):
    """A malformed `region` is refused, not read as a prefix of the region codes (6106281 would list the
    households of two townships, 610628101 and 610628102, as one) and the answer names `region`."""
    service, path, params = REGION_LISTS[name]
    for bad in NO_REGION:
        r = await api(service).get(path, params={**params, "region": bad}, headers=official(COUNTY))
        problem(r, 422, "query.region")
    for good in (township(COUNTY, 1), COUNTY):
        r = await api(service).get(path, params={**params, "region": good}, headers=official(COUNTY))
        assert r.status_code == 200, (good, r.text)
        assert all(i["region_code"].startswith(good) for i in r.json()["items"])
    if name == "households":  # the former name of `region`, still read, is the same code
        for bad in NO_REGION:
            r = await api(service).get(path, params={"region_code": bad}, headers=official(COUNTY))
            problem(r, 422, "query.region_code")


async def test_applications_are_narrowed_by_every_status_an_application_can_have(api, db, seeded):
    """`status` takes each status an application shows: a withdrawal waiting for eligibility's answer
    (withdrawal_requested) and an application of the county's imported roll (imported) as well as the others."""
    statuses = get_args(ApplicationStatus)
    assert {"submitted", "in_review", "withdrawal_requested", "approved", "rejected", "withdrawn"} < set(statuses)
    assert "imported" in statuses
    sql = (
        "SELECT id FROM intake.applications WHERE region_code LIKE :p AND status = '{}' "
        "ORDER BY created_at DESC, id DESC"
    )
    async with db.begin() as conn:  # the seeded applications take each status in turn
        await conn.execute(
            text(
                "UPDATE intake.applications a SET status = (CAST(:s AS text[]))[CAST(1 + n.i % :k AS integer)] "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM intake.applications "
                "WHERE region_code LIKE :p) n WHERE a.id = n.id"
            ),
            {"s": list(statuses), "k": len(statuses), "p": COUNTY + "%"},
        )
    try:
        for status in statuses:
            want = await expected(db, sql.format(status), COUNTY, None)
            got = await walk(api("intake"), "/applications", official(COUNTY), {"status": status}, limit=9)
            assert [a["id"] for a in got] == want and want, status
            assert {a["status"] for a in got} == {status}
        problem(
            await api("intake").get("/applications", params={"status": "paid"}, headers=official(COUNTY)),
            422,
            "query.status",
        )
    finally:
        async with db.begin() as conn:
            await conn.execute(
                text("UPDATE intake.applications SET status = 'submitted' WHERE region_code LIKE :p"),
                {"p": COUNTY + "%"},
            )


async def test_filters_narrow_the_lists(api, db, seeded):
    cases = await walk(api("eligibility"), "/cases", official(COUNTY), {"status": "approved", "programme": "tekun"})
    want = await expected(
        db,
        "SELECT id FROM eligibility.cases WHERE region_code LIKE :p AND status = 'approved' AND programme = 'tekun' "
        "ORDER BY opened_on, id",
        COUNTY,
        None,
    )
    assert [c["id"] for c in cases] == want and want
    due = await walk(api("eligibility"), "/cases", official(COUNTY), {"due_before": "2020-01-05"})
    assert [c["id"] for c in due] == await expected(
        db,
        "SELECT id FROM eligibility.cases WHERE region_code LIKE :p AND status = 'investigation' "
        "AND due_date < '2020-01-05' ORDER BY due_date, id",
        COUNTY,
        None,
    )
    stopped = await walk(api("payments"), "/beneficiaries", official(COUNTY), {"status": "stopped"})
    assert len(stopped) == N // 5 and {b["status"] for b in stopped} == {"stopped"}
    failed = await walk(api("payments"), f"/batches/{seeded.batch_id}/lines", official(COUNTY), {"status": "failed"})
    assert len(failed) == N // 5 and {x["status"] for x in failed} == {"failed"}
    wang = await walk(api("intake"), "/households", official(COUNTY), {"name": "王"})
    assert [h["id"] for h in wang] == await expected(
        db,
        "SELECT h.id FROM intake.households h WHERE region_code LIKE :p AND EXISTS (SELECT 1 FROM intake.members m "
        "WHERE m.household_id = h.id AND m.name LIKE '王%') ORDER BY created_at DESC, id DESC",
        COUNTY,
        None,
    )
    assert 0 < len(wang) < N


async def test_overpayments_are_narrowed_by_household_programme_status_and_township(api, db, seeded):
    """多发待追回 as finance works through them: one household's, a programme's, the open ones, a township's."""
    sql = "SELECT id FROM payments.overpayments WHERE region_code LIKE :p AND {} ORDER BY id"
    async with db.connect() as conn:
        household, village = (
            await conn.execute(
                text(
                    "SELECT household_id, region_code FROM payments.overpayments WHERE region_code LIKE :p "
                    "ORDER BY id LIMIT 1"
                ),
                {"p": COUNTY + "%"},
            )
        ).one()
    for params, where in (
        ({"household_id": str(household)}, f"household_id = '{household}'"),
        ({"programme": "tekun"}, "programme = 'tekun'"),
        ({"status": "open"}, "status = 'open'"),
        ({"status": "closed", "programme": "dibao"}, "status = 'closed' AND programme = 'dibao'"),
        ({"region": township(COUNTY, 2), "status": "open"}, "status = 'open'"),
    ):
        want = await expected(db, sql.format(where), params.get("region", COUNTY), None)
        got = await walk(api("payments"), "/overpayments", official(COUNTY), params, limit=4)
        assert [str(o["id"]) for o in got] == want and len(want) > 4, params
        first = await api("payments").get("/overpayments", params={**params, "limit": 4}, headers=official(COUNTY))
        assert first.json()["total"] == len(want)
    # The household's township sees its rows; the other township's officer asking for it sees nothing.
    own = village[:9]
    other = township(COUNTY, 1) if own == township(COUNTY, 2) else township(COUNTY, 2)

    async def audited() -> int:
        async with db.connect() as conn:
            return await conn.scalar(
                text("SELECT count(*) FROM payments.audit_log WHERE action = 'overpayment.list' AND household_id = :h"),
                {"h": household},
            )

    before = await audited()
    theirs = await walk(api("payments"), "/overpayments", official(own), {"household_id": str(household)})
    assert len(theirs) == 5 and {o["household_id"] for o in theirs} == {str(household)}
    r = await api("payments").get("/overpayments", params={"household_id": str(household)}, headers=official(other))
    assert r.status_code == 200 and r.json() == {"items": [], "next": None, "total": 0}
    # Each read of the household's money is audited with the household: a row per overpayment shown, none for the
    # other township's empty page.
    assert await audited() - before == 5


async def test_a_bad_cursor_or_filter_of_the_overpayments_is_a_422_naming_it(api, seeded):
    pay = api("payments")
    first = (await pay.get("/overpayments", params={"limit": 9}, headers=official(COUNTY))).json()
    cursor = first["next"]
    for bad in (cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB"), cursor[:12], "not-a-cursor"):
        problem(await pay.get("/overpayments", params={"cursor": bad}, headers=official(COUNTY)), 422, "cursor")
    batches = (await pay.get("/batches", params={"limit": 9}, headers=official(COUNTY))).json()
    body = problem(
        await pay.get("/overpayments", params={"cursor": batches["next"]}, headers=official(COUNTY)), 422, "cursor"
    )
    assert "another list" in json.dumps(body, ensure_ascii=False)
    for field, value in (
        ("status", "paid"),
        ("programme", "pension"),
        ("household_id", "not-a-uuid"),
        ("region", "61062810x"),
        ("limit", 501),
    ):
        problem(await pay.get("/overpayments", params={field: value}, headers=official(COUNTY)), 422, f"query.{field}")


async def test_application_drafts_are_narrowed_by_household_programme_status_and_township(api, db, seeded):
    """申请草稿 as the front desk works through them: the ones still to complete (no application for the household
    and programme received since the verification), those of a programme, of one household, of a village."""
    sql = "SELECT d.id FROM intake.application_drafts d WHERE region_code LIKE :p AND {} ORDER BY created_at, id"
    done = (
        "EXISTS (SELECT 1 FROM intake.applications a WHERE a.household_id = d.household_id "
        "AND a.programme = d.programme AND a.submitted_on >= d.verified_on)"
    )
    async with db.connect() as conn:
        household, village = (
            await conn.execute(
                text(
                    "SELECT household_id, region_code FROM intake.application_drafts WHERE region_code LIKE :p "
                    "ORDER BY created_at, id LIMIT 1"
                ),
                {"p": COUNTY + "%"},
            )
        ).one()
    for params, where in (
        ({"status": "to_complete"}, f"NOT {done}"),
        ({"status": "completed"}, done),
        ({"programme": "medical"}, "programme = 'medical'"),
        ({"region": village, "status": "to_complete"}, f"NOT {done}"),
    ):
        want = await expected(db, sql.format(where), params.get("region", COUNTY), None)
        got = await walk(api("intake"), "/application-drafts", official(COUNTY), params, limit=4)
        assert [d["id"] for d in got] == want and len(want) > 4, params
        assert all(d["status"] == params.get("status", d["status"]) for d in got)
        first = await api("intake").get("/application-drafts", params={**params, "limit": 4}, headers=official(COUNTY))
        assert first.json()["total"] == len(want)
    mine = await walk(api("intake"), "/application-drafts", official(village[:9]), {"household_id": str(household)})
    assert [d["household_id"] for d in mine] == [str(household)]
    other = township(COUNTY, 1) if village.startswith(township(COUNTY, 2)) else township(COUNTY, 2)
    r = await api("intake").get("/application-drafts", params={"household_id": str(household)}, headers=official(other))
    assert r.status_code == 200 and r.json() == {"items": [], "next": None, "total": 0}


async def test_a_bad_cursor_or_filter_of_the_application_drafts_is_a_422_naming_it(api, seeded):
    intake = api("intake")
    first = (await intake.get("/application-drafts", params={"limit": 9}, headers=official(COUNTY))).json()
    cursor = first["next"]
    for bad in (cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB"), cursor[:12], "not-a-cursor"):
        problem(
            await intake.get("/application-drafts", params={"cursor": bad}, headers=official(COUNTY)), 422, "cursor"
        )
    households = (await intake.get("/households", params={"limit": 9}, headers=official(COUNTY))).json()
    body = problem(
        await intake.get("/application-drafts", params={"cursor": households["next"]}, headers=official(COUNTY)),
        422,
        "cursor",
    )
    assert "another list" in json.dumps(body, ensure_ascii=False)
    for field, value in (
        ("status", "open"),
        ("programme", "pension"),
        ("household_id", "not-a-uuid"),
        ("region", "61062810x"),
        ("limit", 501),
    ):
        r = await intake.get("/application-drafts", params={field: value}, headers=official(COUNTY))
        problem(r, 422, f"query.{field}")


async def test_a_person_is_found_by_id_number_through_its_fingerprint_only(api, db, seeded):
    number = resident_id(area=COUNTY)
    async with db.begin() as conn:
        household = await conn.scalar(
            text(
                "UPDATE intake.members SET id_fingerprint = :f WHERE id = (SELECT m.id FROM intake.members m "
                "JOIN intake.households h ON h.id = m.household_id WHERE h.region_code LIKE :p LIMIT 1) "
                "RETURNING household_id"
            ),
            {"f": id_fingerprint(number, PII_KEY), "p": COUNTY + "%"},
        )
        alert_household = await conn.scalar(
            text("SELECT household_id FROM monitoring.alerts WHERE region_code LIKE :p LIMIT 1"), {"p": COUNTY + "%"}
        )
        await conn.execute(
            text("INSERT INTO monitoring.persons VALUES (:f, gen_random_uuid(), :h)"),
            {"f": id_fingerprint(number, PII_KEY), "h": alert_household},
        )
    by_id = {**official(COUNTY), "X-Id-Number": number}
    found = (await api("intake").get("/households", headers=by_id)).json()
    assert [h["id"] for h in found["items"]] == [str(household)] and found["total"] == 1
    applications = (await api("intake").get("/applications", headers=by_id)).json()["items"]
    assert {a["household_id"] for a in applications} == {str(household)} and len(applications) == 1
    alerts = (await api("monitoring").get("/alerts", headers=by_id)).json()["items"]
    assert {a["household_id"] for a in alerts} == {str(alert_household)}
    bad = {**official(COUNTY), "X-Id-Number": number[:-1] + ("0" if number[-1] != "0" else "1")}
    problem(await api("intake").get("/households", headers=bad), 422, "header.X-Id-Number")
    async with db.connect() as conn:  # the number is in no audit record
        logged = await conn.scalar(
            text("SELECT count(*) FROM intake.audit_log WHERE details::text LIKE :n"), {"n": f"%{number}%"}
        )
    assert logged == 0


async def test_a_cursor_of_another_list_or_edited_is_refused(api, seeded):
    cases = api("eligibility")
    first = (await cases.get("/cases", params={"limit": 9}, headers=official(COUNTY))).json()
    cursor = first["next"]
    edited = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    for bad in (edited, cursor[:12], "not-a-cursor", "$$$"):
        problem(await cases.get("/cases", params={"cursor": bad}, headers=official(COUNTY)), 422, "cursor")
    body = problem(
        await cases.get("/cases/deadlines", params={"cursor": cursor}, headers=official(COUNTY)), 422, "cursor"
    )
    assert "another list" in json.dumps(body, ensure_ascii=False)
    households = (await api("intake").get("/households", params={"limit": 9}, headers=official(COUNTY))).json()
    problem(
        await api("monitoring").get("/alerts", params={"cursor": households["next"]}, headers=official(COUNTY)),
        422,
        "cursor",
    )
    problem(await cases.get("/cases", params={"limit": 501}, headers=official(COUNTY)), 422, "query.limit")
    again = (await cases.get("/cases", params={"limit": 9, "cursor": cursor}, headers=official(COUNTY))).json()
    assert again["items"][0]["id"] not in {c["id"] for c in first["items"]}


def _resigned_total(cursor: str, total: int) -> str:
    """The cursor with another total in its payload, its signature kept: what an edited cursor looks like."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    head, payload = raw[:28], json.loads(raw[28:])
    payload[1] = total
    edited = head + json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(edited).rstrip(b"=").decode()


async def test_a_cursor_carries_no_total_into_another_callers_walk(api, seeded):
    """Review finding: a `next` cursor of a national admin's household list (its total) used by a clerk of one
    township answered the admin's total with the clerk's rows. A cursor belongs to the walk it was given in: the
    endpoint, the filters and the caller's region."""
    intake = api("intake")
    national = bearer("admin-national", ["admin"], "national")
    first = (await intake.get("/households", params={"limit": 1}, headers=national)).json()
    assert first["next"]
    clerk = bearer("clerk-lists", ["clerk"], township(COUNTY, 1))
    body = problem(
        await intake.get("/households", params={"limit": 1, "cursor": first["next"]}, headers=clerk), 422, "cursor"
    )
    assert "another walk" in json.dumps(body, ensure_ascii=False)
    # Its own walk is its own total, page after page.
    own = (await intake.get("/households", params={"limit": 1}, headers=clerk)).json()
    again = (await intake.get("/households", params={"limit": 1, "cursor": own["next"]}, headers=clerk)).json()
    assert own["total"] == again["total"] == N // 2
    # The total cannot be written into a cursor: the signature covers it.
    for total in (0, 9, 10_000):
        edited = _resigned_total(own["next"], total)
        body = problem(await intake.get("/households", params={"cursor": edited}, headers=clerk), 422, "cursor")
        assert "altered" in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("name", LISTS)
async def test_a_cursor_is_refused_in_another_walk(api, seeded, name):
    """Each list's cursor, used by an official of another region, with another filter, or without its filter: 422."""
    service, path, params, _ = LISTS[name]
    path = path.format(batch=seeded.batch_id)
    client = api(service)
    first = (await client.get(path, params={**params, "limit": 9}, headers=official(COUNTY))).json()
    cursor = first["next"]
    assert cursor
    for headers, asked in (
        (official(township(COUNTY, 1)), params),  # another caller's region
        (bearer(f"finance-{COUNTY}", ["finance", "county_approver"], COUNTY), params),  # other roles
        (official(COUNTY), {**params, "region": township(COUNTY, 2)}),  # another filter
        (official(COUNTY), {**params, "limit": 9, "programme": "dibao"} if name != "lines" else {"status": "paid"}),
    ):
        r = await client.get(path, params={**asked, "cursor": cursor}, headers=headers)
        if name == "lines" and r.status_code == 404:
            continue  # the batch is of the other township: not found for this caller, cursor or not
        assert "another walk" in json.dumps(problem(r, 422, "cursor"), ensure_ascii=False)
    if params:  # a filter dropped
        problem(await client.get(path, params={"cursor": cursor}, headers=official(COUNTY)), 422, "cursor")
    # The same walk by another official of the same region and role, with another page length, goes on.
    colleague = bearer("colleague", ["county_approver"], COUNTY)
    r = await client.get(path, params={**params, "limit": 5, "cursor": cursor}, headers=colleague)
    assert r.status_code == 200 and r.json()["total"] == first["total"], r.text


# The lists of records of households (`shared.audit.record` with the page's rows, as intake's household list): a
# page read leaves one audit row per record shown, naming its household and region, in one statement.
AUDITED = {
    "cases": "case.list",
    "deadlines": "case.deadlines",
    "reviews-due": "case.reviews_due",
    "beneficiaries": "beneficiary.list",
    "lines": "batch.lines",
    "overpayments": "overpayment.list",
    "households": "household.list",
    "applications": "application.list",
    "drafts": "application_draft.list",
    "alerts": "alert.list",
    "alerts-overdue": "alert.list",
}


@pytest.mark.parametrize("name", AUDITED)
async def test_a_page_read_audits_each_household_record_it_shows(api, db, seeded, name):
    service, path, params, _ = LISTS[name]
    sub = f"audit-probe-{name}"
    r = await api(service).get(
        path.format(batch=seeded.batch_id),
        params={**params, "limit": 9},
        headers=bearer(sub, ["county_approver"], COUNTY),
    )
    items = r.json()["items"]
    assert r.status_code == 200 and len(items) == 9, r.text
    shown = sorted((str(i["id"] if name == "households" else i["household_id"]), i["region_code"]) for i in items)
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(f"SELECT action, household_id::text, region_code FROM {service}.audit_log WHERE actor = :a"),
                {"a": sub},
            )
        ).all()
    assert sorted((h, region) for _, h, region in rows) == shown
    assert {action for action, *_ in rows} == {AUDITED[name]}


# --- each page from an index ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def big(db):
    return await seed_lists(db, BIG, 20_000, ties=20)


async def _page_plans(db, call) -> list[dict]:
    """The plans of the page statements `call(session)` runs: its first statement and, for a cursor's page, the
    same again — every statement but the bounded count."""
    return await statement_plans(db, call, keep=lambda s: "count(*)" not in s)


def _calls():
    from services.eligibility.cases.repository import CaseRepository
    from services.eligibility.cases.schemas import CaseQuery
    from services.eligibility.cases.workflow import Worklist
    from services.intake.applications.repository import ApplicationRepository
    from services.intake.applications.schemas import ApplicationQuery
    from services.intake.drafts.repository import DraftRepository
    from services.intake.drafts.schemas import DraftQuery
    from services.intake.households.repository import HouseholdRepository
    from services.intake.households.schemas import HouseholdQuery
    from services.monitoring.alerts.repository import AlertRepository
    from services.monitoring.alerts.schemas import AlertQuery
    from services.payments.batches.repository import BatchRepository
    from services.payments.batches.schemas import BatchQuery
    from services.payments.roll.repository import BeneficiaryRepository
    from services.payments.roll.schemas import BeneficiaryQuery

    soon = china_today() + timedelta(days=1)
    worklist = Worklist.of(frozenset({"county_approver"}))
    return {
        "cases": ("cases", lambda s, c: CaseRepository(s).page(BIG, CaseQuery(cursor=c))),
        "cases?status": ("cases", lambda s, c: CaseRepository(s).page(BIG, CaseQuery(status="approved", cursor=c))),
        "deadlines": ("cases", lambda s, c: CaseRepository(s).page(BIG, CaseQuery(due_before=soon, cursor=c))),
        "reviews-due": ("cases", lambda s, c: CaseRepository(s).page(BIG, CaseQuery(review_due_before=soon, cursor=c))),
        "tasks": ("cases", lambda s, c: CaseRepository(s).page(BIG, CaseQuery(cursor=c), worklist=worklist)),
        "beneficiaries": ("beneficiaries", lambda s, c: BeneficiaryRepository(s).page(BIG, BeneficiaryQuery(cursor=c))),
        "batches": ("batches", lambda s, c: BatchRepository(s).page(BIG, BatchQuery(cursor=c), None)),
        "households": ("households", lambda s, c: HouseholdRepository(s).page(BIG, HouseholdQuery(cursor=c), None)),
        "applications": (
            "applications",
            lambda s, c: ApplicationRepository(s).page(BIG, ApplicationQuery(cursor=c), None),
        ),
        "drafts": ("application_drafts", lambda s, c: DraftRepository(s).page(BIG, DraftQuery(cursor=c))),
        "drafts?status": (
            "application_drafts",
            lambda s, c: DraftRepository(s).page(BIG, DraftQuery(status="to_complete", cursor=c)),
        ),
        "alerts": ("alerts", lambda s, c: AlertRepository(s).page(BIG, AlertQuery(cursor=c))),
        "alerts-due": ("alerts", lambda s, c: AlertRepository(s).page(BIG, AlertQuery(due_before=soon, cursor=c))),
    }


@pytest.mark.parametrize("name", list(_calls()))
async def test_each_page_is_read_from_an_index_not_a_scan_of_the_table(db, big, name):
    table, call = _calls()[name]
    holder: dict = {}

    async def first(session):
        holder["page"] = await call(session, None)

    await _page_plans(db, first)
    cursor = holder["page"].next
    assert cursor, "the seeded table holds more than a page"

    async def deep(session):  # a page after a cursor: the range condition on the index
        await call(session, cursor)

    for plan in await _page_plans(db, deep):
        scans = [n for n in nodes(plan) if n.get("Relation Name") == table]
        assert scans and all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), show(scans)
        assert all(n.get("Index Name", "").endswith("_id") for n in scans), show(scans)
        assert not any("Sort" in n["Node Type"] for n in nodes(plan)), plan  # the index gives the order


async def test_the_batch_lines_page_is_read_from_its_index(db, big):
    from services.payments.batches.repository import BatchRepository
    from services.payments.batches.schemas import LineQuery

    first = {}

    async def call(session):
        first["page"] = await BatchRepository(session).lines(big.batch_id, LineQuery(cursor=first.get("cursor")))

    await _page_plans(db, call)
    first["cursor"] = first["page"].next
    for plan in await _page_plans(db, call):
        scans = [n for n in nodes(plan) if n.get("Relation Name") == "payment_lines"]
        # One batch holds the table's lines here, so the primary key (id order, batch_id filtered) serves as well.
        assert scans and all(n["Node Type"] == "Index Scan" for n in scans), show(scans)
        assert not any("Sort" in n["Node Type"] for n in nodes(plan)), plan


async def test_a_months_changes_are_found_from_the_month_not_by_reading_the_roll(db, big):
    """增减变动 of a month starts from the month's changes (the rows of what is owed starting or ending then, each
    by its index): a quiet month of a large roll (every seeded beneficiary joined in January 2024, nobody changed in
    February) is answered without reading the roll or all it is owed."""
    from services.payments.statistics.repository import StatisticsRepository
    from services.payments.statistics.schemas import ChangeQuery

    february = Period(2024, 2)

    async def call(session):
        page = await StatisticsRepository(session).changes(BIG, february, ChangeQuery(period=str(february)))
        assert page.rows == []

    for plan in await statement_plans(db, call):
        scanned = {n.get("Relation Name"): n["Node Type"] for n in nodes(plan) if n.get("Relation Name")}
        assert "owed" in scanned and "Seq Scan" not in scanned.values(), show(nodes(plan))


async def test_the_overpayments_page_is_read_from_an_index_whole_or_of_one_household(db, big):
    """A region's overpayments page by id on the primary key; one household's by its (household_id, id) index."""
    from services.payments.recovery.repository import RecoveryRepository
    from services.payments.recovery.schemas import OverpaymentQuery

    async with db.connect() as conn:
        household = await conn.scalar(
            text("SELECT household_id FROM payments.overpayments WHERE region_code LIKE :p LIMIT 1"), {"p": BIG + "%"}
        )
    for query, index in (
        (OverpaymentQuery(limit=9), "pk_overpayments"),
        (OverpaymentQuery(limit=2, household_id=household), "ix_overpayments_household_id"),
    ):
        holder: dict = {}

        async def call(session, query=query, holder=holder):
            page = await RecoveryRepository(session).page(BIG, query.model_copy(update={"cursor": holder.get("c")}))
            holder["c"] = page.next

        await _page_plans(db, call)
        assert holder["c"], "more than a page"
        for plan in await _page_plans(db, call):  # a page after a cursor: a range of the index
            scans = [n for n in nodes(plan) if n.get("Relation Name") == "overpayments"]
            assert scans and all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), show(scans)
            assert {n["Index Name"] for n in scans} == {index}, show(scans)
            assert not any("Sort" in n["Node Type"] for n in nodes(plan)), plan


async def test_a_feeds_error_report_page_is_read_from_its_index(db, big):
    """A feed's error report pages by (line, id) on ix_feed_errors_feed_id_line_id: a range of the feed's rows."""
    from services.monitoring.feeds.repository import FeedRepository
    from shared.pagination import ListQuery

    async with db.connect() as conn:
        feed = await conn.scalar(text("SELECT id FROM monitoring.feeds WHERE region_code = :c"), {"c": BIG})
    holder: dict = {}

    async def call(session):
        page = await FeedRepository(session).errors(feed, ListQuery(limit=9, cursor=holder.get("c")))
        holder["c"] = page.next

    await _page_plans(db, call)
    assert holder["c"], "more than a page"
    for plan in await _page_plans(db, call):  # a page after a cursor: a range of the index
        scans = [n for n in nodes(plan) if n.get("Relation Name") == "feed_errors"]
        assert scans and all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), show(scans)
        assert {n["Index Name"] for n in scans} == {"ix_feed_errors_feed_id_line_id"}, show(scans)
        assert not any("Sort" in n["Node Type"] for n in nodes(plan)), plan
