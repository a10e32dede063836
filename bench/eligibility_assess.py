"""Eligibility assessment benchmark: the pure rules against the real consumer path, on the same households.

    PYTHONPATH=. .venv/bin/python bench/eligibility_assess.py [--households 100000]

One run measures:

* **(a) rules** - `services.eligibility.policy.assess(programme, snapshot, on, region, params, facts)` over N
  synthetic 吴起县 (610626) households, in this process, snapshots built beforehand: assessments/s of the pure
  functions alone. **(a2)** is informational: the rule step as `open_cases` runs it (`Case.open` on the typed
  snapshot: assessed, first deadline counted; then mapped to its row: snapshot and assessment dumped), to split
  (b)'s cost.
* **(b) consumer** - the same households as `ApplicationSubmitted` CloudEvents, all produced first to
  `intake.applications` with a plain aiokafka producer (settings, key, headers and chunking as intake's
  `OutboxRelay`), then eligibility's real worker (`python -m services.eligibility.worker`, a subprocess with
  `DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` / `ENVIRONMENT=test`, as deployed: its outbox relay plus the
  `eligibility.cases` consumer with `HANDLERS`, real `UnitOfWork`, Alembic-migrated `eligibility` schema)
  drains them into `eligibility.cases`. cases/s from the first event taken (the first batch's transaction start,
  its inbox rows' `received_at`: fetched and parsed, start-up and group join behind) to the last case committed
  (found by polling `SELECT count(*) FROM eligibility.cases`; the poll interval bounds the error, against us).
  Also printed: spawn → last (start-up included), and the worker's CPU per case in all and after start-up (CPU
  at the last poll before the first commit taken off).

Infrastructure is a throwaway PostgreSQL 15 + single-node Kafka (deploy/local/infra.py). The run fails
(exit 1) unless exactly N cases exist, every case has an assessment with a boolean `eligible` that no rule
refused ('cannot assess'), the inbox holds N events, and every case's eligible/amount equals what (a)
computed for it.
Results: bench/results/eligibility_assess.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.measure import infra_module, process_cpu, tree_cpu
from services.eligibility.cases.domain import Case
from services.eligibility.cases.repository import row_values
from services.eligibility.policy import ApplicationFacts, assess, default_parameters
from shared.core.household import HouseholdSnapshot, IncomeItem, MemberFacts, PropertyItem, RigidExpense, SelfCare
from shared.db import create_engine
from shared.events.catalogue import ApplicationSubmitted, Topic, event_type
from shared.events.envelope import DomainEvent
from shared.kafka import make_producer
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "eligibility_assess.json"
PROFILE = REPO / "bench" / "results" / "profile-eligibility-worker"

TOPIC = Topic.INTAKE_APPLICATIONS.value
INTAKE_SOURCE = "/services/intake"
CONSUMER_GROUP = "eligibility.cases"

# --- synthetic 吴起县 households ----------------------------------------------------------------------------

COUNTY = "610626"
# 吴起街道 (001) and the towns 101-108 (shared/data/regions/streets.csv); 街道 weighted as the county seat.
TOWNSHIPS = ("001", "101", "102", "103", "104", "105", "106", "107", "108")
TOWNSHIP_WEIGHTS = (4, 1, 1, 1, 1, 1, 1, 1, 1)
PROGRAMMES = ("dibao", "tekun", "marginal", "disability_living")
PROGRAMME_WEIGHTS = (82, 6, 7, 5)
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
SIZE_WEIGHTS = (18, 25, 22, 18, 11, 6)
SURNAMES = "王李张刘高郝白冯薛杨贺宗胡张"
GIVEN = {
    "male": ("建国", "志强", "德明", "海军", "永平", "小军", "国栋", "治平", "文斌", "明亮"),
    "female": ("秀英", "桂兰", "海燕", "玉兰", "春梅", "彩霞", "小红", "凤英", "桂芳", "艳妮"),
}
DISABILITY_CATEGORIES = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
ACTIVITIES = ("eating", "dressing", "bed_transfer", "toileting", "indoor_walking", "bathing")
NOT_COUNTED = ("服刑", "强制隔离戒毒", "宣告失踪")
FIRST_DAY, LAST_DAY = date(2023, 2, 1), date(2024, 11, 30)  # 吴起县 2023 figures apply from 2023-01-01

Outcome = tuple[bool, int | None, str | None]  # what (a) keeps of an Assessment: eligible, amount, mode


@dataclass(frozen=True)
class Household:
    """One application: what intake would send, minus the envelope."""

    programme: str
    snapshot: HouseholdSnapshot
    on: date
    application_id: uuid.UUID
    applicant_member_id: uuid.UUID | None
    separate_register: bool
    correlation_id: str

    def event(self) -> ApplicationSubmitted:
        s = self.snapshot
        return ApplicationSubmitted(
            application_id=self.application_id,
            household_id=s.household_id,
            programme=self.programme,  # type: ignore[arg-type]
            region_code=s.region_code,
            submitted_on=self.on,
            applicant_member_id=self.applicant_member_id,
            consent_signed=True,
            separate_register=self.separate_register,
            details={},
            snapshot=s,
        )


class HouseholdFactory:
    """Deterministic (seeded) households: villages and communities of 吴起县's nine townships, rural and urban
    户籍, 1-6 members of all ages, the four income kinds including exempt subkinds, property, rigid expenses,
    disabilities and illness. Programme mix: mostly 低保, some 特困 / 低保边缘 / 困难残疾人生活补贴."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _village(self) -> tuple[str, str]:
        rng = self.rng
        town = rng.choices(TOWNSHIPS, TOWNSHIP_WEIGHTS)[0]
        community = rng.random() < (0.7 if town == "001" else 0.1)  # 居委会 001-199, 村委会 200-399
        number = rng.randint(1, 12 if town == "001" else 2) if community else rng.randint(201, 230)
        urban = rng.random() < (0.85 if community else 0.04)
        return f"{COUNTY}{town}{number:03d}", "urban" if urban else "rural"

    def _ages(self, size: int, programme: str) -> list[tuple[str, int, str]]:
        rng = self.rng
        elderly_head = programme == "tekun" or (size == 1 and rng.random() < 0.6)
        head_age = rng.randint(60, 93) if elderly_head else rng.randint(24, 78)
        head_sex = rng.choice(("male", "female"))
        people = [("head", head_age, head_sex)]
        if size >= 2 and rng.random() < 0.85:
            spouse_age = min(98, max(18, head_age + rng.randint(-6, 4)))
            people.append(("spouse", spouse_age, "female" if head_sex == "male" else "male"))
        while len(people) < size:
            sex = rng.choice(("male", "female"))
            if head_age < 55 and rng.random() < 0.25:
                people.append(("parent", min(98, head_age + rng.randint(22, 32)), sex))
            elif head_age >= 60 and rng.random() < 0.5:
                people.append(("grandchild", rng.randint(0, 17), sex))
            else:
                people.append(("child", max(0, head_age - rng.randint(20, 38)), sex))
        return people

    def _member(
        self, relation: str, age: int, sex: str, on: date, programme: str, size: int, force_disabled: bool
    ) -> MemberFacts:
        rng = self.rng
        birth = on - timedelta(days=age * 365 + age // 4 + rng.randrange(1, 364))
        grade = category = None
        if force_disabled or rng.random() < (0.12 if age >= 60 else 0.05):
            category = rng.choice(DISABILITY_CATEGORIES)
            grade = rng.choices((1, 2, 3, 4), (15, 25, 30, 30))[0]
        illness = rng.random() < (0.08 if age >= 50 else 0.02)
        if (grade is not None and grade <= 2) or (age >= 75 and rng.random() < 0.5):
            labour = "none"
        elif grade is not None or age >= 60 or illness:
            labour = "partial"
        else:
            labour = "full"
        impaired = 0
        if grade is not None and grade <= 2:
            impaired = rng.randint(1, 6)
        elif age >= 80:
            impaired = rng.choice((0, 0, 1, 2, 3, 4))
        counted = relation == "head" or rng.random() > 0.03
        student = 6 <= age <= 22 and rng.random() < (0.95 if age <= 15 else 0.6)
        lonely = programme == "tekun" or (size == 1 and age >= 60)
        return MemberFacts(
            member_id=self._uuid(),
            name=rng.choice(SURNAMES) + rng.choice(GIVEN[sex]),
            birth_date=birth,
            sex=sex,
            relation=relation,  # type: ignore[arg-type]
            counted=counted,
            not_counted_reason=None if counted else rng.choice(NOT_COUNTED),
            disability_category=category,
            disability_grade=grade,
            labour_capacity=labour,  # type: ignore[arg-type]
            self_care=SelfCare(**dict.fromkeys(rng.sample(ACTIVITIES, impaired), False)),
            serious_illness=illness,
            student=student,
            employed=labour == "full" and 18 <= age < 60 and not student and rng.random() < 0.35,
            has_capable_supporter=rng.random() < 0.35 if lonely else True,
            in_institution=programme == "tekun" and rng.random() < 0.1,
        )

    def _incomes(self, members: list[MemberFacts], on: date, hukou: str, programme: str) -> list[IncomeItem]:
        rng = self.rng
        # How well off the household is: scales earned income; 低保边缘 applicants sit a little higher.
        scale = (0.6 + 0.8 * rng.random()) if programme == "marginal" else (0.1 + 1.3 * rng.random())
        items: list[IncomeItem] = []

        def add(member: MemberFacts | None, kind: str, subkind: str, low: int, high: int, scaled: bool) -> None:
            amount = rng.randint(low, high)
            items.append(
                IncomeItem(
                    member_id=member.member_id if member else None,
                    kind=kind,  # type: ignore[arg-type]
                    subkind=subkind,
                    monthly_amount_fen=int(amount * scale) if scaled else amount,
                )
            )

        for m in members:
            age = m.age_on(on)
            if m.employed:
                add(m, "wages", rng.choice(("salary", "migrant_work")), 150_000, 450_000, True)
            elif m.labour_capacity != "none" and 18 <= age < 65 and not m.student and rng.random() < 0.6:
                if hukou == "rural":
                    subkind = rng.choice(("farming", "herding", "apple_orchard"))
                    add(m, "business", subkind, 20_000, 120_000, True)
                else:
                    add(m, "wages", "odd_jobs", 30_000, 150_000, True)
            if age >= 60:  # 城乡居民基础养老金: exempt
                add(m, "transfer", "basic_pension", 14_000, 23_000, False)
            if m.student and rng.random() < 0.1:
                add(m, "transfer", "scholarship", 20_000, 80_000, False)
            if m.disability_grade is not None and rng.random() < 0.3:
                add(m, "transfer", "social_assistance", 6_000, 12_000, False)
            if rng.random() < 0.01:
                add(m, "transfer", "youfu", 50_000, 150_000, False)
            if rng.random() < 0.001:
                add(m, "transfer", "jianyiyongwei", 100_000, 300_000, False)
        head = members[0]
        if hukou == "rural" and rng.random() < 0.35:
            add(None, "property", "land_transfer", 3_000, 30_000, False)
        if hukou == "rural" and rng.random() < 0.25:
            add(None, "transfer", "grain_for_green", 2_000, 15_000, False)  # 退耕还林补助: counted
        if hukou == "urban" and rng.random() < 0.05:
            add(head, "property", "rent", 50_000, 150_000, True)
        if rng.random() < 0.15:
            add(head, "transfer", "family_support", 10_000, 60_000, True)  # 赡养费 from outside the household
        return items

    def _properties(self, hukou: str) -> list[PropertyItem]:
        rng = self.rng
        items: list[PropertyItem] = []
        if rng.random() < 0.88:
            items.append(
                PropertyItem(
                    kind="housing",
                    value_fen=rng.randint(2_000_000, 10_000_000)
                    if hukou == "rural"
                    else rng.randint(15_000_000, 50_000_000),
                    description="窑洞" if hukou == "rural" else "住宅",
                )
            )
        if rng.random() < 0.04:
            items.append(
                PropertyItem(kind="housing", value_fen=rng.randint(10_000_000, 40_000_000), description="县城商品房")
            )
        if rng.random() < 0.6:
            items.append(PropertyItem(kind="deposits", value_fen=int(rng.lognormvariate(12.5, 1.3))))
        for kind, p, low, high in (
            ("insurance", 0.08, 200_000, 2_000_000),
            ("securities", 0.01, 100_000, 5_000_000),
            ("vehicle", 0.06, 300_000, 10_000_000),
            ("business", 0.02, 500_000, 5_000_000),
            ("other", 0.10, 100_000, 1_500_000),
        ):
            if rng.random() < p:
                items.append(PropertyItem(kind=kind, value_fen=rng.randint(low, high)))  # type: ignore[arg-type]
        return items

    def _rigid(self, members: list[MemberFacts]) -> list[RigidExpense]:
        rng = self.rng
        items: list[RigidExpense] = []
        ill = any(m.serious_illness for m in members)
        if rng.random() < (0.6 if ill else 0.08):
            items.append(RigidExpense(kind="medical", amount_fen_12m=rng.randint(100_000, 3_000_000)))
        if any(m.student for m in members) and rng.random() < 0.3:
            items.append(RigidExpense(kind="education", amount_fen_12m=rng.randint(200_000, 1_500_000)))
        if any(m.disability_grade for m in members) and rng.random() < 0.2:
            items.append(RigidExpense(kind="rehabilitation", amount_fen_12m=rng.randint(100_000, 800_000)))
        return items

    def make(self, i: int) -> Household:
        rng = self.rng
        programme = rng.choices(PROGRAMMES, PROGRAMME_WEIGHTS)[0]
        on = FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1))
        region, hukou = self._village()
        size = (
            (1 if rng.random() < 0.8 else 2) if programme == "tekun" else rng.choices(HOUSEHOLD_SIZES, SIZE_WEIGHTS)[0]
        )
        disabled_index = rng.randrange(size) if programme == "disability_living" else -1
        members = [
            self._member(relation, age, sex, on, programme, size, n == disabled_index)
            for n, (relation, age, sex) in enumerate(self._ages(size, programme))
        ]
        snapshot = HouseholdSnapshot(
            household_id=self._uuid(),
            region_code=region,
            hukou_type=hukou,  # type: ignore[arg-type]
            members=members,
            incomes=self._incomes(members, on, hukou, programme),
            properties=self._properties(hukou),
            rigid_expenses=self._rigid(members),
        )
        applicant = members[0].member_id if programme in ("tekun", "disability_living") else None
        return Household(
            programme=programme,
            snapshot=snapshot,
            on=on,
            application_id=self._uuid(),
            applicant_member_id=applicant,
            separate_register=rng.random() < 0.01,
            correlation_id=f"bench-{i:07d}",
        )


