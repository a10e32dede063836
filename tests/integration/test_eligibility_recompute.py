"""提标补发, eligibility's side, through the API on the real PostgreSQL and Kafka: a 吴起县 standard rise decided
after its start recomputes the cases it affects (domain.md's shape: 450/330 → 490/370 from 1 July, decided in
September; here 吴起县's 2023 urban standard 680 → 720 yuan/month), with the what-if answering the same figures."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from services.eligibility.cases.domain import RecomputedFor
from services.eligibility.cases.repository import CaseRepository, SavedRows, roll_case, saved_row
from services.eligibility.cases.service import open_cases
from services.eligibility.models import ParameterOverride, StandardRecompute, platform
from services.eligibility.policy_admin.in_force import effective_parameters, parameters_as_added
from services.eligibility.recompute.service import (
    ValueChange,
    on_standard_changed,
    recompute,
    recompute_id,
    run_recompute,
)
from services.eligibility.worker import STANDARD_HANDLERS
from shared.consumer import EventConsumer
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period, china_today
from shared.db import session_factory
from shared.events.catalogue import ApplicationSubmitted, StandardChanged, Topic
from shared.jobs import Job
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from shared.uow import UnitOfWork
from tests.conftest import bearer
from tests.helpers import delivery, run_recomputes, walk

COUNTY_OFFICIAL = bearer("official-wuqi", ["clerk", "township_reviewer"], "610626")
FINANCE = bearer("finance-wuqi", ["finance"], "610626")
URBAN_RISE = {
    "region": "610626",
    "key": "dibao.standard.urban",
    "start": "2023-07-01",
    "value": {"per": "month", "fen": 72_000},
    "reference": "吴起县 2023 城市低保提标 (test: 680 → 720元/月)",
}
# Before test_eligibility_workflow's 2031 value (6600元/年), whichever of the two runs first.
RURAL_RISE = {
    "region": "610626",
    "key": "dibao.standard.rural",
    "start": "2024-07-01",
    "value": {"per": "year", "fen": 720_000},
    "reference": "吴起县 2024 农村低保提标 (test: → 7200元/年)",
}


def _member(name: str, born: str, relation: str, **facts) -> dict:
    return {
        "member_id": str(uuid.uuid4()),
        "name": name,
        "birth_date": born,
        "sex": "male",
        "relation": relation,
        **facts,
    }


def _household(village: str, hukou: str, members: list[dict], wages_fen: int) -> HouseholdSnapshot:
    return HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": village,
            "hukou_type": hukou,
            "members": members,
            "incomes": [{"kind": "wages", "subkind": "salary", "monthly_amount_fen": wages_fen}] if wages_fen else [],
            "properties": [{"kind": "housing", "value_fen": 6_000_000}],
        }
    )


async def _approve(api, tokens, sessions, snapshot: HouseholdSnapshot, programme: str) -> str:
    """Accepted on 3 April 2023 and approved through every step of the procedure: on the roll from June."""
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        [case] = await open_cases(
            uow,
            [
                delivery(
                    ApplicationSubmitted(
                        application_id=uuid.uuid4(),
                        household_id=snapshot.household_id,
                        programme=programme,
                        region_code=snapshot.region_code,
                        submitted_on=date(2023, 4, 3),
                        consent_signed=True,
                        separate_register=False,
                        details={},
                        snapshot=snapshot,
                    )
                )
            ],
        )
        await uow.commit()
    eligibility, case_id = api("eligibility"), str(case.id)
    steps = [
        ("investigation", {"on": "2023-04-04"}),
        ("home-visits", {"on": "2023-04-05", "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("economic-check", {"on": "2023-04-06", "result": "consistent"}),
        ("township-opinion", {"on": "2023-04-07", "recommendation": "approve", "opinion": "建议纳入"}),
    ]
    if programme == "dibao":
        steps.append(("appraisal", {"on": "2023-04-10", "result": "agreed", "participants": 9, "opinion": "同意"}))
    for path, body in steps:
        r = await eligibility.post(f"/cases/{case_id}/{path}", json=body, headers=COUNTY_OFFICIAL)
        assert r.status_code == 200, (path, r.text)
    after_notice = str(date.fromisoformat(r.json()["notice_ends_on"]) + timedelta(days=1))
    r = await eligibility.post(f"/cases/{case_id}/notice/close", json={"on": after_notice}, headers=COUNTY_OFFICIAL)
    assert r.status_code == 200, r.text
    r = await eligibility.post(
        f"/cases/{case_id}/decision",
        headers=tokens["approver"],
        json={"on": "2023-05-22", "decision": "approve", "opinion": "同意"},
    )
    assert r.status_code == 200 and r.json()["effective_month"] == "2023-06", r.text
    return case_id


@pytest.fixture(scope="module")
async def roll(api, tokens, db) -> dict[str, str]:
    """Four 吴起县 cases on the roll from June 2023: two urban 低保 households on 补差 in two townships, an urban
    特困 person, and a rural 低保 household on the tiers."""
    sessions = session_factory(db)
    cases = {
        "gap_two": (
            _household(
                "610626001001",
                "urban",
                [_member("张伟", "1970-02-01", "head"), _member("李芳", "1972-03-04", "spouse")],
                60_000,
            ),
            "dibao",
        ),
        "gap_three": (
            _household(
                "610626104001",
                "urban",
                [
                    _member("王强", "1968-05-06", "head"),
                    _member("赵敏", "1970-07-08", "spouse"),
                    _member("王小明", "2008-09-10", "child", student=True),
                ],
                90_000,
            ),
            "dibao",
        ),
        "tekun": (
            _household(
                "610626001002",
                "urban",
                [_member("孙老汉", "1950-03-10", "head", labour_capacity="none", has_capable_supporter=False)],
                0,
            ),
            "tekun",
        ),
        "tier": (
            _household(
                "610626101201",
                "rural",
                [
                    _member("刘志明", "1962-04-15", "head", labour_capacity="partial"),
                    _member("高桂芳", "1965-08-02", "spouse"),
                    _member("刘小军", "2010-09-03", "child", student=True),
                ],
                30_000,
            ),
            "dibao",
        ),
    }
    return {name: await _approve(api, tokens, sessions, s, p) for name, (s, p) in cases.items()}


@pytest.fixture(scope="module")
async def kafka(infra, db):
    producer = make_producer(infra.bootstrap, "test-standard-rise")
    await producer.start()
    sessions = session_factory(db)
    consumer = EventConsumer(
        name="eligibility.standards",
        topics=[Topic.ELIGIBILITY_DECISIONS.value],
        handlers=STANDARD_HANDLERS,
        bootstrap=infra.bootstrap,
        producer=producer,
        uow_factory=lambda: UnitOfWork(sessions, platform, "/services/eligibility"),
    )
    yield {"producer": producer, "consumer": consumer, "bootstrap": infra.bootstrap, "sessions": sessions}
    await producer.stop()


async def _relay(db, producer) -> None:
    relay = OutboxRelay(db, platform, producer, service="eligibility")
    while await relay.relay_once():
        pass


async def _records(bootstrap: str, wanted) -> list:
    """Every record on eligibility.decisions whose CloudEvent matches `wanted`."""
    reader = AIOKafkaConsumer(
        Topic.ELIGIBILITY_DECISIONS.value,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    found = []
    try:
        while batch := await reader.getmany(timeout_ms=1500):
            found += [r for records in batch.values() for r in records if wanted(orjson.loads(r.value))]
    finally:
        await reader.stop()
    return found


async def _rise_through_kafka(api, tokens, db, kafka, body: dict) -> tuple[str, object]:
    """An admin adds the value; its event goes out through the relay and Kafka to eligibility's consumer."""
    cid = f"rise-{uuid.uuid4().hex[:12]}"
    r = await api("eligibility").post("/parameters", json=body, headers={**tokens["admin"], "X-Correlation-ID": cid})
    assert r.status_code == 201, r.text
    await _relay(db, kafka["producer"])
    [record] = await _records(
        kafka["bootstrap"], lambda e: e.get("correlationid") == cid and e["type"].endswith("policy.standard_changed.v1")
    )
    await kafka["consumer"].process([record])  # queues the recompute
    assert await run_recomputes(db) >= 1  # the worker's runner: chunk by chunk, committed
    await _relay(db, kafka["producer"])
    return cid, record


