"""A periodic review (定期核查) prices the household's facts as the front desk has them, never the ones eligibility
held before a change still on its way. Intake's and eligibility's real apps in process on the real PostgreSQL:
the household registered and changed through intake's API, its `household.*` events taken from intake's outbox and
handed to eligibility's handler (the consumer) when the test says they arrive, the review asking intake's API (in
process, as ELIGIBILITY_INTAKE_URL wires it between processes) for the household's current version.

One rural 吴起县 household of two (household_body: the head's farm work, a basic pension that is exempt), 低保 on
the tiers (分档, services/eligibility/policy/parameters/610626.yaml: per person 500 / 450 / 400 / 350 / 300 yuan a
month while the household's income is below 100 / 200 / 300 / 400 yuan × 2 persons)."""

from __future__ import annotations

import importlib

import httpx
import pytest
from sqlalchemy import text

from shared.consumer import Delivery, typed_envelope
from shared.db import session_factory
from shared.events.catalogue import HouseholdRegistered
from tests.helpers import household_body, problem
from tests.integration.test_eligibility_recompute import _approve

PERSONS = 2
# 分档 (rural, 2023 on): (household income below, per person), in fen.
TIERS = [(10_000 * PERSONS, 50_000), (20_000 * PERSONS, 45_000), (30_000 * PERSONS, 40_000), (40_000 * PERSONS, 35_000)]


def _by_hand(farm_work_fen: int) -> int:
    """The monthly amount, worked out from the tiers: the pension is exempt, so the income is the farm work."""
    per_person = next(amount for below, amount in TIERS if farm_work_fen < below)
    return per_person * PERSONS


REVIEW = {"on": "2024-03-10", "opinion": "年度核查"}


@pytest.fixture
def eligibility_asks_intake(api):
    """Eligibility's review asks intake's API in process; `fail()` puts an intake that cannot be asked there."""
    app = importlib.import_module("services.eligibility.api").app
    app.state.intake = api("intake")

    def fail() -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("intake is down", request=request)

        app.state.intake = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://intake")

    try:
        yield fail
    finally:
        del app.state.intake