def mix(households: Sequence[Household], results: Sequence[Outcome]) -> dict[str, Any]:
    programmes = Counter(h.programme for h in households)
    eligible = Counter(h.programme for h, r in zip(households, results, strict=True) if r[0])
    return {
        "programmes": {p: {"households": programmes[p], "eligible": eligible[p]} for p in PROGRAMMES},
        "hukou": dict(Counter(h.snapshot.hukou_type for h in households)),
        "members": dict(sorted(Counter(len(h.snapshot.members) for h in households).items())),
        "townships": dict(sorted(Counter(h.snapshot.region_code[:9] for h in households).items())),
        "villages": len({h.snapshot.region_code for h in households}),
        "income_kinds": dict(Counter(i.kind for h in households for i in h.snapshot.incomes)),
        "exempt_income_items": sum(i.exempt for h in households for i in h.snapshot.incomes),
        "disabled_members": sum(m.disability_grade is not None for h in households for m in h.snapshot.members),
        "dibao_modes": dict(
            Counter(r[2] for h, r in zip(households, results, strict=True) if h.programme == "dibao" and r[0])
        ),
    }


# --- measurement helpers ------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    households: int
    seconds: float
    per_s: float
    cpu_s: dict[str, float] = field(default_factory=dict)
    notes: str = ""