async def _amount_changes(bootstrap: str, cid: str) -> dict[str, list[dict]]:
    """The amount changes the recompute published (read back from Kafka), by case id."""
    by_case: dict[str, list[dict]] = {}
    for r in await _records(
        bootstrap, lambda e: e.get("correlationid") == cid and e["type"].endswith("case.amount_changed.v1")
    ):
        data = orjson.loads(r.value)["data"]
        by_case.setdefault(data["case_id"], []).append(data)
    return by_case


async def _counts(db) -> tuple[int, int]:
    async with db.connect() as conn:
        outbox = (await conn.execute(text("SELECT count(*) FROM eligibility.outbox"))).scalar_one()
        changed = (await conn.execute(text("SELECT max(updated_at)::text FROM eligibility.cases"))).scalar_one()
    return outbox, changed


async def test_a_rise_decided_two_months_late_changes_exactly_the_affected_amounts_from_its_start(
    api, tokens, db, kafka, roll
):
    before = await _counts(db)
    r = await api("eligibility").post(
        "/parameters/what-if", headers=FINANCE, json={**URBAN_RISE, "paid_through": "2023-08"}
    )
    assert r.status_code == 200, r.text
    what_if = r.json()
    assert await _counts(db) == before  # a dry run writes nothing (its audit row aside)
    townships = {t["township"]: t for t in what_if["townships"]}
    # 补差: 680×2 − 600 = 760 → 720×2 − 600 = 840 yuan; July and August were paid at 760: back-pay 2 × 80.
    assert townships["610626001"]["name"] == "吴起街道"
    assert townships["610626104"]["back_pay_fen"] >= 2 * 12_000

    cid, record = await _rise_through_kafka(api, tokens, db, kafka, URBAN_RISE)
    # From the rise's month: a later dated value of the key in force in the county (another module's test adds one
    # for 2030) starts a run of its own, restated from its month, which the what-if's figures for this month omit.
    changes = {
        case: [e for e in per_case if e["effective_month"] == "2023-07"]
        for case, per_case in (await _amount_changes(kafka["bootstrap"], cid)).items()
    }
    assert changes[roll["gap_two"]] == [
        {
            "case_id": roll["gap_two"],
            "household_id": changes[roll["gap_two"]][0]["household_id"],
            "programme": "dibao",
            "region_code": "610626001001",
            "previous_monthly_amount_fen": 76_000,
            "monthly_amount_fen": 84_000,
            "effective_month": "2023-07",
        }
    ]
    [three] = changes[roll["gap_three"]]
    assert (three["previous_monthly_amount_fen"], three["monthly_amount_fen"], three["effective_month"]) == (
        114_000,
        126_000,
        "2023-07",
    )  # 680×3 − 900 → 720×3 − 900
    # 特困 is paid its own basic standard (10,608 a year = 884 a month) but never below 1.3 × the 低保 standard
    # (民发〔2021〕43号): at 720 the floor is 936, so the rise lifts it too: 884 + 210 care → 936 + 210.
    [tekun] = changes[roll["tekun"]]
    assert (tekun["previous_monthly_amount_fen"], tekun["monthly_amount_fen"], tekun["effective_month"]) == (
        109_400,
        114_600,
        "2023-07",
    )
    assert roll["tier"] not in changes  # a rural household's rule never read the urban standard

    # The what-if's figures are what the recompute did, township by township.
    events = [e for per_case in changes.values() for e in per_case]
    by_township: dict[str, dict] = {}
    for e in events:
        t = by_township.setdefault(e["region_code"][:9], {"households": set(), "before": 0, "after": 0, "back": 0})
        t["households"].add(e["household_id"])
        t["before"] += e["previous_monthly_amount_fen"]
        t["after"] += e["monthly_amount_fen"]
        months = Period.parse(e["effective_month"]).months_until(Period(2023, 8)) + 1
        t["back"] += max(0, e["monthly_amount_fen"] - e["previous_monthly_amount_fen"]) * max(0, months)
    assert {code: (len(t["households"]), t["before"], t["after"], t["back"]) for code, t in by_township.items()} == {
        t["township"]: (t["households"], t["monthly_before_fen"], t["monthly_after_fen"], t["back_pay_fen"])
        for t in what_if["townships"]
    }
    assert what_if["cases_changed"] == len(events)
    assert townships["610626001"]["persons"] >= 2 and what_if["total"]["persons"] >= 5

    case = (await api("eligibility").get(f"/cases/{roll['gap_two']}", headers=tokens["approver"])).json()
    assert case["monthly_amount_fen"] == 84_000
    # Its 计算依据 is the latest decided pricing: the rise, or a value dated after it (another module's, for 2030).
    [standard] = [t for t in case["trace"] if t["key"] == "dibao.standard.urban"]
    assert standard["start"] > "2023-07-01" or standard["value"] == {"per": "month", "fen": 72_000}, standard
    assert case["steps"][-1]["step"] == "standard_recompute"
    tekun = (await api("eligibility").get(f"/cases/{roll['tekun']}", headers=tokens["approver"])).json()
    assert tekun["monthly_amount_fen"] == 114_600 and tekun["steps"][-1]["step"] == "standard_recompute"

    # Its progress and figures, as the admin follows them, equal the what-if's (the townships of 吴起县).
    rid = recompute_id("610626", "dibao.standard.urban", date(2023, 7, 1))
    r = await api("eligibility").get(f"/recomputes/{rid}", headers=FINANCE)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["progress"] == {
        "done": done["cases_examined"],
        "total": done["cases_examined"],
    }
    assert done["cases_changed"] == what_if["cases_changed"] == len(events)
    # The same households, persons and monthly cost; back-pay counted to last month (the what-if's to August 2023).
    same = ("township", "name", "households", "persons", "monthly_before_fen", "monthly_after_fen")
    assert [{k: t[k] for k in same} for t in done["townships"]] == [
        {k: t[k] for k in same} for t in what_if["townships"]
    ]
    last = Period.of(china_today()).plus(-1)
    back: dict[str, int] = {}
    for e in events:
        months = Period.parse(e["effective_month"]).months_until(last) + 1
        rise = e["monthly_amount_fen"] - e["previous_monthly_amount_fen"]
        back[e["region_code"][:9]] = back.get(e["region_code"][:9], 0) + rise * months
    assert {t["township"]: t["back_pay_fen"] for t in done["townships"]} == back
    assert done["total"]["back_pay_fen"] == sum(back.values())

    # Replayed: the inbox recognises the event, and the handler queues no second recompute; the recompute itself,
    # run again over the same cases, finds nothing to change.
    after = await _counts(db)
    await kafka["consumer"].process([record])
    async with UnitOfWork(kafka["sessions"], platform, "/services/eligibility") as uow:
        assert (
            await on_standard_changed(uow, StandardChanged.model_validate(orjson.loads(record.value)["data"])) is None
        )
        again = StandardRecompute(
            **{c: getattr(await uow.session.get(StandardRecompute, rid), c) for c in _QUEUED},
            id=uuid.uuid4(),
            status="queued",
        )
        uow.session.add(again)
        await uow.commit()
    assert await run_recomputes(db, recompute_id=again.id) == 1
    rerun = (await api("eligibility").get(f"/recomputes/{again.id}", headers=FINANCE)).json()
    assert rerun["cases_changed"] == 0 and rerun["cases_examined"] == done["cases_examined"] >= 3
    assert await _counts(db) == after


