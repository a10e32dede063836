"""Monitoring through its API on the real PostgreSQL: partner feeds streamed in and validated row by row, the
risk rules raising alerts for 吴起县 households known from intake's events, the township's verification, deaths
of recipients, late matching, idempotent re-posts and the monthly report."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import jwt
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from services.monitoring.alerts.repository import ALERTS
from services.monitoring.models import platform
from services.monitoring.readmodel.service import record_approval, record_approvals, record_household
from services.monitoring.risk.in_force import record_standard
from shared.consumer import Delivery
from shared.core.household import HouseholdSnapshot
from shared.core.identity import check_character, id_fingerprint
from shared.core.period import Period, china_today
from shared.db import session_factory
from shared.events.catalogue import (
    CaseApproved,
    HouseholdRegistered,
    HouseholdUpdated,
    MemberIdentity,
    StandardChanged,
    event_type,
)
from shared.events.envelope import DomainEvent
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import problem, resident_id, villages_loaded, walk

VILLAGE = "610626101201"  # 吴起县铁边城镇
TODAY = china_today()
MEDICAL_HEADER = "id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n"
KEY = ServiceSettings().pii_hmac_key.encode()

MEDICAL = bearer("yibao-wuqi", ["partner:medical_insurance"], "610626")
POLICE = bearer("gongan-wuqi", ["partner:public_security"], "610626")
RURAL = bearer("xczx-wuqi", ["partner:rural_revitalization"], "610626")
FUNERAL = bearer("binzang-wuqi", ["partner:funeral"], "610626")


def csv_type(charset: str = "utf-8") -> dict[str, str]:
    return {"Content-Type": f"text/csv; charset={charset}"}


@pytest.fixture
async def known_household(db):
    """A household as monitoring learns it from intake's event: 2 counted members, 600 yuan a month counted."""
    sessions = session_factory(db)

    async def make(
        ids: list[str] | None = None, income_fen: int = 60_000, region: str = VILLAGE, programme: str | None = None
    ) -> tuple[uuid.UUID, list[str], list[uuid.UUID]]:
        ids = ids or [resident_id("19600101"), resident_id("19620202", male=False)]
        member_ids = [uuid.uuid4() for _ in ids]
        snapshot = HouseholdSnapshot.model_validate(
            {
                "household_id": str(uuid.uuid4()),
                "region_code": region,
                "hukou_type": "rural",
                "members": [
                    {
                        "member_id": str(m),
                        "name": f"成员{i}",
                        "birth_date": "1960-01-01",
                        "sex": "male",
                        "relation": "head" if i == 0 else "spouse",
                    }
                    for i, m in enumerate(member_ids)
                ],
                "incomes": [
                    {"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": income_fen},
                    {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
                ],
            }
        )
        async with UnitOfWork(sessions, platform, "/tests") as uow:
            await record_household(
                uow,
                HouseholdRegistered(
                    household_id=snapshot.household_id,
                    region_code=region,
                    snapshot=snapshot,
                    identities=[
                        MemberIdentity(member_id=m, id_fingerprint=id_fingerprint(n, KEY))
                        for m, n in zip(member_ids, ids, strict=True)
                    ],
                ),
            )
            if programme:
                await record_approval(
                    uow,
                    CaseApproved(
                        case_id=uuid.uuid4(),
                        application_id=uuid.uuid4(),
                        household_id=snapshot.household_id,
                        programme=programme,
                        region_code=region,
                        member_ids=member_ids,
                        monthly_amount_fen=60_000,
                        effective_month=Period.of(TODAY),
                        decided_at="2023-01-01T00:00:00Z",
                    ),
                )
            await uow.commit()
        return snapshot.household_id, ids, member_ids

    return make


async def alerts_of(api, tokens, household_id) -> list[dict]:
    r = await api("monitoring").get("/alerts", params={"household_id": str(household_id)}, headers=tokens["approver"])
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_medical_feed_flags_the_household_and_reports_its_bad_rows(api, tokens, known_household, db):
    household, ids, _ = await known_household()
    good_id = ids[0]
    bad_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    body = (
        MEDICAL_HEADER
        + f"{good_id},610626101,{TODAY - timedelta(days=30)},3000000,1\n"
        + f"{bad_check},610626101,{TODAY - timedelta(days=30)},100,0\n"
        + f"{ids[1]},610626101,{TODAY - timedelta(days=20)},-5,0\n"
        + f"{ids[1]},610626101,{TODAY + timedelta(days=3)},100,0\n"
        + f"{ids[1]},999999,{TODAY - timedelta(days=3)},100,0\n"
        + f"{ids[1]},610626101,2024-13-01,100,0\n"
        + f"{ids[1]},610626101,{TODAY - timedelta(days=10)},12.50,0\n"
        + f"{ids[1]},610626101,{TODAY - timedelta(days=10)},500000,\n"
    )
    r = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    feed = r.json()
    assert (feed["status"], feed["rows_read"], feed["rows_loaded"], feed["rows_rejected"]) == ("loaded", 8, 2, 6)
    assert feed["alerts_raised"] >= 1

    errors = (await api("monitoring").get(feed["errors_url"], headers=MEDICAL)).json()["items"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "id_number"),
        (4, "out_of_pocket_fen"),
        (5, "settled_on"),
        (6, "region_code"),
        (7, "settled_on"),
        (8, "out_of_pocket_fen"),
    ]
    assert "check character" in errors[0]["message"] and "negative" in errors[1]["message"]
    assert all(good_id not in e["message"] and bad_check not in e["message"] for e in errors)

    # 35,000 yuan out of pocket in 12 months > half of 7,200 yuan annual income (and > 5,000 yuan).
    alerts = {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}
    medical = alerts["high_medical_cost"]
    assert medical["status"] == "dispatched" and medical["region_code"] == VILLAGE
    assert medical["trace"]["observed"] == {"out_of_pocket_12m_fen": 3_500_000, "annual_income_fen": 720_000}
    assert medical["trace"]["parameters"]["risk.medical.share_of_income"]["value"] == "0.5"
    assert medical["due_date"] > TODAY.isoformat()
    detail = (await api("monitoring").get(f"/alerts/{medical['id']}", headers=tokens["reviewer"])).json()
    assert sorted(e["line"] for e in detail["evidence"]) == [2, 9]
    # Its per-capita 300 yuan a month is below 1.5 × the 500 yuan 低保 standard and it receives nothing.
    assert alerts["low_income_uncovered"]["trace"]["observed"]["per_capita_annual_income_fen"] == 360_000

    # The same file again: the first result, nothing new.
    async with db.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM monitoring.feed_records"))).scalar()
    again = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert again.status_code == 200 and again.json()["id"] == feed["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM monitoring.feed_records"))).scalar() == before
        assert (
            await conn.execute(text("SELECT count(*) FROM monitoring.feeds WHERE sha256 = :s"), {"s": feed["sha256"]})
        ).scalar() == 1

    # A second bill adds evidence to the open alert rather than a second alert.
    more = MEDICAL_HEADER + f"{ids[1]},610626101,{TODAY - timedelta(days=5)},700000,0\n"
    r = await api("monitoring").post("/feeds/medical", content=more.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    again_alerts = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "high_medical_cost"]
    assert len(again_alerts) == 1
    detail = (await api("monitoring").get(f"/alerts/{medical['id']}", headers=tokens["reviewer"])).json()
    assert len(detail["evidence"]) == 3


