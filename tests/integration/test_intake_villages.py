"""Villages at the front desk: a county admin loads its 统计用区划代码 table (CSV), `GET /regions/{township}` lists
them, and once a township has its list only its codes are accepted for households. Until then the answer says so
and explains the 12-digit rule.

Uses 志丹县 (610625), which no other test loads villages for, and removes its list afterwards."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text

from services.intake.models import platform
from services.intake.regions.service import announce_unannounced_villages
from shared.db import session_factory
from shared.migrations import alembic_config, upgrade
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import household_body

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-zhidan", ["admin"], "610625")
CLERK = bearer("clerk-xinghe", ["clerk"], "610625101")
TABLE = "code,name,urban_rural_class\n610625101200,杏河村,220\n610625101201,王台村,220\n610625102001,顺宁社区,121\n"


def _csv(body: str, encoding: str = "utf-8") -> dict:
    return {"file": ("610625.csv", body.encode(encoding), "text/csv")}


@pytest.fixture
async def zhidan(db):
    yield
    async with db.begin() as conn:
        await conn.execute(text("DELETE FROM intake.villages WHERE code LIKE '610625%'"))


async def test_until_a_township_has_a_list_the_answer_explains_the_rule(api, tokens, zhidan):
    r = await api("intake").get("/regions/610625101", headers=CLERK)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["level"] == "township" and body["villages_loaded"] is False and body["children"] == []
    assert "610625101001-610625101399" in body["note"] and "12 digits" in body["note"]
    spec = (await api("intake").get("/openapi.json")).json()
    assert "12 digits" in spec["paths"]["/regions/{code}"]["get"]["description"]
    assert "12 digits" in spec["components"]["schemas"]["HouseholdIn"]["properties"]["region_code"]["description"]
    r = await api("intake").post("/households", json=household_body("610625101250"), headers=CLERK)
    assert r.status_code == 201, r.text  # no list yet: any code that follows the rule


async def test_a_loaded_list_is_served_and_is_the_only_one_accepted(api, db, zhidan):
    r = await api("intake").put("/regions/610625/villages", files=_csv(TABLE), headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"county_code": "610625", "villages": 3, "townships": {"610625101": 2, "610625102": 1}}

    r = await api("intake").get("/regions/610625101", headers=CLERK)
    body = r.json()
    assert body["villages_loaded"] is True and body["note"] is None
    assert [(v["code"], v["name"], v["urban_rural_class"], v["level"]) for v in body["children"]] == [
        ("610625101200", "杏河村", "220", "village"),
        ("610625101201", "王台村", "220", "village"),
    ]
    village = (await api("intake").get("/regions/610625101201", headers=CLERK)).json()
    assert village["name"] == "王台村" and village["parent_code"] == "610625101"

    refused = await api("intake").post("/households", json=household_body("610625101250"), headers=CLERK)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "region_code"
    assert "GET /regions/610625101" in refused.json()["errors"][0]["message"]
    accepted = await api("intake").post("/households", json=household_body("610625101201"), headers=CLERK)
    assert accepted.status_code == 201, accepted.text
    # A township the file does not list keeps accepting any code that follows the rule.
    other = await api("intake").post(
        "/households", json=household_body("610625103210"), headers=bearer("clerk-danba", ["clerk"], "610625103")
    )
    assert other.status_code == 201, other.text

    # Loading again replaces the list, e.g. from the bureau's own file: Chinese header, GB 18030.
    bureau = "统计用区划代码,城乡分类代码,名称\n610625101202,220,新庄村\n"
    r = await api("intake").put("/regions/610625/villages", files=_csv(bureau, "gb18030"), headers=ADMIN)
    assert r.status_code == 200 and r.json()["villages"] == 1
    names = [v["name"] for v in (await api("intake").get("/regions/610625101", headers=CLERK)).json()["children"]]
    assert names == ["新庄村"]
    async with db.connect() as conn:
        audited = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM intake.audit_log WHERE action "
                    "= 'regions.villages.load' AND resource_id = '610625'"
                )
            )
        ).scalar()
    assert audited == 2


async def test_a_bad_table_names_every_bad_line_and_changes_nothing(api, zhidan):
    assert (await api("intake").put("/regions/610625/villages", files=_csv(TABLE), headers=ADMIN)).status_code == 200
    bad = (
        "code,name,urban_rural_class\n"
        "610625101200,杏河村,220\n"
        "610626101201,张湾村,220\n"  # another county
        "610625101450,某村,220\n"  # village number beyond 399
        "610625101201,王台村,999\n"  # no such urban-rural class
        "610625101200,杏河村,220\n"
    )  # twice
    r = await api("intake").put("/regions/610625/villages", files=_csv(bad), headers=ADMIN)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    messages = [e["message"] for e in r.json()["errors"]]
    assert [m.split(":")[0] for m in messages] == ["line 3", "line 4", "line 5", "line 6"], messages
    assert all(e["field"] == "file" for e in r.json()["errors"])
    r = await api("intake").put("/regions/610625/villages", files=_csv("编号,名字\n1,2\n"), headers=ADMIN)
    assert r.status_code == 422 and "line 1" in r.json()["errors"][0]["message"]
    children = (await api("intake").get("/regions/610625101", headers=CLERK)).json()["children"]
    assert [v["code"] for v in children] == ["610625101200", "610625101201"]  # the earlier list stands


async def test_only_an_admin_of_the_county_loads_its_villages(api, tokens, zhidan):
    for headers in (bearer("admin-wuqi", ["admin"], "610626"), CLERK, tokens["approver"]):
        r = await api("intake").put("/regions/610625/villages", files=_csv(TABLE), headers=headers)
        assert r.status_code == 403, r.text
    r = await api("intake").put("/regions/619999/villages", files=_csv(TABLE), headers=tokens["admin"])
    assert r.status_code == 404
    assert (await api("intake").get("/regions/610625101", headers=CLERK)).json()["villages_loaded"] is False


async def _villages_loaded(db) -> list[dict]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT CAST(payload AS jsonb)->'data' FROM intake.outbox "
                "WHERE type LIKE '%.villages.loaded.v1' AND key = '610625' ORDER BY id"
            )
        )
        return [r[0] for r in rows]


async def test_each_load_and_each_list_older_than_the_event_is_announced_once(api, db, zhidan):
    """villages.loaded carries the county's whole list as loaded (eligibility prints the names); a list on file
    from before the event existed (migration 0016 marks it) is announced once by the worker's back-fill."""
    before = len(await _villages_loaded(db))
    assert (await api("intake").put("/regions/610625/villages", files=_csv(TABLE), headers=ADMIN)).status_code == 200
    announced = (await _villages_loaded(db))[before:]
    assert [(e["county_code"], [(v["code"], v["name"]) for v in e["villages"]]) for e in announced] == [
        ("610625", [("610625101200", "杏河村"), ("610625101201", "王台村"), ("610625102001", "顺宁社区")])
    ]
    async with db.begin() as conn:  # as an upgraded database holds a list loaded by an older release
        await conn.execute(text("UPDATE intake.villages SET announced = false WHERE code LIKE '610625%'"))

    async def backfill() -> int:
        async with UnitOfWork(session_factory(db), platform, "/services/intake") as uow:
            done = await announce_unannounced_villages(uow)
            await uow.commit()
            return done

    first = await backfill()
    assert first >= 1 and await backfill() == 0  # 610625 and any other county left so by other tests, then none
    again = (await _villages_loaded(db))[before + 1 :]
    assert [[v["name"] for v in e["villages"]] for e in again] == [["杏河村", "王台村", "顺宁社区"]]


async def test_the_upgrade_that_gave_payments_the_names_announces_every_list_once_more(api, db, infra, zhidan):
    """Payments keeps the villages' names since migration 0017 and monitoring since 0018, and their consumers had
    passed the lists announced before: upgrading to them marks every county's list unannounced, so the worker's
    back-fill announces it again."""
    assert (await api("intake").put("/regions/610625/villages", files=_csv(TABLE), headers=ADMIN)).status_code == 200
    before = len(await _villages_loaded(db))
    config = alembic_config("intake", infra.database_url)
    await asyncio.to_thread(command.downgrade, config, "intake_villages_announced")  # 0018, 0017: nothing
    await asyncio.to_thread(upgrade, "intake", infra.database_url)
    async with db.connect() as conn:
        pending = await conn.scalar(text("SELECT count(*) FROM intake.villages WHERE announced"))
    assert pending == 0
    async with UnitOfWork(session_factory(db), platform, "/services/intake") as uow:
        assert await announce_unannounced_villages(uow) >= 1
        await uow.commit()
    again = (await _villages_loaded(db))[before:]
    assert [[v["name"] for v in e["villages"]] for e in again] == [["杏河村", "王台村", "顺宁社区"]]