# A recompute row's columns as it is queued (the rest are its progress).
_QUEUED = ("region", "scope", "key", "start", "reference", "correlation_id", "paid_through")


async def test_a_rise_that_moves_no_tier_amount_emits_nothing(api, tokens, db, kafka, roll):
    r = await api("eligibility").post("/parameters/what-if", headers=FINANCE, json=RURAL_RISE)
    assert r.status_code == 200, r.text
    assert r.json()["cases_examined"] >= 1
    cid, _ = await _rise_through_kafka(api, tokens, db, kafka, RURAL_RISE)
    changes = await _amount_changes(kafka["bootstrap"], cid)
    assert roll["tier"] not in changes and roll["tekun"] not in changes
    case = (await api("eligibility").get(f"/cases/{roll['tier']}", headers=tokens["approver"])).json()
    assert case["monthly_amount_fen"] == 135_000  # 450 yuan × 3 either way


async def test_what_if_answers_within_the_callers_region_and_refuses_bad_input(api, tokens, roll):
    body = {**URBAN_RISE, "start": "2023-10-01", "value": {"per": "month", "fen": 76_000}, "paid_through": "2023-12"}
    township = bearer("finance-changguanmiao", ["finance"], "610626104")
    r = await api("eligibility").post("/parameters/what-if", json=body, headers=township)
    assert r.status_code == 200, r.text
    assert [t["township"] for t in r.json()["townships"]] == ["610626104"]
    # 720×3 − 900 = 1260 → 760×3 − 900 = 1380 from October; October to December owed 3 × 120 yuan.
    assert r.json()["total"]["back_pay_fen"] >= 3 * 12_000

    other_county = bearer("finance-zhidan", ["finance"], "610625")
    r = await api("eligibility").post("/parameters/what-if", json=body, headers=other_county)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "region"
    assert (await api("eligibility").post("/parameters/what-if", json=body, headers=tokens["clerk"])).status_code == 403
    for bad, field in (
        ({**body, "key": "dibao.standard.moon"}, "key"),
        ({**body, "value": {"per": "day"}}, "value"),
        ({**body, "region": "999999"}, "region"),
        ({**body, "paid_through": "2023-13"}, "paid_through"),
    ):
        r = await api("eligibility").post("/parameters/what-if", json=bad, headers=FINANCE)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await api("eligibility").post("/parameters/what-if", json=URBAN_RISE, headers=FINANCE)
    assert r.status_code == 409  # already decided: nothing to try