async def test_medical_totals_add_earlier_feeds_bills_within_twelve_months(api, tokens, known_household):
    """The 12-month total counts the household's bills from earlier feeds too (not only the rows just posted),
    and only those of the last 365 days."""
    household, ids, _ = await known_household()

    def feed(*rows: tuple[str, int, int]) -> bytes:
        return (
            MEDICAL_HEADER + "".join(f"{i},610626101,{TODAY - timedelta(days=d)},{fen},0\n" for i, d, fen in rows)
        ).encode()

    # 3,000 yuan now and 9,000 yuan 400 days ago: under the 5,000-yuan floor within the year, no alert.
    r = await api("monitoring").post(
        "/feeds/medical", content=feed((ids[0], 40, 300_000), (ids[1], 400, 900_000)), headers={**MEDICAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    assert "high_medical_cost" not in {a["alert_type"] for a in await alerts_of(api, tokens, household)}

    # Another member's 2,500 yuan in a later feed: 5,500 yuan in 12 months, over the floor.
    r = await api("monitoring").post(
        "/feeds/medical", content=feed((ids[1], 10, 250_000)), headers={**MEDICAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    medical = {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}["high_medical_cost"]
    assert medical["trace"]["observed"]["out_of_pocket_12m_fen"] == 550_000
    detail = (await api("monitoring").get(f"/alerts/{medical['id']}", headers=tokens["reviewer"])).json()
    assert [e["line"] for e in detail["evidence"]] == [2]  # the evidence is the rows of the feed that tipped it


async def test_bills_posted_before_the_household_is_known_raise_the_alert_when_it_appears(api, tokens, known_household):
    """Rows of people no household lists yet are kept; the household's arrival runs the rules over them."""
    ids = [resident_id("19580303"), resident_id("19590404", male=False)]
    body = (
        MEDICAL_HEADER
        + f"{ids[0]},610626101,{TODAY - timedelta(days=50)},400000,0\n"
        + f"{ids[1]},610626101,{TODAY - timedelta(days=20)},200000,0\n"
    )
    r = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    assert (r.json()["rows_loaded"], r.json()["alerts_raised"]) == (2, 0)

    household, _, _ = await known_household(ids=ids)
    medical = {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}["high_medical_cost"]
    assert medical["trace"]["observed"]["out_of_pocket_12m_fen"] == 600_000
    detail = (await api("monitoring").get(f"/alerts/{medical['id']}", headers=tokens["reviewer"])).json()
    assert sorted(e["line"] for e in detail["evidence"]) == [2, 3]


async def test_all_or_nothing_gbk_json_lines_and_bad_files(api, known_household, db):
    _, ids, _ = await known_household()

    def medical(amount: str) -> str:
        return MEDICAL_HEADER + f"{ids[0]},610626101,{TODAY},100,否\n{ids[1]},610626101,{TODAY},{amount},否\n"

    body = medical("-1")
    r = await api("monitoring").post(
        "/feeds/medical",
        params={"mode": "all_or_nothing"},
        content=body.encode("gbk"),
        headers={**MEDICAL, **csv_type("gbk")},
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    feed_id = problem["feed_id"]
    assert problem["rows_rejected"] == 1
    async with db.connect() as conn:
        loaded = (
            await conn.execute(text("SELECT count(*) FROM monitoring.feed_records WHERE feed_id = :f"), {"f": feed_id})
        ).scalar()
    assert loaded == 0
    feed = (await api("monitoring").get(f"/feeds/{feed_id}", headers=MEDICAL)).json()
    assert (feed["status"], feed["rows_loaded"], feed["rows_rejected"]) == ("rejected", 0, 1)

    # GBK without saying so is recognised; JSON lines are accepted too.
    r = await api("monitoring").post(
        "/feeds/medical", content=medical("1").encode("gbk"), headers={**MEDICAL, "Content-Type": "text/csv"}
    )
    assert r.status_code == 201 and r.json()["rows_loaded"] == 2, r.text
    lines = (
        f'{{"id_number": "{ids[0]}", "region_code": "610626101", "settled_on": "{TODAY}", '
        f'"out_of_pocket_fen": 1234}}\n{{"id_number": "{ids[1]}", "region_code": "610626101"}}\n'
    )
    r = await api("monitoring").post(
        "/feeds/medical", content=lines.encode(), headers={**MEDICAL, "Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 201 and (r.json()["rows_loaded"], r.json()["rows_rejected"]) == (1, 1), r.text

    cases = [
        ({"Content-Type": "application/pdf"}, b"%PDF", 415),
        (csv_type(), b"name,id\nx,y\n", 422),
        (csv_type(), b"", 422),
        ({"Content-Type": "application/x-ndjson"}, b"[1,2]\n", 422),
        (csv_type(), b'id_number,region_code\n"unterminated\n', 422),
        (csv_type(), b"id_number\x00,region_code\n", 422),  # PostgreSQL text cannot hold NUL: refused whole
        ({"Content-Type": "application/x-ndjson"}, b'{"a\\u0000b": 1}\n', 422),
    ]
    for headers, content, status in cases:
        r = await api("monitoring").post("/feeds/medical", content=content, headers={**MEDICAL, **headers})
        assert r.status_code == status, (headers, content, r.text)
        assert r.headers["content-type"] == "application/problem+json"


async def test_partners_post_only_their_own_kinds_within_their_region(api):
    body = MEDICAL_HEADER.encode()
    r = await api("monitoring").post("/feeds/death", content=body, headers={**MEDICAL, **csv_type()})
    assert r.status_code == 403 and "medical" in r.json()["detail"]
    r = await api("monitoring").post(
        "/feeds/medical", params={"region": "610625"}, content=body, headers={**MEDICAL, **csv_type()}
    )
    assert r.status_code == 403
    r = await api("monitoring").post(
        "/feeds/medical", content=body, headers={**bearer("clerk", ["clerk"], "610626101"), **csv_type()}
    )
    assert r.status_code == 403
    # A row outside the partner's region is a per-row error, not a load.
    row = MEDICAL_HEADER + f"{resident_id()},610625101,{TODAY},100,0\n"
    r = await api("monitoring").post("/feeds/medical", content=row.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201 and r.json()["rows_rejected"] == 1
    # Another partner cannot read this feed.
    assert (await api("monitoring").get(f"/feeds/{r.json()['id']}", headers=POLICE)).status_code == 404


async def test_a_partner_reads_only_its_own_regions_feeds_and_bad_regions_are_422(api):
    row = MEDICAL_HEADER + f"{resident_id()},610626101,{TODAY},100,0\n"
    r = await api("monitoring").post("/feeds/medical", content=row.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    feed = r.json()["id"]
    assert (await api("monitoring").get(f"/feeds/{feed}", headers=MEDICAL)).status_code == 200
    ganquan = bearer("yibao-ganquan", ["partner:medical_insurance"], "610627")  # same agency, another county
    for path in (f"/feeds/{feed}", f"/feeds/{feed}/errors"):
        assert (await api("monitoring").get(path, headers=ganquan)).status_code == 404
    for region in ("00", "0612", "06", "61062", "６１０６２６", "٦١٠٦٢٦"):
        r = await api("monitoring").post(
            "/feeds/medical", params={"region": region}, content=row.encode(), headers={**MEDICAL, **csv_type()}
        )
        assert r.status_code == 422, (region, r.text)
        # a code of no valid length or of other digits than 0-9 (full-width, Arabic-Indic) fails the OpenAPI's
        # pattern (query.region), one with a leading 0 the check
        pattern = len(region) == 5 or not region.isascii()
        assert r.json()["errors"][0]["field"] == ("query.region" if pattern else "region"), region
    no_region = {"Authorization": "Bearer " + _unscoped_token(["partner:public_security"])}
    r = await api("monitoring").post("/feeds/death", content=b"x", headers={**no_region, **csv_type()})
    assert r.status_code == 401


async def test_a_feed_an_admin_posted_is_read_by_admins_and_officials_never_through_a_partner_role(api, tokens):
    """monitoring records a feed an admin posts as partner "admin": a `partner:admin` token passed as that
    agency and read it. `admin` is no agency: such a token posts nothing (403) and reads no feed (404)."""
    admin = bearer("admin-wuqi", ["admin"], "610626")
    bogus = bearer("not-an-agency", ["partner:admin"], "610626")
    body = DEATH_HEADER + f"{resident_id()},610626101,2020-01-01\n123,610626101,2020-01-01\n"
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**admin, **csv_type()})
    assert r.status_code == 201 and r.json()["rows_rejected"] == 1, r.text
    feed = r.json()["id"]
    for path in (f"/feeds/{feed}", f"/feeds/{feed}/errors"):
        assert (await api("monitoring").get(path, headers=bogus)).status_code == 404, path
        assert (await api("monitoring").get(path, headers=POLICE)).status_code == 404, path
        assert (await api("monitoring").get(path, headers=admin)).status_code == 200, path
        assert (await api("monitoring").get(path, headers=tokens["approver"])).status_code == 200, path
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**bogus, **csv_type()})
    assert r.status_code == 403, r.text
    # a real partner still posts and reads its own
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**POLICE, **csv_type()})
    assert r.status_code == 201, r.text
    for path in (f"/feeds/{r.json()['id']}", f"/feeds/{r.json()['id']}/errors"):
        assert (await api("monitoring").get(path, headers=POLICE)).status_code == 200, path
        assert (await api("monitoring").get(path, headers=bogus)).status_code == 404, path


async def test_a_feeds_error_report_is_a_list_walked_page_by_page_each_row_once_by_line(api):
    """The error report in the one list convention (shared/pagination.py): pages by cursor reach every row it holds
    once, by line; `total` counts the rows it holds and `rejected` all the feed rejected; a cursor edited or of
    another list, or a bad limit, is a 422 naming it; the feed's county official reads it, another county's partner
    does not."""
    lines = [f"{resident_id()},610626101,{TODAY},{'-' if n % 3 else ''}{n + 1},0\n" for n in range(35)]
    r = await api("monitoring").post(
        "/feeds/medical", content=(MEDICAL_HEADER + "".join(lines)).encode(), headers={**MEDICAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    feed = r.json()
    bad = [n + 2 for n in range(35) if n % 3]  # the header is line 1
    assert feed["rows_rejected"] == len(bad) == 23
    pages, cursor = [], None
    while True:
        r = await api("monitoring").get(
            feed["errors_url"], params={"limit": 5, **({"cursor": cursor} if cursor else {})}, headers=MEDICAL
        )
        assert r.status_code == 200, r.text
        pages.append(r.json())
        if (cursor := pages[-1]["next"]) is None:
            break
    assert len(pages) == 5 and all(len(p["items"]) == 5 for p in pages[:-1])
    assert [e["line"] for p in pages for e in p["items"]] == bad
    assert {(p["feed_id"], p["total"], p["rejected"]) for p in pages} == {(feed["id"], 23, 23)}
    assert {e["field"] for p in pages for e in p["items"]} == {"out_of_pocket_fen"}
    official = bearer("approver-wuqi", ["county_approver"], "610626")
    assert [e["line"] for e in await walk(api("monitoring"), feed["errors_url"], official)] == bad

    first = pages[0]["next"]
    for cursor in (first[:-3] + ("AAA" if first[-3:] != "AAA" else "BBB"), first[:12], "not-a-cursor"):
        r = await api("monitoring").get(feed["errors_url"], params={"cursor": cursor}, headers=MEDICAL)
        problem(r, 422, "cursor")
    alerts = ALERTS.encode((datetime.now(UTC), uuid.uuid4()))
    r = await api("monitoring").get(feed["errors_url"], params={"cursor": alerts}, headers=MEDICAL)
    assert "another list" in problem(r, 422, "cursor")["errors"][0]["message"]
    for limit in (0, 501):
        problem(
            await api("monitoring").get(feed["errors_url"], params={"limit": limit}, headers=MEDICAL),
            422,
            "query.limit",
        )
    ganquan = bearer("yibao-ganquan", ["partner:medical_insurance"], "610627")
    assert (await api("monitoring").get(feed["errors_url"], headers=ganquan)).status_code == 404


def _unscoped_token(roles: list[str]) -> str:
    """A correctly signed token that simply lacks the region claim."""
    return jwt.encode({"sub": "no-region", "roles": roles, "exp": int(time.time()) + 600}, DEV_JWT_SECRET, "HS256")


async def test_the_risk_rules_compare_incomes_with_the_standard_eligibility_decided(api, tokens, known_household, db):
    """Monitoring ships 吴起县's 低保 standards in its tree; a standard eligibility's admin decides afterwards
    (policy.standard_changed) is what the rules compare incomes with from then on: the trace of a household's
    low_income_uncovered alert names the decided value, its start and its reference, not the tree's. (The rural
    value decided here is the tree's 6000元/年 again from 2026, so no other test's threshold moves; a replayed event
    changes nothing; a key the rules do not read is not kept.)"""
    sessions = session_factory(db)
    reference = "吴起县民政局 2026 年农村低保标准 (test)"
    decided = [
        StandardChanged(
            region="610626",
            key="dibao.standard.rural",
            start=date(2026, 1, 1),
            value={"per": "year", "fen": 600_000},
            reference=reference,
        ),
        StandardChanged(region="610626", key="tekun.care.full_care", start=date(2026, 1, 1), value=1, reference="x"),
    ]
    for _ in range(2):  # the second time, as a replay
        async with UnitOfWork(sessions, platform, "/services/monitoring") as uow:
            for event in decided:
                await record_standard(uow, event)
            await uow.commit()
    async with db.connect() as conn:
        kept = await conn.scalar(text("SELECT count(*) FROM monitoring.decided_standards WHERE region = '610626'"))
    assert kept == 1
    household, ids, _ = await known_household(income_fen=60_000)  # 300 yuan a head a month: below 1.5 × 500
    row = MEDICAL_HEADER + f"{ids[0]},610626101,{TODAY - timedelta(days=5)},1000,0\n"
    r = await api("monitoring").post("/feeds/medical", content=row.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201 and r.json()["rows_loaded"] == 1, r.text
    alerts = {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}
    standard = alerts["low_income_uncovered"]["trace"]["parameters"]["dibao.standard.rural"]
    assert (standard["value"], standard["start"], standard["region"], standard["reference"]) == (
        600_000,
        "2026-01-01",
        "610626",
        reference,
    )


async def test_township_verifies_and_closes_an_alert_with_illegal_steps_refused(api, tokens, known_household, db):
    household, ids, _ = await known_household(income_fen=10_000)
    body = MEDICAL_HEADER + f"{ids[0]},610626101,{TODAY},6000000,1\n"
    r = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    alerts = {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}
    assert {"high_medical_cost", "sudden_hardship", "low_income_uncovered"} <= alerts.keys()
    alert = alerts["sudden_hardship"]
    monitoring = api("monitoring")

    r = await monitoring.post(f"/alerts/{alert['id']}/closure", json={}, headers=tokens["reviewer"])
    assert r.status_code == 409 and r.json()["allowed_next"] == ["verify"]
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification", json={"outcome": "brought_into_assistance"}, headers=tokens["reviewer"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "programme"
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification", json={"outcome": "not_eligible"}, headers=tokens["reviewer"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reasons"
    # 在保对象情况变化 asks eligibility to review the household's case: a household that receives nothing has none,
    # and the alert would close with neither assistance nor the reasons for refusing it.
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification", json={"outcome": "recipient_change"}, headers=tokens["reviewer"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "outcome", r.text
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "brought_into_assistance", "programme": "temporary"},
        headers=tokens["clerk"],
    )
    assert r.status_code == 403
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "brought_into_assistance", "programme": "temporary"},
        headers=bearer("reviewer-zhouwan", ["township_reviewer"], "610626102"),
    )
    assert r.status_code == 404
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "brought_into_assistance", "programme": "temporary", "note": "入户核实，因病支出大"},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["allowed_next"]) == ("verified", ["close"])
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "not_eligible", "reasons": ["income"]},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 409 and r.json()["allowed_next"] == ["close"]
    r = await monitoring.post(f"/alerts/{alert['id']}/closure", json={}, headers=tokens["reviewer"])
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await monitoring.post(f"/alerts/{alert['id']}/closure", json={}, headers=tokens["reviewer"])
    assert r.status_code == 409 and r.json()["allowed_next"] == []

    other = alerts["high_medical_cost"]
    r = await monitoring.post(
        f"/alerts/{other['id']}/verification",
        json={"outcome": "not_eligible", "reasons": ["income", "property"]},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 200 and r.json()["reasons"] == ["income", "property"]

    # One open alert comes due tomorrow, the other was due yesterday.
    low = alerts["low_income_uncovered"]
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE monitoring.alerts SET due_date = :d WHERE id = :i"),
            {"d": TODAY + timedelta(days=1), "i": low["id"]},
        )
        await conn.execute(
            text("UPDATE monitoring.alerts SET due_date = :d WHERE id = :i"),
            {"d": TODAY - timedelta(days=1), "i": other["id"]},
        )
    soon = await walk(monitoring, "/alerts/due-soon", tokens["reviewer"], {"region": "610626101"})
    overdue = await walk(monitoring, "/alerts/overdue", tokens["approver"])
    assert low["id"] in {a["id"] for a in soon} and other["id"] not in {a["id"] for a in soon}
    assert other["id"] in {a["id"] for a in overdue} and low["id"] not in {a["id"] for a in overdue}
    assert all(a["status"] != "closed" and a["overdue"] for a in overdue)
    elsewhere = await monitoring.get("/alerts/overdue", params={"region": "610625"}, headers=tokens["approver"])
    assert elsewhere.json()["items"] == []
    # Each alert shown is a read of its household's data: one audit row each, naming the household.
    for path, params in (("/alerts/due-soon", {"region": "610626101"}), ("/alerts/overdue", {}), ("/alerts", {})):
        sub = f"approver-audit{path.replace('/', '-')}"
        r = await monitoring.get(path, params=params, headers=bearer(sub, ["county_approver"], "610626"))
        assert r.status_code == 200 and r.json()["items"], r.text
        async with db.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT resource_id, household_id::text, region_code FROM monitoring.audit_log WHERE actor = :a"
                    ),
                    {"a": sub},
                )
            ).all()
        shown = sorted((a["id"], a["household_id"], a["region_code"]) for a in r.json()["items"])
        assert sorted(tuple(row) for row in rows) == shown, path