# --- (a) the pure rules -------------------------------------------------------------------------------------


def run_rules(households: Sequence[Household]) -> tuple[Figures, list[Outcome]]:
    params = default_parameters()  # loaded (and cached) outside the timed loop, as the worker does
    # Only the outcome is kept: holding 100k Assessment objects (reasons, traces) would make the cyclic GC
    # rescan a growing heap and cost (a) ~35 %, which the worker, holding one case at a time, never pays.
    results: list[Outcome] = []
    append = results.append
    cpu0, t0 = process_cpu(), time.perf_counter()
    for h in households:
        # What `_facts(case)` builds from the event: no programme details, the applicant a per-person rule assesses.
        facts = ApplicationFacts(member_id=h.applicant_member_id)
        r = assess(h.programme, h.snapshot, h.on, h.snapshot.region_code, params, facts)
        append((r.eligible, r.monthly_amount_fen, r.mode))
    seconds = time.perf_counter() - t0
    n = len(households)
    return Figures(
        "(a) rules: assess()",
        n,
        seconds,
        n / seconds,
        {"bench": process_cpu() - cpu0},
        "prebuilt HouseholdSnapshot models, one thread",
    ), results


def run_rule_step(households: Sequence[Household]) -> Figures:
    """open_cases' rule step: `Case.open` on the event's typed snapshot, then the case mapped to its row."""
    params = default_parameters()
    events = [h.event() for h in households]
    cpu0, t0 = process_cpu(), time.perf_counter()
    for data in events:
        row_values(Case.open(data, params))
    seconds = time.perf_counter() - t0
    n = len(households)
    return Figures(
        "(a2) open_cases rule step",
        n,
        seconds,
        n / seconds,
        {"bench": process_cpu() - cpu0},
        "assess + first deadline (Case.open) + row mapping (snapshot and assessment dumped)",
    )