async def test_a_case_changed_between_the_recomputes_read_and_its_write_is_left_to_its_review(api, tokens, db):
    """The recompute writes a chunk only where each row is still the version it read: a review committed in
    between wins, and the re-priced case gets no amount, step or audit of the rise."""
    sessions = session_factory(db)
    two = [_member("周平", "1971-01-02", "head"), _member("吴兰", "1973-02-03", "spouse")]
    kept = await _approve(api, tokens, sessions, _household("610626001003", "urban", two, 60_000), "dibao")
    two = [_member("郑军", "1969-03-04", "head"), _member("冯丽", "1974-05-06", "spouse")]
    raced = await _approve(api, tokens, sessions, _household("610626001003", "urban", two, 60_000), "dibao")
    before = (await api("eligibility").get(f"/cases/{raced}", headers=tokens["approver"])).json()
    rise = RecomputedFor(region="610626", key="dibao.standard.urban", start=date(2023, 9, 1))
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        params = (await effective_parameters(uow, fresh=True)).with_value(
            rise.region, rise.key, rise.start, {"per": "month", "fen": 75_000}, "test: 750元/月 from September"
        )
        repo = CaseRepository(uow.session)
        chunk = []
        for row in await repo.roll_rows([uuid.UUID(kept), uuid.UUID(raced)]):
            case, version = roll_case(row)
            assert case.reprice(params, rise, "test rise", china_today())
            chunk.append((case, version, case.collect_steps()))
        rows = SavedRows.of([saved_row(case, version, steps) for case, version, steps in chunk])
        async with sessions() as review:  # a township's review commits meanwhile
            await review.execute(text("UPDATE eligibility.cases SET updated_at = now() WHERE id = :id"), {"id": raced})
            await review.commit()
        assert await repo.save_many(rows) == {uuid.UUID(kept)}
        await uow.commit()
    kept_now = (await api("eligibility").get(f"/cases/{kept}", headers=tokens["approver"])).json()
    raced_now = (await api("eligibility").get(f"/cases/{raced}", headers=tokens["approver"])).json()
    assert kept_now["monthly_amount_fen"] == 750 * 2 * 100 - 60_000  # 补差 at 750 for two, less wages
    assert kept_now["steps"][-1]["step"] == "standard_recompute"
    assert raced_now["monthly_amount_fen"] == before["monthly_amount_fen"]
    assert [s["step"] for s in raced_now["steps"]] == [s["step"] for s in before["steps"]]