async def test_a_recipients_death_is_reported_and_a_late_household_is_matched(api, tokens, known_household, db):
    household, ids, members = await known_household(ids=[resident_id("19400505")], programme="dibao")
    died = TODAY.replace(day=1)
    body = f"id_number,region_code,death_date\n{ids[0]},610626101,{died}\n"
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**POLICE, **csv_type()})
    assert r.status_code == 201 and r.json()["alerts_raised"] == 1, r.text
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
    assert (alert["status"], alert["outcome"]) == ("closed", "death_reported")
    async with db.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT payload FROM monitoring.outbox WHERE type LIKE '%death.reported.v1' "
                    "AND payload -> 'data' ->> 'household_id' = :h"
                ),
                {"h": str(household)},
            )
        ).scalar_one()
    assert event["data"]["member_id"] == str(members[0]) and event["data"]["death_date"] == died.isoformat()
    assert ids[0] not in str(event)

    # A person on the 乡村振兴局 list before intake knows the household: kept, then matched when it appears.
    newcomer = resident_id("19700707")
    listing = (
        "id_number,region_code,listed_on,population_type,risk_types,annual_income_fen\n"
        f"{newcomer},610626101,{TODAY},unstable,illness;disaster,500000\n"
    )
    r = await api("monitoring").post(
        "/feeds/monitoring_list", content=listing.encode(), headers={**RURAL, **csv_type()}
    )
    assert r.status_code == 201 and (r.json()["rows_loaded"], r.json()["alerts_raised"]) == (1, 0), r.text
    late, _, _ = await known_household(ids=[newcomer])
    alerts = {a["alert_type"]: a for a in await alerts_of(api, tokens, late)}
    assert alerts["below_monitoring_line"]["trace"]["observed"] == {"per_capita_annual_income_fen": 500_000}

    month = Period.of(TODAY)
    report = await api("monitoring").get(f"/reports/monthly/610626/{month}", headers=RURAL)
    assert report.status_code == 200, report.text
    figures = report.json()
    assert figures["alerts"]["deaths_reported"] >= 1 and figures["coverage"]["persons"] >= 1
    assert figures["raised_by_type"]["below_monitoring_line"] >= 1
    assert (figures["region_code"], figures["region_name"]) == ("610626", "吴起县")
    xlsx = await api("monitoring").get(
        f"/reports/monthly/610626/{month}", params={"format": "xlsx"}, headers=tokens["approver"]
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:4] == ["地区", "吴起县", "区划代码", "610626"]
    assert (await api("monitoring").get(f"/reports/monthly/610626/{month}", headers=MEDICAL)).status_code == 403