# --- (b) the consumer path ----------------------------------------------------------------------------------


def encode(households: Sequence[Household]) -> list[tuple[bytes, bytes]]:
    """(key, value) as intake's relay publishes them: CloudEvent JSON keyed by household id."""
    kind = event_type(ApplicationSubmitted)
    out = []
    for h in households:
        event = DomainEvent(type=kind, key=str(h.snapshot.household_id), data=h.event(), region=h.snapshot.region_code)
        out.append((event.key.encode(), event.to_cloudevent(INTAKE_SOURCE, h.correlation_id).to_json()))
    return out


async def produce(bootstrap: str, messages: Sequence[tuple[bytes, bytes]], chunk: int) -> float:
    """All messages to intake.applications, in relay-sized chunks: send() each, then wait for the chunk."""
    producer = make_producer(bootstrap, "intake-worker")
    await producer.start()
    headers = [
        ("ce_type", event_type(ApplicationSubmitted).encode()),
        ("content-type", b"application/cloudevents+json"),
    ]
    t0 = time.perf_counter()
    try:
        for start in range(0, len(messages), chunk):
            deliveries = [
                await producer.send(TOPIC, value=value, key=key, headers=headers)
                for key, value in messages[start : start + chunk]
            ]
            await asyncio.gather(*deliveries)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - t0


