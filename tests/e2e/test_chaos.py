"""Chaos run: the whole chain keeps its promises while its processes are killed at random.

A driver plays township front desks on a flaky network (every request that failed or got no answer is sent again,
POSTs to intake with the same Idempotency-Key) and walks 低保 applications through the procedure to the county
decision, while a killer SIGKILLs a random one of the eight service processes at a random moment and restarts it,
and restarts PostgreSQL and Kafka once each. Afterwards: every application the driver sent exists exactly once with
exactly one case, every approval has exactly one roll entry, nothing new is on a DLQ, no outbox row is unsent, and
every 5xx seen was a 503 with Retry-After while PostgreSQL or Kafka was down.

CI runs the short form (`CHAOS_KILLS`, default 10); `make chaos` runs the long form (100 kills).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from shared.core.period import china_today
from tests.conftest import wait_for
from tests.helpers import household_body, idem

KILLS = int(os.environ.get("CHAOS_KILLS", "10"))
MIN_APPLICATIONS = int(os.environ.get("CHAOS_APPLICATIONS", "12"))
SEED = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
CONCURRENCY = 4
# An outage's effects outlast it by a little: pools reconnect, the broker elects leaders again.
OUTAGE_TAIL_S = 20.0
RECEIVED = china_today() - timedelta(days=20)


def _on(days_after: int) -> str:
    return (RECEIVED + timedelta(days=days_after)).isoformat()


# The procedure as the driver walks it: from each status, the step that moves the case on.
NEXT_STEP: dict[str, list[tuple[str, str, dict]]] = {
    "accepted": [("clerk", "investigation", {"on": _on(1)})],
    "investigation": [
        ("clerk", "home-visits", {"on": _on(2), "investigators": ["张强", "李娜"], "findings": "与申报一致"}),
        ("reviewer", "economic-check", {"on": _on(3), "result": "consistent"}),
    ],
    "township_review": [
        ("reviewer", "township-opinion", {"on": _on(4), "recommendation": "approve", "opinion": "建议纳入"})
    ],
    "appraisal": [
        ("reviewer", "appraisal", {"on": _on(5), "result": "agreed", "participants": 11, "opinion": "评议通过"})
    ],
    "public_notice": [("reviewer", "notice/close", {"on": _on(12)})],
    "county_review": [("approver", "decision", {"on": _on(13), "decision": "approve", "opinion": "同意纳入"})],
}


@dataclass
class Outages:
    """When PostgreSQL or Kafka was down: the only times a 5xx is acceptable."""

    windows: list[tuple[float, float]] = field(default_factory=list)

    def covers(self, t: float) -> bool:
        return any(start <= t <= end + OUTAGE_TAIL_S for start, end in self.windows)


@dataclass
class Seen:
    server_errors: list[tuple[float, int, str | None, str]] = field(default_factory=list)
    retries: int = 0
    applications: dict[str, str] = field(default_factory=dict)  # application id → household id
    approved_cases: set[str] = field(default_factory=set)


class FlakyFrontDesk:
    """Sends each request until it gets a definite answer, as a front-desk app on a bad network does."""

    def __init__(self, http: httpx.AsyncClient, seen: Seen) -> None:
        self.http, self.seen = http, seen

    async def send(self, method: str, url: str, *, ok: tuple[int, ...], **kwargs) -> httpx.Response:
        delay = 0.2
        while True:
            try:
                r = await self.http.request(method, url, timeout=15, **kwargs)
                if r.status_code in ok or 400 <= r.status_code < 500:
                    return r
                self.seen.server_errors.append((time.time(), r.status_code, r.headers.get("Retry-After"), url))
            except httpx.TransportError:
                pass  # no answer: the process was killed or is restarting
            self.seen.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 3.0)


async def _journey(desk: FlakyFrontDesk, stack, tokens, n: int, approve: bool) -> None:
    intake, eligibility = stack.url("intake"), stack.url("eligibility")
    tag = uuid.uuid4().hex[:12]
    body = household_body(members=3)
    r = await desk.send(
        "POST", f"{intake}/households", json=body, headers=idem(tokens["clerk"], f"hh-{tag}"), ok=(200, 201)
    )
    assert r.status_code in (200, 201), r.text
    hid = r.json()["id"]
    r = await desk.send(
        "POST",
        f"{intake}/applications",
        headers=idem(tokens["clerk"], f"app-{tag}"),
        json={"household_id": hid, "programme": "dibao", "consent_signed": True, "received_on": RECEIVED.isoformat()},
        ok=(200, 201),
    )
    assert r.status_code in (200, 201), r.text
    aid = r.json()["id"]
    desk.seen.applications[aid] = hid
    if not approve:
        return
    case_id = None
    while case_id is None:
        r = await desk.send("GET", f"{intake}/applications/{aid}", headers=tokens["clerk"], ok=(200,))
        case_id = r.json().get("case_id")
        if case_id is None:
            await asyncio.sleep(0.5)
    # Each round reads the case and takes the step its status calls for; a step whose answer was lost is seen
    # done on the next read, and a 409 for a step already taken just means reading again.
    for _ in range(200):
        r = await desk.send("GET", f"{eligibility}/cases/{case_id}", headers=tokens["approver"], ok=(200,))
        status = r.json()["status"]
        if status == "approved":
            desk.seen.approved_cases.add(case_id)
            return
        for who, path, step in NEXT_STEP[status]:
            r = await desk.send(
                "POST", f"{eligibility}/cases/{case_id}/{path}", json=step, headers=tokens[who], ok=(200,)
            )
            assert r.status_code in (200, 409), (path, r.text)
    raise AssertionError(f"case {case_id} of journey {n} never reached approval")


async def _dlq_total(bootstrap: str) -> int:
    """Messages ever written to any dead-letter topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        dlqs = [t for t in await consumer.topics() if t.endswith(".dlq")]
        ends = await consumer.end_offsets(
            [TopicPartition(t, p) for t in dlqs for p in consumer.partitions_for_topic(t) or ()]
        )
        return sum(ends.values())
    finally:
        await consumer.stop()