# Five urban 低保 households of a village (persons, wages in fen a month), re-priced below at 750 yuan a person.
FIVE = {"one": (1, 20_000), "two": (2, 60_000), "three": (3, 90_000), "two_no_wages": (2, 0), "one_more": (1, 35_000)}


async def _five_in(api, tokens, sessions, village: str) -> tuple[dict[str, str], StandardRecompute]:
    """FIVE approved in `village`, and a recompute of 吴起县's urban standard from September 2023 over that village
    alone (not yet queued: the caller adds it)."""
    names = iter(["钱一", "钱二", "钱三", "孙一", "孙二", "孙三", "李一", "李二", "周一"])
    cases = {
        label: await _approve(
            api,
            tokens,
            sessions,
            _household(
                village,
                "urban",
                [_member(next(names), f"197{i}-01-0{i + 1}", "head" if i == 0 else "spouse") for i in range(n)],
                wages,
            ),
            "dibao",
        )
        for label, (n, wages) in FIVE.items()
    }
    queued = StandardRecompute(
        id=uuid.uuid4(),
        region="610626",
        scope=village,  # the value is the county's; only this village's cases are re-priced here
        key="dibao.standard.urban",
        start=date(2023, 9, 1),
        reference="test: 750元/月 from September",
        status="queued",
        paid_through=Period.of(china_today()).plus(-1).first_day,
    )
    return cases, queued