async def test_an_alert_names_the_village_its_county_loaded(api, tokens, known_household, db):
    """Where the household lives, by name: the township and the village's number until 吴起县 loads its list, then
    the village's own name, on the list, the alert, a step's answer and the monthly report of the village."""
    await villages_loaded(db, {"610626101202": "白岔村"})  # the county's list without this village
    household, ids, _ = await known_household(income_fen=10_000)
    body = MEDICAL_HEADER + f"{ids[0]},610626101,{TODAY},6000000,1\n"
    r = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    listed = await alerts_of(api, tokens, household)
    assert listed and {a["place"] for a in listed} == {"铁边城镇201村"}

    await villages_loaded(db, {VILLAGE: "张湾村", "610626101202": "白岔村"})
    listed = await alerts_of(api, tokens, household)
    assert {a["place"] for a in listed} == {"铁边城镇张湾村"}
    monitoring = api("monitoring")
    alert = listed[0]
    assert (await monitoring.get(f"/alerts/{alert['id']}", headers=tokens["approver"])).json()[
        "place"
    ] == "铁边城镇张湾村"
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "not_eligible", "reasons": ["income"]},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 200 and r.json()["place"] == "铁边城镇张湾村", r.text

    report = await monitoring.get(f"/reports/monthly/{VILLAGE}/{Period.of(TODAY)}", headers=RURAL)
    assert report.status_code == 200, report.text
    assert (report.json()["region_code"], report.json()["region_name"]) == (VILLAGE, "铁边城镇张湾村")
    assert report.json()["alerts"]["raised"] >= len(listed)