async def _scalar(db, sql: str, **params):
    async with db.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def test_chaos_nothing_lost_nothing_doubled(stack, http, tokens, db, infra):
    rng = random.Random(SEED)
    seen, outages = Seen(), Outages()
    dlq_before = await _dlq_total(infra.bootstrap)
    desk = FlakyFrontDesk(http, seen)
    processes = [f"{s}-{kind}" for s in stack.ports for kind in ("api", "worker")]
    kills = 0
    chaos_done = asyncio.Event()

    async def restart(name: str) -> None:
        service, kind = name.rsplit("-", 1)
        (stack.start_api if kind == "api" else stack.start_worker)(service)

    async def killer() -> None:
        nonlocal kills
        at_pg, at_kafka = rng.sample(range(2, max(KILLS, 4)), 2)
        infra_at = {at_pg: "postgres", at_kafka: "kafka"}
        try:
            while kills < KILLS:
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                name = rng.choice(processes)
                stack.kill(name)
                kills += 1
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                await restart(name)
                if (what := infra_at.pop(kills, None)) is not None:
                    start = time.time()
                    if what == "postgres":
                        await asyncio.to_thread(infra.pg.stop)
                        await asyncio.sleep(rng.uniform(1.0, 4.0))
                        await asyncio.to_thread(infra.pg.start)
                    else:
                        await asyncio.to_thread(infra.kafka.kill)
                        await asyncio.sleep(rng.uniform(1.0, 4.0))
                        await asyncio.to_thread(infra.kafka.start)
                    outages.windows.append((start, time.time()))
            for what in infra_at.values():  # both infrastructure restarts happen even if the draw collided
                start = time.time()
                await asyncio.to_thread(infra.pg.stop if what == "postgres" else infra.kafka.kill)
                await asyncio.to_thread(infra.pg.start if what == "postgres" else infra.kafka.start)
                outages.windows.append((start, time.time()))
        finally:
            chaos_done.set()

    async def driver() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        journeys: list[asyncio.Task] = []
        n = 0
        while not chaos_done.is_set() or n < MIN_APPLICATIONS:
            await sem.acquire()
            task = asyncio.create_task(_journey(desk, stack, tokens, n, approve=n % 3 != 2))
            task.add_done_callback(lambda _t: sem.release())
            journeys.append(task)
            n += 1
        await asyncio.gather(*journeys)

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(killer(), driver()), timeout=180 + KILLS * 30)
    await stack.wait_healthy()
    await db.dispose()  # the suite's own pooled connections did not survive the PostgreSQL restart

    approved, applications = seen.approved_cases, seen.applications
    ids = [uuid.UUID(a) for a in applications]

    async def settled() -> bool:
        unsent = sum([await _scalar(db, f"SELECT count(*) FROM {s}.outbox WHERE sent_at IS NULL") for s in stack.ports])
        opened = await _scalar(
            db, "SELECT count(DISTINCT application_id) FROM eligibility.cases WHERE application_id = ANY(:ids)", ids=ids
        )
        enrolled = await _scalar(
            db,
            "SELECT count(DISTINCT case_id) FROM payments.beneficiaries WHERE case_id = ANY(:ids)",
            ids=[uuid.UUID(c) for c in approved],
        )
        return unsent == 0 and opened == len(ids) and enrolled == len(approved)

    await wait_for(settled, timeout=180, interval=1)

    in_intake = await _scalar(db, "SELECT count(*) FROM intake.applications WHERE id = ANY(:ids)", ids=ids)
    households = [uuid.UUID(h) for h in applications.values()]
    per_household = await _scalar(
        db,
        "SELECT max(n) FROM (SELECT count(*) n FROM intake.applications "
        "WHERE household_id = ANY(:h) GROUP BY household_id) x",
        h=households,
    )
    cases = await _scalar(db, "SELECT count(*) FROM eligibility.cases WHERE application_id = ANY(:ids)", ids=ids)
    # Counted per household and programme, which no unique index guards (beneficiaries.case_id has one): a
    # household on the roll twice for a programme (a second case, a replayed event) shows as 2.
    roll, twice = (
        await _scalar(
            db,
            "SELECT count(DISTINCT (household_id, programme)) FROM payments.beneficiaries WHERE case_id = ANY(:ids)",
            ids=[uuid.UUID(c) for c in approved],
        ),
        await _scalar(
            db,
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM payments.beneficiaries "
            "WHERE household_id IN (SELECT household_id FROM payments.beneficiaries WHERE case_id = ANY(:ids)) "
            "GROUP BY household_id, programme) x",
            ids=[uuid.UUID(c) for c in approved],
        ),
    )
    dlq_after = await _dlq_total(infra.bootstrap)
    print(
        f"\nchaos (seed {SEED}): {kills} kills, {len(outages.windows)} infrastructure restarts, "
        f"{len(applications)} applications, {len(approved)} approved, {seen.retries} client retries, "
        f"{len(seen.server_errors)} 5xx, {time.monotonic() - started:.0f}s"
    )

    assert kills >= KILLS and len(outages.windows) == 2
    assert in_intake == len(applications) >= MIN_APPLICATIONS and per_household == 1
    assert cases == len(applications)  # every application has its case (eligibility.cases.application_id: one each)
    assert roll == len(approved) > 0 and twice == 1  # every approval on the roll, no household twice per programme
    assert dlq_after == dlq_before, "messages were dead-lettered during the chaos run"
    for at, status, retry_after, url in seen.server_errors:
        assert status == 503 and retry_after, (status, url)
        assert outages.covers(at), f"a {status} from {url} outside any PostgreSQL/Kafka outage"