async def _raised_params(sessions, queued: StandardRecompute):
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        return (await effective_parameters(uow, fresh=True)).with_value(
            queued.region, queued.key, queued.start, {"per": "month", "fen": 75_000}, queued.reference
        )


async def test_a_recompute_in_chunks_smaller_than_its_cases_reprices_every_one_of_them(api, tokens, db):
    """The recompute reads the chunk after while it prices one and writes the one before, each chunk committed with
    its progress: five cases in chunks of two (the last one short), the worker stopped after the first chunk and
    started again, are each re-priced once, to the fen, and the what-if in the same chunks agrees."""
    sessions = session_factory(db)
    village = "610626001077"  # no other test's cases live here: the recompute below is scoped to it
    cases, queued = await _five_in(api, tokens, sessions, village)
    change = ValueChange(queued.region, queued.key, queued.start, queued.reference)
    params = await _raised_params(sessions, queued)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        kwargs = {"paid_through": Period.of(queued.paid_through), "today": china_today(), "scope": village}
        kwargs["chunk_size"] = 2
        what_if = await recompute(uow, params, change, **kwargs)
        uow.session.add(queued)
        await uow.commit()
    # The worker stops (a deploy) once the first chunk is written: the recompute shows how far it got ...
    stop = asyncio.Event()
    stopping = _SignalAfter(4, stop, lambda: UnitOfWork(sessions, platform, "/services/eligibility"))
    assert not await run_recompute(stopping, queued.id, 2, stop, params)
    half = (await api("eligibility").get(f"/recomputes/{queued.id}", headers=FINANCE)).json()
    assert (half["status"], half["progress"], half["cases_changed"]) == ("running", {"done": 2, "total": 5}, 2)
    # ... and the next worker carries it on from there.
    assert await run_recomputes(db, 2, recompute_id=queued.id, params=params) == 1
    done = (await api("eligibility").get(f"/recomputes/{queued.id}", headers=FINANCE)).json()
    assert done["status"] == "done" and done["finished_at"] is not None
    # 补差 at 750 yuan a person less the household's wages, for every one of the five.
    expected = {label: 75_000 * n - wages for label, (n, wages) in FIVE.items()}
    counts = ("cases_examined", "cases_changed", "cases_unchanged", "cases_needing_review")
    assert [done[c] for c in counts] == [5, 5, 0, 0] and done["progress"] == {"done": 5, "total": 5}
    assert (what_if.examined, what_if.changed) == (5, 5)
    assert done["total"]["monthly_after_fen"] == what_if.rows()[0].monthly_after_fen == sum(expected.values())
    assert done["total"]["households"] == 5 and done["total"]["persons"] == 9
    # The township's auditor sees its figures; another village's, none (a township's figures count every village).
    township = bearer("auditor-wuqi-jiedao", ["auditor"], "610626001")
    assert (await api("eligibility").get(f"/recomputes/{queued.id}", headers=township)).json()["total"] == done["total"]
    village = bearer("auditor-village", ["auditor"], "610626001003")
    seen = (await api("eligibility").get(f"/recomputes/{queued.id}", headers=village)).json()
    assert seen["status"] == "done" and seen["townships"] == [] and seen["total"]["households"] == 0
    for label, case_id in cases.items():
        case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
        assert case["monthly_amount_fen"] == expected[label], label
        assert [s["step"] for s in case["steps"]].count("standard_recompute") == 1, label