async def test_the_same_file_is_the_same_feed_only_for_the_same_partner_and_region(api, tokens, known_household, db):
    """A feed is the file loaded for a region: the same bytes loaded for another region are another feed, which loads
    its own rows; only the same partner posting them again for the same region gets the first result back.

    One 公安 death file with a 志丹县 (610625) row on line 2 and a 吴起县 (610626) 低保 recipient's on line 3:
    - the province's 公安 (region 61) posts it for 610625: 201, line 2 loaded, line 3 rejected (outside 610625);
    - the same bytes for 610626: 201, a new feed of region 610626, line 3 loaded, line 2 rejected, and the
      recipient's death raises 1 alert (recipient_death, closed on raising, death.reported sent);
    - the same bytes for 610626 again: 200, that 610626 feed, nothing new;
    - 志丹县's own 公安 (610625) posts the bytes of another 志丹县 file; 吴起县's 公安 (610626) posts the same bytes:
      201, its own feed (region 610626, its uploader), not 志丹县's, and its 吴起县 row loaded (1 row, 1 alert).
    """
    household, ids, _ = await known_household(ids=[resident_id("19410606")], programme="dibao")
    died = TODAY.replace(day=1)
    body = f"id_number,region_code,death_date\n{resident_id('19420707')},610625101,{died}\n{ids[0]},610626101,{died}\n"
    province = bearer("gongan-yanan", ["partner:public_security"], "61")
    post = api("monitoring").post

    r = await post(
        "/feeds/death", params={"region": "610625"}, content=body.encode(), headers={**province, **csv_type()}
    )
    assert r.status_code == 201, r.text
    zhidan = r.json()
    assert (zhidan["region_code"], zhidan["rows_loaded"], zhidan["rows_rejected"], zhidan["alerts_raised"]) == (
        "610625",
        1,
        1,
        0,
    )

    r = await post(
        "/feeds/death", params={"region": "610626"}, content=body.encode(), headers={**province, **csv_type()}
    )
    assert r.status_code == 201, r.text
    wuqi = r.json()
    assert wuqi["id"] != zhidan["id"] and wuqi["sha256"] == zhidan["sha256"]
    assert (wuqi["region_code"], wuqi["rows_loaded"], wuqi["rows_rejected"], wuqi["alerts_raised"]) == (
        "610626",
        1,
        1,
        1,
    )
    [death] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
    assert (death["status"], death["outcome"]) == ("closed", "death_reported")

    again = await post(
        "/feeds/death", params={"region": "610626"}, content=body.encode(), headers={**province, **csv_type()}
    )
    assert again.status_code == 200 and again.json()["id"] == wuqi["id"], again.text
    async with db.connect() as conn:
        stored = await conn.scalar(
            text("SELECT count(*) FROM monitoring.feed_records WHERE feed_id IN (:a, :b)"),
            {"a": zhidan["id"], "b": wuqi["id"]},
        )
    assert stored == 2

    # County tokens of the same agency: 志丹县's file, then the same bytes from 吴起县.
    other, other_ids, _ = await known_household(ids=[resident_id("19430808")], programme="dibao")
    body = (
        f"id_number,region_code,death_date\n{resident_id('19440909')},610625101,{died}\n"
        f"{other_ids[0]},610626101,{died}\n"
    )
    zhidan_police = bearer("gongan-zhidan", ["partner:public_security"], "610625")
    r = await post("/feeds/death", content=body.encode(), headers={**zhidan_police, **csv_type()})
    assert r.status_code == 201 and r.json()["region_code"] == "610625", r.text
    r = await post("/feeds/death", content=body.encode(), headers={**POLICE, **csv_type()})
    assert r.status_code == 201, r.text
    own = r.json()
    assert (own["region_code"], own["rows_loaded"], own["alerts_raised"]) == ("610626", 1, 1)
    assert (await api("monitoring").get(f"/feeds/{own['id']}", headers=POLICE)).status_code == 200
    assert [a["alert_type"] for a in await alerts_of(api, tokens, other)].count("recipient_death") == 1


async def test_high_medical_cost_counts_at_least_the_floor_and_each_bill_once(api, tokens, known_household):
    """risk.medical.min_out_of_pocket_fen is "at least 5,000 yuan out of pocket in 12 months" (>=) and
    risk.medical.share_of_income "above half of annual household income" (>); a bill is one per person, settlement
    date and amount (the 医保局 rows carry no settlement number), however many feeds or lines repeat it.

    - No income, one bill of exactly 5,000.00 yuan: 500,000 fen >= the 500,000 floor and > 0 → alert, observed
      out_of_pocket_12m_fen 500,000, annual_income_fen 0.
    - 1,000 yuan a month (12,000 a year, half 6,000): one bill of exactly 6,000 yuan is at least the floor but not
      above half the income → no alert.
    - No income: 4,000 yuan in feed 1 (under the floor, no alert); feed 2 re-sends that bill and adds another
      member's 1,000: 4,000 + 1,000 = 5,000 (not 9,000) → alert, observed 500,000.
    - No income: one file with the same 3,000-yuan bill on lines 2 and 3 and another member's 2,500 on line 4:
      3,000 + 2,500 = 5,500 (not 8,500) → alert, observed 550,000.
    """

    def post(*rows: tuple[str, int, int]):
        body = MEDICAL_HEADER + "".join(f"{i},610626101,{TODAY - timedelta(days=d)},{fen},0\n" for i, d, fen in rows)
        return api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})

    async def medical_alert(household) -> dict | None:
        return {a["alert_type"]: a for a in await alerts_of(api, tokens, household)}.get("high_medical_cost")

    household, ids, _ = await known_household(income_fen=0)
    r = await post((ids[0], 30, 500_000))
    assert r.status_code == 201, r.text
    alert = await medical_alert(household)
    assert alert is not None, "exactly 5,000 yuan is at least the floor"
    assert alert["trace"]["observed"] == {"out_of_pocket_12m_fen": 500_000, "annual_income_fen": 0}

    household, ids, _ = await known_household(income_fen=100_000)
    r = await post((ids[0], 30, 600_000))
    assert r.status_code == 201, r.text
    assert await medical_alert(household) is None, "exactly half the income is not above half"

    household, ids, _ = await known_household(income_fen=0)
    r = await post((ids[0], 40, 400_000))
    assert r.status_code == 201, r.text
    assert await medical_alert(household) is None
    r = await post((ids[0], 40, 400_000), (ids[1], 10, 100_000))
    assert r.status_code == 201, r.text
    alert = await medical_alert(household)
    assert alert is not None and alert["trace"]["observed"]["out_of_pocket_12m_fen"] == 500_000

    household, ids, _ = await known_household(income_fen=0)
    r = await post((ids[0], 20, 300_000), (ids[0], 20, 300_000), (ids[1], 5, 250_000))
    assert r.status_code == 201, r.text
    alert = await medical_alert(household)
    assert alert is not None and alert["trace"]["observed"]["out_of_pocket_12m_fen"] == 550_000