async def _household_events(db, household_id: str) -> list[Delivery]:
    """Intake's household.* events about the household, in its outbox's order, as the consumer parses them."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT type, payload FROM intake.outbox WHERE key = :k AND type LIKE '%.household.%' ORDER BY id"),
            {"k": household_id},
        )
        events = [typed_envelope(t).model_validate(p) for t, p in rows]
    return [Delivery(e, e.data) for e in events]


async def _arrive(db, deliveries: list[Delivery]) -> None:
    """The events reach eligibility: its handler for household.registered / household.updated."""
    from services.eligibility.cases.service import record_households
    from services.eligibility.models import platform
    from shared.uow import UnitOfWork

    async with UnitOfWork(session_factory(db), platform, "/tests") as uow:
        await record_households(uow, deliveries)
        await uow.commit()


async def _on_the_roll(api, tokens, db) -> tuple[dict, str]:
    """A household registered at the front desk (farm work 200 yuan a month), its registration arrived at
    eligibility, and a 低保 case approved on its facts: (the household as intake answered, the case id)."""
    r = await api("intake").post("/households", json=household_body(income_fen=20_000), headers=tokens["clerk"])
    assert r.status_code == 201 and r.headers["ETag"] == '"1"', r.text
    household = r.json()
    [registered] = await _household_events(db, household["id"])
    assert isinstance(registered.data, HouseholdRegistered) and registered.data.household_version == 1
    await _arrive(db, [registered])
    case_id = await _approve(api, tokens, session_factory(db), registered.data.snapshot, "dibao")
    case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
    assert case["monthly_amount_fen"] == _by_hand(20_000) == 90_000
    return household, case_id


async def _farm_work(api, tokens, household: dict, fen: int, version: int) -> int:
    """The front desk replaces the household's economic facts: the head's farm work is now `fen` a month. The new
    version (ETag)."""
    head = next(m["id"] for m in household["members"] if m["relation"] == "head")
    body = {
        "incomes": [
            {"member_id": head, "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": fen},
            {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
        ],
        "properties": household["properties"],
        "rigid_expenses": household["rigid_expenses"],
    }
    r = await api("intake").put(
        f"/households/{household['id']}/economic-facts",
        json=body,
        headers={**tokens["clerk"], "If-Match": f'"{version}"'},
    )
    assert r.status_code == 200, r.text
    return int(r.headers["ETag"].strip('"'))


async def _case(api, tokens, case_id: str) -> dict:
    r = await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])
    assert r.status_code == 200, r.text
    return r.json()


async def _review(api, tokens, case_id: str, **body) -> httpx.Response:
    return await api("eligibility").post(
        f"/cases/{case_id}/review", json={**REVIEW, **body}, headers=tokens["reviewer"]
    )


async def _facts_version(db, household_id: str) -> int | None:
    async with db.connect() as conn:
        return (
            await conn.execute(
                text("SELECT version FROM eligibility.household_facts WHERE household_id = :h"), {"h": household_id}
            )
        ).scalar_one()


async def test_a_review_right_after_a_change_at_the_front_desk_waits_for_its_facts(
    api, tokens, db, eligibility_asks_intake
):
    household, case_id = await _on_the_roll(api, tokens, db)
    # The front desk: the head now earns 700 yuan a month (version 2). Its household.updated is not consumed yet.
    assert await _farm_work(api, tokens, household, 70_000, version=1) == 2
    before = await _case(api, tokens, case_id)

    r = await _review(api, tokens, case_id)
    body = problem(r, 409, "household_version")
    assert "still on their way" in body["detail"] and "try again shortly" in body["detail"]
    assert await _case(api, tokens, case_id) == before  # nothing changed: no review step, the old amount
    assert before["monthly_amount_fen"] == 90_000 and "review" not in [s["step"] for s in before["steps"]]

    # The event arrives: the review prices the new facts. 700 yuan for two is below 400 × 2: 350 yuan a person.
    await _arrive(db, (await _household_events(db, household["id"]))[1:])
    assert await _facts_version(db, household["id"]) == 2
    r = await _review(api, tokens, case_id)
    assert r.status_code == 200, r.text
    assert r.json()["monthly_amount_fen"] == _by_hand(70_000) == 70_000
    assert r.json()["steps"][-1]["step"] == "review"


async def test_an_older_household_updated_arriving_after_a_newer_one_changes_nothing(
    api, tokens, db, eligibility_asks_intake
):
    household, case_id = await _on_the_roll(api, tokens, db)
    two = await _farm_work(api, tokens, household, 70_000, version=1)
    three = await _farm_work(api, tokens, household, 50_000, version=two)
    assert (two, three) == (2, 3)
    registered, at_two, at_three = await _household_events(db, household["id"])
    assert (at_two.data.household_version, at_three.data.household_version) == (2, 3)
    await _arrive(db, [at_three])
    await _arrive(db, [at_two])  # a replay of the older change, after the newer one
    assert await _facts_version(db, household["id"]) == 3
    # Both in one run, the older last: the newer still stands.
    await _arrive(db, [at_three, at_two, registered])
    assert await _facts_version(db, household["id"]) == 3

    r = await _review(api, tokens, case_id)  # intake says 3, eligibility holds 3
    assert r.status_code == 200, r.text
    # Version 3's facts: 500 yuan for two is below 300 × 2: 400 yuan a person (version 2's would be 350).
    assert r.json()["monthly_amount_fen"] == _by_hand(50_000) == 80_000


async def test_a_review_naming_the_version_the_official_saw_does_not_ask_intake(
    api, tokens, db, eligibility_asks_intake
):
    _, case_id = await _on_the_roll(api, tokens, db)
    eligibility_asks_intake()  # intake cannot be asked from here on
    before = await _case(api, tokens, case_id)

    r = await _review(api, tokens, case_id)  # without a version, the review would ask intake: 503
    assert r.status_code == 503, r.text
    assert await _case(api, tokens, case_id) == before

    r = await _review(api, tokens, case_id, household_version=2)  # a change eligibility has not seen yet
    problem(r, 409, "household_version")
    assert await _case(api, tokens, case_id) == before

    r = await _review(api, tokens, case_id, household_version=1)  # the version eligibility holds
    assert r.status_code == 200, r.text
    assert r.json()["monthly_amount_fen"] == _by_hand(20_000) == 90_000
    assert r.json()["steps"][-1]["step"] == "review"


async def test_a_review_without_intake_configured_goes_on_the_facts_held(api, tokens, db):
    """No intake API configured (a test, a dry stack): nothing to ask, the review prices the facts held."""
    household, case_id = await _on_the_roll(api, tokens, db)
    await _farm_work(api, tokens, household, 70_000, version=1)
    r = await _review(api, tokens, case_id)
    assert r.status_code == 200 and r.json()["monthly_amount_fen"] == 90_000, r.text