async def test_two_workers_running_one_recompute_reprice_each_case_once(api, tokens, db):
    """Two worker replicas pick up the same recompute at once (chunks of one case): a chunk is written by one runner
    only — the other, finding the recompute moved on or locked, stops — and every case is re-priced once, to the
    fen, the counts exact."""
    sessions = session_factory(db)
    cases, queued = await _five_in(api, tokens, sessions, "610626001078")
    params = await _raised_params(sessions, queued)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        uow.session.add(queued)
        await uow.commit()

    def units() -> UnitOfWork:
        return UnitOfWork(sessions, platform, "/services/eligibility")

    started = asyncio.Event()  # the first replica has begun and read its first chunk

    async def second() -> bool:
        await started.wait()
        return await run_recompute(Job(units), queued.id, 1, None, params)

    first = run_recompute(_SignalAfter(2, started, units), queued.id, 1, None, params)
    finished = await asyncio.gather(first, second())
    assert finished.count(True) <= 1
    if not any(finished):  # each stood aside at a moment the other held the row: the next round finishes it
        assert await run_recomputes(db, 1, recompute_id=queued.id, params=params) == 1
    done = (await api("eligibility").get(f"/recomputes/{queued.id}", headers=FINANCE)).json()
    counts = ("cases_examined", "cases_changed", "cases_unchanged", "cases_needing_review")
    assert done["status"] == "done" and [done[c] for c in counts] == [5, 5, 0, 0]
    for label, case_id in cases.items():
        case = (await api("eligibility").get(f"/cases/{case_id}", headers=tokens["approver"])).json()
        (n, wages) = FIVE[label]
        assert case["monthly_amount_fen"] == 75_000 * n - wages, label
        assert [s["step"] for s in case["steps"]].count("standard_recompute") == 1, label


class _SignalAfter(Job):
    """A runner's steps, `event` set once `steps` of them have committed (a stop signal, or a go for another)."""

    def __init__(self, steps: int, event: asyncio.Event, units) -> None:
        super().__init__(units)
        self.left, self.event = steps, event

    async def step(self, work):
        result = await super().step(work)
        self.left -= 1
        if self.left == 0:
            self.event.set()
        return result