# --- deaths: every dead member reported to eligibility with their own date, once ("never pay a dead person") ---

DEATH_HEADER = "id_number,region_code,death_date\n"


async def _deaths_reported(db, household: uuid.UUID) -> list[tuple[str, str]]:
    """(member id, death date) of every death.reported monitoring emitted for the household."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM monitoring.outbox WHERE type LIKE '%death.reported.v1' "
                "AND payload -> 'data' ->> 'household_id' = :h"
            ),
            {"h": str(household)},
        )
        return sorted((p["data"]["member_id"], p["data"]["death_date"]) for (p,) in rows)


async def _county_deaths(api) -> int:
    r = await api("monitoring").get(f"/reports/monthly/610626/{Period.of(TODAY)}", headers=RURAL)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]["deaths_reported"]


async def _post_deaths(api, headers, rows: list[tuple[str, object]]) -> dict:
    body = DEATH_HEADER + "".join(f"{n},610626101,{d}\n" for n, d in rows)
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**headers, **csv_type()})
    assert r.status_code == 201, r.text
    return r.json()


async def test_two_deaths_in_one_household_are_each_reported_with_their_own_date(api, tokens, known_household, db):
    """A 低保 couple both die; the 公安 file lists the husband (died on the 1st of last month or earlier: d_a) and
    the wife (three days ago: d_b) — in that order, the wife's ID number not necessarily after his.
    By hand: one recipient_death alert for the household (one alert per household and type), closed, whose
    observation lists both deaths; two death.reported, (husband, d_a) and (wife, d_b) — never one member with the
    other's date; the county's month counts 2 deaths reported."""
    household, ids, members = await known_household(programme="dibao")
    d_a, d_b = TODAY - timedelta(days=20), TODAY - timedelta(days=3)
    before = await _county_deaths(api)
    feed = await _post_deaths(api, POLICE, [(ids[0], d_a), (ids[1], d_b)])
    assert feed["alerts_raised"] == 1
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
    assert (alert["status"], alert["outcome"]) == ("closed", "death_reported")
    expected = sorted([(str(members[0]), d_a.isoformat()), (str(members[1]), d_b.isoformat())])
    assert sorted((d["member_id"], d["death_date"]) for d in alert["trace"]["observed"]["deaths"]) == expected
    assert await _deaths_reported(db, household) == expected
    assert await _county_deaths(api) - before == 2


async def test_the_same_death_from_a_second_source_is_one_death_counted_once(api, tokens, known_household, db):
    """A 低保 recipient living alone dies on d; 公安 reports it, then 殡葬 reports the same death (its own date of
    the cremation record: d + 2 days), in a second file.
    By hand: the first file raises the recipient_death alert and one death.reported (member, d); the second raises
    nothing (alerts_raised 0), no second death.reported, no second alert; its row is kept as the first alert's
    evidence (2 rows); the county's month counts 1 death reported."""
    household, ids, members = await known_household(ids=[resident_id("19380303")], programme="dibao")
    died = TODAY - timedelta(days=5)
    before = await _county_deaths(api)
    assert (await _post_deaths(api, POLICE, [(ids[0], died)]))["alerts_raised"] == 1
    assert (await _post_deaths(api, FUNERAL, [(ids[0], died + timedelta(days=2))]))["alerts_raised"] == 0
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
    assert await _deaths_reported(db, household) == [(str(members[0]), died.isoformat())]
    detail = (await api("monitoring").get(f"/alerts/{alert['id']}", headers=tokens["approver"])).json()
    assert sorted(e["event_date"] for e in detail["evidence"]) == [
        died.isoformat(),
        (died + timedelta(days=2)).isoformat(),
    ]
    assert await _county_deaths(api) - before == 1


async def _front_desk_keeps_only(db, household: uuid.UUID, kept: list[tuple[uuid.UUID, str]]) -> None:
    """intake's household.updated after `DELETE /households/{id}/members/{member}` without a date of death: the
    household lists only the `kept` members (member id, ID number)."""
    snapshot = HouseholdSnapshot.model_validate(
        {
            "household_id": str(household),
            "region_code": VILLAGE,
            "hukou_type": "rural",
            "members": [
                {"member_id": str(m), "name": "成员", "birth_date": "1960-01-01", "sex": "male", "relation": "head"}
                for m, _ in kept
            ],
            "incomes": [{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 60_000}],
        }
    )
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_household(
            uow,
            HouseholdUpdated(
                household_id=household,
                region_code=VILLAGE,
                snapshot=snapshot,
                identities=[MemberIdentity(member_id=m, id_fingerprint=id_fingerprint(n, KEY)) for m, n in kept],
            ),
        )
        await uow.commit()