def worker_env(db: str, bootstrap: str, consumer_batch: int | None, consumer_processes: int = 1) -> dict[str, str]:
    # No inherited ELIGIBILITY_* overrides: the prefixed settings win over DATABASE_URL & co.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELIGIBILITY_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": db,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ENVIRONMENT": "test",
        # The kit forks the consumer processes (one group: the topic's 6 partitions are shared among them).
        "ELIGIBILITY_CONSUMER_PROCESSES": str(consumer_processes),
    }
    if consumer_batch:
        env["ELIGIBILITY_CONSUMER_BATCH_SIZE"] = str(consumer_batch)
    return env


def summarise_profile(raw: Path, out: Path, top: int = 40) -> list[str]:
    """py-spy raw (collapsed) stacks → inclusive share per function, the biggest first."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return []
    lines = [f"{total} samples (active CPU of the worker, all threads)", "", "inclusive:"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in inclusive.most_common(top)]
    lines += ["", "self:"] + [f"  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    out.write_text("\n".join(lines) + "\n")
    return lines


async def run_consumer(
    args: argparse.Namespace,
    households: Sequence[Household],
    db: str,
    bootstrap: str,
    servers: dict[str, int | None],
    tmp: Path,
) -> tuple[Figures, dict[str, Any]]:
    n = len(households)
    t0 = time.perf_counter()
    messages = encode(households)
    encode_s = time.perf_counter() - t0
    size = sum(len(v) for _, v in messages) / n
    print(f"  encoded {n} CloudEvents in {encode_s:.1f}s (mean {size:.0f} B); producing ...", flush=True)
    produce_s = await produce(bootstrap, messages, ServiceSettings().relay_batch_size)
    del messages
    print(f"  produced in {produce_s:.1f}s; starting the eligibility worker ...", flush=True)

    engine = create_engine(db, pool_size=1)
    count_sql = text("SELECT count(*) FROM eligibility.cases")
    log_path = tmp / "eligibility-worker.log"
    cpu0 = {name: tree_cpu(pid) for name, pid in servers.items()} | {"bench (poller)": process_cpu()}
    spawned = time.time()
    with open(log_path, "wb") as log_file:  # noqa: ASYNC230 - opened once, before the timed part matters
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.eligibility.worker",
            cwd=REPO,
            env=worker_env(db, bootstrap, args.consumer_batch, args.consumer_processes),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    spy = None
    if args.profile:
        spy = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-p",
            str(proc.pid),
            "--format",
            "raw",
            "--nolineno",
            "-r",
            "100",
            "-o",
            str(PROFILE.with_suffix(".raw")),
            *(["--subprocesses"] if args.consumer_processes > 1 else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    first_seen: tuple[float, float] | None = None  # (time, worker CPU) at the last poll before the first commit
    previous_poll, previous_cpu = spawned, 0.0
    done_at: float | None = None
    count = 0
    worker_cpu = 0.0
    next_report = spawned + 30
    try:
        while True:
            await asyncio.sleep(args.poll)
            async with engine.connect() as conn:
                count = (await conn.execute(count_sql)).scalar_one()
            now = time.time()
            if first_seen is None and count > 0:
                first_seen = (previous_poll, previous_cpu)  # the first commit happened after the previous poll
            if count >= n:
                done_at = now
                break
            previous_poll = now
            if first_seen is None:
                previous_cpu = tree_cpu(proc.pid)
            if proc.returncode is not None:
                raise RuntimeError(f"eligibility worker exited with {proc.returncode}; see its log")
            if now - spawned > args.timeout:
                print(f"  timeout after {args.timeout:.0f}s with {count} cases", flush=True)
                break
            if now >= next_report:
                print(f"  {now - spawned:6.0f}s  {count:>7} cases", flush=True)
                next_report += 30
        worker_cpu = tree_cpu(proc.pid)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)  # graceful: finish the batch, flush the producer
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if spy is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(spy.wait(), 60)
    await asyncio.sleep(0.2)
    cpu = {name: tree_cpu(pid) - cpu0[name] for name, pid in servers.items()}
    cpu["bench (poller)"] = process_cpu() - cpu0["bench (poller)"]
    cpu["eligibility worker"] = worker_cpu

    end = done_at or time.time()
    steady = None
    if first_seen is not None and done_at is not None and done_at > first_seen[0]:
        steady = n / (done_at - first_seen[0])
    async with engine.connect() as conn:
        # The first batch's transaction start (its inbox rows' received_at): the worker has fetched and parsed its
        # first events, nothing before (imports, connections, the group join) is the consumer path's work.
        first_event = (
            await conn.execute(
                text("SELECT extract(epoch FROM min(received_at))::float FROM eligibility.inbox WHERE consumer = :c"),
                {"c": CONSUMER_GROUP},
            )
        ).scalar_one()
        stats = dict(
            (
                await conn.execute(
                    text("""
            SELECT count(*) AS cases,
                   count(DISTINCT application_id) AS applications,
                   count(*) FILTER (WHERE assessment IS NULL
                                    OR jsonb_typeof(assessment -> 'eligible') IS DISTINCT FROM 'boolean')
                       AS without_eligible,
                   count(*) FILTER (WHERE assessment -> 'reasons' ->> 0 LIKE 'cannot assess%') AS refused,
                   count(*) FILTER (WHERE (assessment ->> 'eligible')::boolean) AS eligible
            FROM eligibility.cases""")
                )
            )
            .mappings()
            .one()
        )
        stats["inbox"] = (
            await conn.execute(
                text("SELECT count(*) FROM eligibility.inbox WHERE consumer = :c"), {"c": CONSUMER_GROUP}
            )
        ).scalar_one()
        stats["outbox"] = (await conn.execute(text("SELECT count(*) FROM eligibility.outbox"))).scalar_one()
        stats["outbox_unsent"] = (
            await conn.execute(text("SELECT count(*) FROM eligibility.outbox WHERE sent_at IS NULL"))
        ).scalar_one()
        stored = {
            row.application_id: (row.eligible, row.amount)
            for row in await conn.execute(
                text(
                    "SELECT application_id, (assessment ->> 'eligible')::boolean AS eligible,"
                    " (assessment ->> 'monthly_amount_fen')::bigint AS amount FROM eligibility.cases"
                )
            )
        }
    await engine.dispose()
    log_text = log_path.read_text(errors="replace")
    stats["worker_log_lines"] = log_text.count("\n")
    # open_cases logs each run it applied: how big the consumer's transactions were.
    runs = [int(m) for m in re.findall(r'"msg":"(\d+) cases opened"', log_text)]
    stats["worker_runs"] = len(runs)
    stats["worker_run_mean"] = sum(runs) / len(runs) if runs else None
    stats["worker_log_problems"] = sum(
        ('"level":"ERROR"' in line or '"level":"WARNING"' in line) for line in log_text.splitlines()
    )
    if stats["worker_log_problems"]:
        problems = [line for line in log_text.splitlines() if '"level":"ERROR"' in line or '"level":"WARNING"' in line]
        print("  worker warnings/errors (first 5):\n    " + "\n    ".join(p[:300] for p in problems[:5]))
    stats["stored"] = stored
    start = first_event if first_event is not None else spawned
    seconds = end - start
    startup_cpu = first_seen[1] if first_seen is not None else 0.0
    cpu["eligibility worker after start-up"] = worker_cpu - startup_cpu
    notes = (
        f"worker subprocess (relay + consumer '{CONSUMER_GROUP}' in {args.consumer_processes} process(es), batch "
        f"{args.consumer_batch or ServiceSettings().consumer_batch_size}); first event taken (the first "
        f"batch's transaction, {start - spawned:.1f}s after the spawn) → the poll that sees the last case; "
        f"spawn → last {n / (end - spawned):.0f}/s; "
        f"first poll-seen commit → last {steady or float('nan'):.0f}/s; "
        f"worker CPU {1e6 * worker_cpu / n:.0f} µs/case, {1e6 * (worker_cpu - startup_cpu) / n:.0f} µs/case "
        f"after start-up ({startup_cpu:.1f}s before the first commit); "
        f"encode {encode_s:.1f}s and produce {produce_s:.1f}s beforehand, not timed; "
        f"CloudEvent mean {size:.0f} B"
    )
    extra = {
        "encode_s": encode_s,
        "produce_s": produce_s,
        "event_bytes_mean": size,
        "steady_per_s": steady,
        "first_commit_after_s": None if first_seen is None else first_seen[0] - spawned,
        "first_event_after_s": start - spawned,
        "spawn_to_last_per_s": n / (end - spawned),
        "worker_cpu_s": worker_cpu,
        "worker_startup_cpu_s": startup_cpu,
        "worker_cpu_us_per_case": 1e6 * worker_cpu / n,
        "worker_cpu_us_per_case_after_startup": 1e6 * (worker_cpu - startup_cpu) / n,
        "poll_s": args.poll,
        "completed": done_at is not None,
    }
    return Figures("(b) consumer → cases", n, seconds, n / seconds, cpu, notes), {"stats": stats, **extra}


# --- the driver ---------------------------------------------------------------------------------------------


def print_table(figures: Sequence[Figures], ratio: float, partial: bool) -> None:
    print()
    print(f"{'path':<28}{'households':>12}{'seconds':>10}{'per s':>10}")
    for f in figures:
        print(f"{f.name:<28}{f.households:>12}{f.seconds:>10.1f}{f.per_s:>10.0f}")
    print(f"\nratio (b)/(a) (per s): {ratio:.4f}   ((a) is {1 / ratio:.0f}x faster)")
    if partial:
        print(
            f"NOTE: (b) was measured on the first {figures[-1].households} households only, (a) on "
            f"{figures[0].households}; the ratio compares rates."
        )
    for f in figures:
        cpu = ", ".join(f"{k} {v:.1f}s" for k, v in f.cpu_s.items())
        print(f"{f.name}: {f.notes}\n  CPU: {cpu} (wall {f.seconds:.1f}s x {os.cpu_count()} cores)")


def check_against_rules(
    households: Sequence[Household], results: Sequence[Outcome], stored: dict[uuid.UUID, tuple[bool, int | None]]
) -> int:
    mismatches = 0
    for h, r in zip(households, results, strict=False):
        if stored.get(h.application_id) != r[:2]:
            mismatches += 1
    return mismatches


def drive(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    load0 = os.getloadavg()
    print(f"generating {args.households} households (seed {args.seed}) ...", flush=True)
    t0 = time.perf_counter()
    factory = HouseholdFactory(args.seed)
    households = [factory.make(i) for i in range(args.households)]
    # The households stay alive for the whole run; a worker holds one at a time. Keep the collector from
    # rescanning them during timed loops (the first full collection would otherwise land in (a)).
    gc.collect()
    gc.freeze()
    print(f"  {time.perf_counter() - t0:.1f}s", flush=True)

    print(f"(a) pure rules over {len(households)} households ...", flush=True)
    rules, results = run_rules(households)
    print(f"  {rules.per_s:.0f} assessments/s", flush=True)
    figures = [rules]
    if not args.skip_rule_step:
        step = run_rule_step(households)
        print(f"  rule step as open_cases: {step.per_s:.0f}/s", flush=True)
        figures.append(step)
    household_mix = mix(households, results)

    n_b = min(args.consumer_households or args.households, args.households)
    subset = households[:n_b]
    infra = infra_module()
    print(f"(b) consumer path over {n_b} households: throwaway PostgreSQL + Kafka ...", flush=True)
    with infra.throwaway("bench-eligibility-") as (pg, kafka):
        from shared.migrations import upgrade

        upgrade("eligibility", pg.url)  # Alembic runs its own event loop: before ours
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        servers: dict[str, int | None] = {"postgres": pg_pid, "kafka": kafka.pid()}
        consumer, extra = asyncio.run(
            run_consumer(args, subset, pg.url, kafka.bootstrap, servers, Path(pg.root).parent)
        )
    figures.append(consumer)
    stats = extra["stats"]
    stored = stats.pop("stored")
    mismatches = check_against_rules(subset, results[:n_b], stored)
    ratio = consumer.per_s / rules.per_s
    print_table(figures, ratio, n_b < len(households))

    eligible_a = sum(r[0] for r in results[:n_b])
    checks = [
        ("(b) finished before --timeout", extra["completed"], f"{consumer.seconds:.0f}s"),
        (f"cases == {n_b}", stats["cases"] == n_b, str(stats["cases"])),
        (f"distinct applications == {n_b}", stats["applications"] == n_b, str(stats["applications"])),
        (
            "cases without assessment.eligible (boolean) == 0",
            stats["without_eligible"] == 0,
            str(stats["without_eligible"]),
        ),
        ("cases the rule refused ('cannot assess') == 0", stats["refused"] == 0, str(stats["refused"])),
        (f"inbox rows ({CONSUMER_GROUP}) == {n_b}", stats["inbox"] == n_b, str(stats["inbox"])),
        ("cases whose eligible/monthly amount differ from (a) == 0", mismatches == 0, str(mismatches)),
        (f"eligible cases == eligible in (a) ({eligible_a})", stats["eligible"] == eligible_a, str(stats["eligible"])),
    ]
    print("\nchecks:")
    for name, ok, actual in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name} (got {actual})")
    print(
        f"info: {stats['worker_runs']} runs of cases opened (transactions), mean "
        f"{stats['worker_run_mean'] or 0:.0f} cases; CaseOpened outbox rows {stats['outbox']}, not yet relayed at "
        f"the end {stats['outbox_unsent']}; worker log {stats['worker_log_lines']} lines, "
        f"{stats['worker_log_problems']} warnings/errors"
    )
    load1 = os.getloadavg()
    print(f"load average (1 min) at start {load0[0]:.2f}, at end {load1[0]:.2f} on {os.cpu_count()} cores")

    profile_lines: list[str] = []
    raw = PROFILE.with_suffix(".raw")
    if args.profile and raw.exists():
        profile_lines = summarise_profile(raw, PROFILE.with_suffix(".txt"))
        print(f"\nworker profile (py-spy, {PROFILE.with_suffix('.txt').relative_to(REPO)}), top inclusive:")
        print("\n".join(profile_lines[:28]))

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": started.isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "loadavg_start_end": [load0[0], load1[0]],
                "seed": args.seed,
                "households": args.households,
                "consumer_households": n_b,
                "consumer_subset": n_b < len(households),
                "consumer_processes": args.consumer_processes,
                "runs": [asdict(f) for f in figures],
                "ratio_b_over_a": ratio,
                "consumer": {k: v for k, v in extra.items() if k != "stats"} | {"db": stats},
                "mix": household_mix,
                "profiled": args.profile,
                "checks": [{"check": c, "ok": ok, "actual": a} for c, ok, a in checks],
            },
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )
    print(f"\nwritten {RESULTS.relative_to(REPO)}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--households", type=int, default=100_000, help="households for (a), and (b) by default")
    p.add_argument(
        "--consumer-households",
        type=int,
        default=None,
        help="measure (b) on only the first N households (when the full size would take too long)",
    )
    p.add_argument("--seed", type=int, default=610626)
    p.add_argument(
        "--consumer-batch",
        type=int,
        default=None,
        help="ELIGIBILITY_CONSUMER_BATCH_SIZE for the worker (default: the settings' 500)",
    )
    p.add_argument(
        "--consumer-processes",
        type=int,
        default=1,
        choices=range(1, 7),
        metavar="1-6",
        help="consumer processes of the worker (ELIGIBILITY_CONSUMER_PROCESSES, forked by the kit)",
    )
    p.add_argument("--poll", type=float, default=0.5, help="seconds between counts of eligibility.cases")
    p.add_argument("--timeout", type=float, default=1800.0, help="give up on (b) after this many seconds")
    p.add_argument("--skip-rule-step", action="store_true", help="do not measure (a2)")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the worker (adds overhead; bench/results/profile-eligibility-worker.*)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return drive(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