async def test_recomputes_are_seen_by_the_regions_they_reach_and_page_like_every_list(api, tokens, db):
    """A value's recompute is followed from the answer that added it; a county sees its own and its province's,
    each with only its own townships' figures, another county's not at all (404, not in its list)."""
    sessions = session_factory(db)
    # The public notice's length, dated 2031 at the 7 days it is: no rule prices with it (its recomputes examine
    # nothing) and no deadline moves.
    values = {"610626": "procedure.notice_days", "61": "procedure.notice_days", "610625": "procedure.notice_days"}
    ids = {}
    for region, key in values.items():
        admin = bearer(f"admin-{region}", ["admin"], region)
        body = {"region": region, "key": key, "start": "2031-03-01", "value": 7}
        r = await api("eligibility").post("/parameters", json={**body, "reference": "test"}, headers=admin)
        assert r.status_code == 201, r.text
        ids[region] = r.json()["recompute"].rsplit("/", 1)[1]
        assert r.json()["recompute"] == f"/recomputes/{recompute_id(region, key, date(2031, 3, 1))}"
        async with UnitOfWork(sessions, platform, "/services/eligibility") as uow:  # the consumer's handler
            event = StandardChanged.model_validate({**body, "reference": "test"})
            assert await on_standard_changed(uow, event) is not None
            await uow.commit()
    queued = (await api("eligibility").get(f"/recomputes/{ids['610626']}", headers=FINANCE)).json()
    assert queued["status"] == "queued" and queued["progress"] == {"done": 0, "total": None}
    assert await run_recomputes(db) >= 3
    wuqi = await walk(api("eligibility"), "/recomputes", FINANCE, {"start": "2031-03-01"}, limit=1)
    assert {r["id"] for r in wuqi} == {ids["610626"], ids["61"]}  # one a page: the cursor reaches both
    for rid in (ids["610626"], ids["61"]):
        done = (await api("eligibility").get(f"/recomputes/{rid}", headers=FINANCE)).json()
        assert done["status"] == "done" and done["cases_changed"] == 0 and done["progress"] == {"done": 0, "total": 0}
        assert all(t["township"].startswith("610626") for t in done["townships"])
    zhidan = bearer("finance-zhidan", ["finance"], "610625")
    assert (await api("eligibility").get(f"/recomputes/{ids['610626']}", headers=zhidan)).status_code == 404
    assert (await api("eligibility").get(f"/recomputes/{ids['610625']}", headers=FINANCE)).status_code == 404
    theirs = await walk(api("eligibility"), "/recomputes", zhidan, {"start": "2031-03-01"})
    assert {r["id"] for r in theirs} == {ids["610625"], ids["61"]}
    assert (await api("eligibility").get(f"/recomputes/{ids['61']}", headers=tokens["clerk"])).status_code == 403
    r = await api("eligibility").get("/recomputes", params={"cursor": "nonsense"}, headers=FINANCE)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


async def test_a_recompute_prices_with_the_values_as_they_stood_when_its_value_was_added(db):
    """Two values added one after the other (an urban standard, then the minors' 分类施保 addition): the first's
    recompute prices with the first alone — the second's effect is its own recompute's — and the second's with
    both. (Dated 2040: no test prices a month that late.)"""
    sessions = session_factory(db)
    start = date(2040, 1, 1)
    async with UnitOfWork(sessions, platform, "/tests") as uow:
        before = await effective_parameters(uow, fresh=True)
        minor_before = before.at("dibao.classified.minor_fen", start, "610626001001").value
        for key, value in (
            ("dibao.standard.urban", {"per": "month", "fen": 99_000}),
            ("dibao.classified.minor_fen", 7_700),
        ):
            uow.session.add(
                ParameterOverride(
                    region="610626", key=key, start=start, value={"v": value}, reference="t", created_by="t"
                )
            )
            await uow.session.flush()
        first = await parameters_as_added(uow, "610626", "dibao.standard.urban", start)
        second = await parameters_as_added(uow, "610626", "dibao.classified.minor_fen", start)
        await uow.session.rollback()  # nothing of it stays for the other tests
    assert first.at("dibao.standard.urban", start, "610626001001").value.monthly_fen() == 99_000
    assert first.at("dibao.classified.minor_fen", start, "610626001001").value == minor_before
    assert second.at("dibao.standard.urban", start, "610626001001").value.monthly_fen() == 99_000
    assert second.at("dibao.classified.minor_fen", start, "610626001001").value == 7_700