async def test_a_death_of_a_member_the_front_desk_took_out_still_reaches_eligibility(api, tokens, known_household, db):
    """A 低保 couple; the front desk takes the wife out of the household without saying why (no date of death);
    a month later 公安 reports she died 10 days ago.
    By hand: monitoring still knows her fingerprint (a member who left, not one of the household's members: the
    household shows 1 member known, and a 60,000-yuan hospital bill of hers flags nothing for it), so the death row
    matches: one recipient_death alert for the household, closed, and one death.reported (wife, 10 days ago) —
    eligibility prices her out from the month after the death (its rule for a member marked 离户 later)."""
    household, ids, members = await known_household(programme="dibao")
    await _front_desk_keeps_only(db, household, [(members[0], ids[0])])
    view = await api("monitoring").get(f"/households/{household}", headers=tokens["approver"])
    assert view.status_code == 200 and view.json()["members_known"] == 1, view.text
    bill = MEDICAL_HEADER + f"{ids[1]},610626101,{TODAY - timedelta(days=12)},6000000,1\n"
    r = await api("monitoring").post("/feeds/medical", content=bill.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201 and r.json()["alerts_raised"] == 0, r.text

    died = TODAY - timedelta(days=10)
    assert (await _post_deaths(api, POLICE, [(ids[1], died)]))["alerts_raised"] == 1
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
    assert (alert["status"], alert["outcome"]) == ("closed", "death_reported")
    assert await _deaths_reported(db, household) == [(str(members[1]), died.isoformat())]


def _approved(household: uuid.UUID, members: list[uuid.UUID], programme: str = "dibao") -> Delivery:
    data = CaseApproved(
        case_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        household_id=household,
        programme=programme,
        region_code=VILLAGE,
        member_ids=members,
        monthly_amount_fen=60_000,
        effective_month=Period.of(TODAY),
        decided_at="2026-01-05T00:00:00Z",
    )
    event = DomainEvent(event_type(CaseApproved), str(household), data)
    return Delivery(event.to_cloudevent("/tests", None), data)


async def test_a_death_on_file_before_the_household_applies_is_reported_when_it_is_covered(
    api, tokens, known_household, db
):
    """Two households receive nothing; 公安's file lists a member of each as dead (d1, d2): no death is raised (no
    recipient; low_income_uncovered may be, it is not what this is about). Then eligibility approves both in one run
    of case.approved (as the consumer hands them over).
    By hand: the run raises one recipient_death alert per household, closed, and death.reported (member, d1) and
    (member, d2); a later approval of the first household (a second programme) reports nothing more."""
    one, ids_1, members_1 = await known_household()
    two, ids_2, members_2 = await known_household()
    d1, d2 = TODAY - timedelta(days=40), TODAY - timedelta(days=2)
    await _post_deaths(api, POLICE, [(ids_1[1], d1), (ids_2[0], d2)])
    for household in (one, two):
        assert "recipient_death" not in {a["alert_type"] for a in await alerts_of(api, tokens, household)}
        assert await _deaths_reported(db, household) == []

    sessions = session_factory(db)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        await record_approvals(uow, [_approved(one, members_1), _approved(two, members_2)])
        await uow.commit()
    for household, expected in ((one, (members_1[1], d1)), (two, (members_2[0], d2))):
        [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "recipient_death"]
        assert (alert["status"], alert["outcome"]) == ("closed", "death_reported")
        assert await _deaths_reported(db, household) == [(str(expected[0]), expected[1].isoformat())]

    async with UnitOfWork(sessions, platform, "/tests") as uow:
        await record_approvals(uow, [_approved(one, members_1, "medical")])
        await uow.commit()
    assert len([a for a in await alerts_of(api, tokens, one) if a["alert_type"] == "recipient_death"]) == 1
    assert len(await _deaths_reported(db, one)) == 1


ZHIDAN_BANK = bearer("bank-zhidan", ["partner:bank"], "610625")
ZHIDAN_POLICE = bearer("gongan-zhidan", ["partner:public_security"], "610625")
ZHIDAN_MEDICAL = bearer("yibao-zhidan", ["partner:medical_insurance"], "610625")


async def _foreign_feed(api, headers, kind: str, header: str, rows: list[str]) -> dict:
    body = header + "".join(f"{row}\n" for row in rows)
    r = await api("monitoring").post(f"/feeds/{kind}", content=body.encode(), headers={**headers, **csv_type()})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_partner_of_another_county_matches_none_of_its_households(api, tokens, known_household, db):
    """志丹县's (610625) partners post rows of 吴起县 (610626) recipients, each row in 志丹县: a bank balance, a death.
    By hand: a feed's scope bounds the households its rows match, so nothing of 吴起县 changes — no alert, no
    death.reported — and the answer for a 吴起 recipient is the answer for an ID nobody holds (alerts_raised 0),
    so the file learns nothing. Later matching keeps the feed's scope: 志丹 bills and a 志丹 death of persons not yet
    known raise nothing when their 吴起 household appears or is covered."""
    household, ids, _ = await known_household(programme="dibao")
    bank = "id_number,region_code,checked_on,balance_fen\n"
    checked = TODAY - timedelta(days=1)
    answers = [
        (await _foreign_feed(api, ZHIDAN_BANK, "bank", bank, [f"{n},610625,{checked},90000000"]))["alerts_raised"]
        for n in (ids[0], resident_id("19770707"))
    ]
    assert answers == [0, 0]
    died = TODAY - timedelta(days=3)
    assert (await _foreign_feed(api, ZHIDAN_POLICE, "death", DEATH_HEADER, [f"{ids[1]},610625,{died}"]))[
        "alerts_raised"
    ] == 0
    assert await alerts_of(api, tokens, household) == []
    assert await _deaths_reported(db, household) == []

    # Rows waiting for their household: it appears in 吴起县, then is covered.
    later = [resident_id("19570505"), resident_id("19580606", male=False)]
    bills = [f"{n},610625,{TODAY - timedelta(days=9)},4000000,1" for n in later]
    await _foreign_feed(api, ZHIDAN_MEDICAL, "medical", MEDICAL_HEADER, bills)
    await _foreign_feed(api, ZHIDAN_POLICE, "death", DEATH_HEADER, [f"{later[0]},610625,{died}"])
    appeared, _, members = await known_household(ids=later)
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_approvals(uow, [_approved(appeared, members)])
        await uow.commit()
    assert {a["alert_type"] for a in await alerts_of(api, tokens, appeared)} <= {"low_income_uncovered"}
    assert await _deaths_reported(db, appeared) == []


async def test_a_row_dated_before_the_birth_date_in_the_id_number_is_refused_on_its_date(
    api, tokens, known_household, db
):
    """A 低保 child born 2008-03-04 (the birth date is in the ID number): 公安 reports the child dead on 2001-01-01,
    医保局 a bill settled in 2005. By hand: each row refused on its date field, line and reason given, the ID number
    never echoed; nothing loaded, no death reported."""
    child = resident_id("20080304")
    household, _, _ = await known_household(ids=[child], programme="dibao")
    for headers, kind, body, field in (
        (POLICE, "death", DEATH_HEADER + f"{child},610626101,2001-01-01\n", "death_date"),
        (MEDICAL, "medical", MEDICAL_HEADER + f"{child},610626101,2005-06-07,300000,0\n", "settled_on"),
    ):
        r = await api("monitoring").post(f"/feeds/{kind}", content=body.encode(), headers={**headers, **csv_type()})
        assert r.status_code == 201 and (r.json()["rows_loaded"], r.json()["rows_rejected"]) == (0, 1), r.text
        [error] = (await api("monitoring").get(r.json()["errors_url"], headers=headers)).json()["items"]
        assert (error["line"], error["field"]) == (2, field)
        assert "before the birth date in the ID number" in error["message"] and child not in error["message"]
    assert await _deaths_reported(db, household) == []


async def test_a_row_whose_id_number_holds_an_impossible_birth_date_is_refused_without_a_digit_of_it(api, db):
    """The birth date is eight of the number's digits: a row with 1962-02-30, 2099-01-01 or 1899-12-31 in it (the
    check character right) is refused on id_number, and the reason stored in the error report holds none of them."""
    numbers = {
        "not a calendar date": "61062619620230123",
        "in the future": "61062620990101123",
        "before 1900": "61062618991231123",
    }
    numbers = {why: first17 + check_character(first17) for why, first17 in numbers.items()}
    body = DEATH_HEADER + "".join(f"{n},610626101,2020-01-01\n" for n in numbers.values())
    r = await api("monitoring").post("/feeds/death", content=body.encode(), headers={**POLICE, **csv_type()})
    assert r.status_code == 201 and (r.json()["rows_loaded"], r.json()["rows_rejected"]) == (0, 3), r.text
    errors = (await api("monitoring").get(r.json()["errors_url"], headers=POLICE)).json()["items"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "id_number"), (3, "id_number"), (4, "id_number")]
    for why, error in zip(numbers, errors, strict=True):
        assert error["message"] == f"the birth date in the number is {why}", error
        assert not set(re.findall(r"\d+", error["message"])) - {"1900"}, error
    async with db.connect() as conn:  # what is stored, not only what is shown
        query = text("SELECT message FROM monitoring.feed_errors WHERE feed_id = :id")
        stored = " ".join((await conn.execute(query, {"id": r.json()["id"]})).scalars())
    for number in numbers.values():
        assert number[6:14] not in stored and number[6:10] + "-" not in stored


def _low_income(alerts: list[dict]) -> list[dict]:
    return [a for a in alerts if a["alert_type"] == "low_income_uncovered"]


async def test_death_rows_raise_no_low_income_alert_and_a_household_all_dead_is_not_flagged(
    api, tokens, known_household
):
    """Three uncovered households at 100 yuan a month (below 1.5 × the 低保 standard): one of one member whom 公安
    reports dead; one of two where both die; one of two where only the head dies.
    By hand: a death row is not evidence of low income, so none of them gets low_income_uncovered from the 公安
    file; a later 乡村振兴局 listing (a kind that bears on income) flags only the household with a living member."""
    alone, ids_alone, _ = await known_household(ids=[resident_id("19550101")], income_fen=10_000)
    couple, ids_couple, _ = await known_household(income_fen=10_000)
    widow, ids_widow, _ = await known_household(income_fen=10_000)
    died = TODAY - timedelta(days=3)
    await _post_deaths(api, POLICE, [(ids_alone[0], died), *((n, died) for n in ids_couple), (ids_widow[0], died)])
    for household in (alone, couple, widow):
        assert _low_income(await alerts_of(api, tokens, household)) == []

    listing = "id_number,region_code,listed_on,population_type,risk_types,annual_income_fen\n" + "".join(
        f"{n},610626101,{TODAY},unstable,,900000\n" for n in (*ids_alone, *ids_couple, *ids_widow)
    )
    r = await api("monitoring").post(
        "/feeds/monitoring_list", content=listing.encode(), headers={**RURAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    assert _low_income(await alerts_of(api, tokens, alone)) == []
    assert _low_income(await alerts_of(api, tokens, couple)) == []
    [flagged] = _low_income(await alerts_of(api, tokens, widow))
    detail = (await api("monitoring").get(f"/alerts/{flagged['id']}", headers=tokens["approver"])).json()
    assert {e["kind"] for e in detail["evidence"]} == {"monitoring_list"}


async def test_a_not_eligible_closure_holds_until_rows_dated_after_it(api, tokens, known_household, db):
    """An uncovered household at 100 yuan a month is flagged low_income_uncovered; the township verifies it
    not_eligible (income) and closes it today. By hand: a 1-yuan bill settled today raises no new alert (the
    township has looked at the household as of today); once the closure lies in the past, a bill settled after
    it raises a new one."""
    household, ids, _ = await known_household(income_fen=10_000)
    listing = "id_number,region_code,listed_on,population_type,risk_types,annual_income_fen\n"
    listing += f"{ids[0]},610626101,{TODAY},unstable,,900000\n"
    r = await api("monitoring").post(
        "/feeds/monitoring_list", content=listing.encode(), headers={**RURAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    [alert] = _low_income(await alerts_of(api, tokens, household))
    monitoring = api("monitoring")
    r = await monitoring.post(
        f"/alerts/{alert['id']}/verification",
        json={"outcome": "not_eligible", "reasons": ["income"]},
        headers=tokens["reviewer"],
    )
    assert r.status_code == 200, r.text
    assert (
        await monitoring.post(f"/alerts/{alert['id']}/closure", json={}, headers=tokens["reviewer"])
    ).status_code == 200

    def bill(on: date) -> bytes:
        return (MEDICAL_HEADER + f"{ids[1]},610626101,{on},100,0\n").encode()

    r = await monitoring.post("/feeds/medical", content=bill(TODAY), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    assert [a["status"] for a in _low_income(await alerts_of(api, tokens, household))] == ["closed"]

    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE monitoring.alerts SET verified_on = :d, closed_on = :d, raised_on = :d WHERE id = :i"),
            {"d": TODAY - timedelta(days=10), "i": alert["id"]},
        )
    r = await monitoring.post(
        "/feeds/medical", content=bill(TODAY - timedelta(days=2)), headers={**MEDICAL, **csv_type()}
    )
    assert r.status_code == 201, r.text
    assert sorted(a["status"] for a in _low_income(await alerts_of(api, tokens, household))) == ["closed", "dispatched"]


async def test_a_newly_disabled_member_is_flagged_though_another_member_has_a_disability_subsidy(
    api, tokens, known_household, db
):
    """A father and his child; the child receives 重度残疾人护理补贴 (a person-level subsidy); 残联 certifies the
    father grade 1. By hand: the father receives neither subsidy, so disability_uncovered is raised; a certificate
    of the child (already subsidised) would not raise it."""
    household, ids, members = await known_household()
    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_approvals(uow, [_approved(household, [members[1]], "disability_care")])
        await uow.commit()
    disabled = bearer("canlian-wuqi", ["partner:disabled_persons_federation"], "610626")

    async def certify(id_number: str) -> None:
        body = f"id_number,region_code,certified_on,category,grade\n{id_number},610626101,{TODAY},physical,1\n"
        r = await api("monitoring").post("/feeds/disability", content=body.encode(), headers={**disabled, **csv_type()})
        assert r.status_code == 201, r.text

    await certify(ids[1])
    assert "disability_uncovered" not in {a["alert_type"] for a in await alerts_of(api, tokens, household)}
    await certify(ids[0])
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "disability_uncovered"]
    detail = (await api("monitoring").get(f"/alerts/{alert['id']}", headers=tokens["approver"])).json()
    assert len(detail["evidence"]) == 1


async def test_an_alert_is_not_brought_into_a_programme_the_household_already_receives(api, tokens, known_household):
    """A 低保 household's 60,000-yuan hospital bill raises high_medical_cost. By hand: verifying it brought into
    dibao is refused (422 naming programme: it already receives dibao — intake would refuse the application, the
    draft never complete); brought into 临时救助 is accepted."""
    household, ids, _ = await known_household(programme="dibao")
    body = MEDICAL_HEADER + f"{ids[0]},610626101,{TODAY},6000000,1\n"
    r = await api("monitoring").post("/feeds/medical", content=body.encode(), headers={**MEDICAL, **csv_type()})
    assert r.status_code == 201, r.text
    [alert] = [a for a in await alerts_of(api, tokens, household) if a["alert_type"] == "high_medical_cost"]

    async def verify(programme: str):
        return await api("monitoring").post(
            f"/alerts/{alert['id']}/verification",
            json={"outcome": "brought_into_assistance", "programme": programme},
            headers=tokens["reviewer"],
        )

    r = await verify("dibao")
    assert "already receives dibao" in str(problem(r, 422, "programme"))
    assert (await verify("temporary")).status_code == 200
