"""提标 recompute benchmark: a standard rise over N approved 吴起县 cases, end to end against the pure rules.

    PYTHONPATH=. .venv/bin/python bench/standard_rise.py [--cases 100000] [--chunk 2000]

N synthetic rural 低保 households (bench/eligibility_assess.py's seeded factory, kept where the 2023 吴起县 rules
find them eligible) are put on the roll in a throwaway PostgreSQL 15 (Alembic-migrated `eligibility` schema,
loaded with COPY), approved with their stored assessment, trace and schedule (one segment from the first month,
as an approval keeps it). The rise is domain.md's shape on 吴起县's
tiers: every rural tier +40 yuan (300…500 → 340…540, 450 → 490) from 2023-07-01, decided later.

* **baseline (rules)**: `services.eligibility.policy.assess` on the same N snapshots, built beforehand, at the
  date the recompute evaluates each case: cases/s of the pure functions alone.
* **what-if**: `POST /parameters/what-if`'s path (`recompute`): read in chunks, assess, count.
* **recompute (end to end)**: the `policy.standard_changed.v1` handler (`on_standard_changed`) queues the
  recompute, and the worker's runner (`run_recompute`) runs it on the database: its work list snapshotted, then
  chunk by chunk, each committed with its progress: read, each case re-priced per segment by `Case.reprice`, the
  cases' repository's `save_many` (one UPDATE … FROM and insert of steps per chunk), one multi-row insert each into
  outbox and audit log. cases/s from the handler's start to the last commit.
* **replay**: the same value's recompute queued again and run: everything read and assessed, nothing to write.

It runs with the workers' `MALLOC_ARENA_MAX=1` (it starts itself again with it unless the variable is set): the
recompute prices in a thread, whose own malloc arena glibc would keep after each chunk.

The run fails (exit 1) unless every case's stored amount equals the baseline's, the outbox holds exactly one
`case.amount_changed` and one `case.schedule_changed` per changed case with the baseline's amounts and month,
the what-if's counts and sums equal what the recompute wrote, and the replay changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import NamedTuple

import asyncpg
import orjson

from bench.eligibility_assess import HouseholdFactory
from bench.measure import infra_module, process_cpu, tree_cpu
from services.eligibility.models import ParameterOverride, StandardRecompute, platform
from services.eligibility.policy import ApplicationFacts, assess, default_parameters
from services.eligibility.recompute import service as recompute
from shared.core.period import Period
from shared.core.regions import RegionTable
from shared.db import create_engine, session_factory
from shared.events.catalogue import StandardChanged
from shared.jobs import Job
from shared.outbox import asyncpg_dsn
from shared.uow import UnitOfWork

KEY, REGION, START = "dibao.tiers.rural", "610626", date(2023, 7, 1)
RAISED_TIERS = [
    {"income_below_fen": 10000, "amount_fen": 54000},
    {"income_below_fen": 20000, "amount_fen": 49000},
    {"income_below_fen": 30000, "amount_fen": 44000},
    {"income_below_fen": 40000, "amount_fen": 39000},
    {"income_below_fen": None, "amount_fen": 34000},
]
REFERENCE = "bench: 吴起县 农村低保五档各提高40元 (450 → 490 shape)"
COLUMNS = (
    "id",
    "application_id",
    "household_id",
    "programme",
    "region_code",
    "status",
    "opened_on",
    "status_since",
    "separate_register",
    "details",
    "snapshot",
    "assessment",
    "home_visits",
    "county_home_visit",
    "extended",
    "delegated",
    "documents_pending",
    "monthly_amount_fen",
    "effective_month",
    "decided_on",
    "schedule",
)


def build_roll(n: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    """N eligible rural 低保 cases: (copy records, (case id, snapshot, evaluation date, old amount))."""
    factory, params = HouseholdFactory(seed), default_parameters()
    records, cases, i = [], [], 0
    while len(cases) < n:
        h = factory.make(i)
        i += 1
        if h.programme != "dibao" or h.snapshot.hukou_type != "rural":
            continue
        a = assess("dibao", h.snapshot, h.on, None, params)
        if not a.eligible or not a.monthly_amount_fen:
            continue
        case_id, effective = uuid.uuid4(), Period.of(h.on).next()
        stored = orjson.dumps({**a.model_dump(mode="json"), "assessed_on": str(h.on)}).decode()
        # The schedule an approval keeps: its amount from the first month, priced on the case's own facts.
        schedule = {
            "facts": [],
            "values": [t.model_dump(mode="json") for t in a.trace],
            "segments": [
                {
                    "from_month": str(effective),
                    "to_month": None,
                    "amount_fen": a.monthly_amount_fen,
                    "persons": len(a.covered_member_ids),
                    "member_id": None,
                    "reason": "approval",
                    "facts": None,
                    "values": list(range(len(a.trace))),
                }
            ],
        }
        records.append(
            (
                case_id,
                h.application_id,
                h.snapshot.household_id,
                "dibao",
                h.snapshot.region_code,
                "approved",
                h.on,
                h.on,
                False,
                "{}",
                h.snapshot.model_dump_json(),
                stored,
                1,
                False,
                False,
                False,
                False,
                a.monthly_amount_fen,
                effective.first_day,
                h.on,
                orjson.dumps(schedule).decode(),
            )
        )
        cases.append((case_id, h.snapshot, max(START, effective.first_day), a.monthly_amount_fen))
    print(f"built {n} eligible rural 低保 cases from {i} generated households", flush=True)
    return records, cases


def baseline(cases: list[tuple]) -> tuple[float, dict[uuid.UUID, tuple[int, Period]]]:
    params = default_parameters().with_value(REGION, KEY, START, RAISED_TIERS, REFERENCE)
    facts = ApplicationFacts()
    started = time.perf_counter()
    amounts = {
        case_id: (assess("dibao", snapshot, on, None, params, facts).monthly_amount_fen, Period.of(on))
        for case_id, snapshot, on, _ in cases
    }
    return time.perf_counter() - started, amounts  # type: ignore[return-value]


async def run(url: str, pg_pid: int, records: list[tuple], chunk: int, profile: cProfile.Profile | None) -> dict:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    await conn.copy_records_to_table("cases", schema_name="eligibility", records=records, columns=COLUMNS)
    records.clear()  # a worker holds no roll in memory: neither does the driver once it is loaded
    gc.collect()
    gc.freeze()  # what is left (baseline results, modules) is never collected again: GC passes stay short
    gc.set_threshold(10_000, 10, 10)  # as the service's worker runs (shared/worker.py)
    await conn.execute("VACUUM ANALYZE eligibility.cases")  # hint bits set now, not during the first timed pass
    RegionTable.load()  # the API process has it loaded already
    engine = create_engine(url, 4)
    sessions = session_factory(engine)
    recompute.CHUNK_SIZE = chunk
    figures: dict = {}
    async with UnitOfWork(sessions, platform, "/services/eligibility") as uow:  # the admin adds the value
        uow.session.add(
            ParameterOverride(
                region=REGION, key=KEY, start=START, value={"v": RAISED_TIERS}, reference=REFERENCE, created_by="bench"
            )
        )
        await uow.commit()
    params = await _params(sessions)
    today = date.today()
    change = recompute.ValueChange(REGION, KEY, START, REFERENCE)
    async with UnitOfWork(sessions, platform, "/services/eligibility") as uow:
        started, cpu = _clock(pg_pid)
        figures["what_if"] = await recompute.recompute(uow, params, change, paid_through=Period(2023, 8), today=today)
        figures["what_if_s"], figures["what_if_cpu"] = _since(pg_pid, started, cpu)
    event = StandardChanged(region=REGION, key=KEY, start=START, value=RAISED_TIERS, reference=REFERENCE)
    job = Job(lambda: UnitOfWork(sessions, platform, "/services/eligibility"))
    for name in ("recompute", "replay"):
        started, cpu = _clock(pg_pid)
        if profile and name == "recompute":
            profile.enable()
        async with UnitOfWork(sessions, platform, "/services/eligibility") as uow:  # the consumer queues it
            queued = await recompute.on_standard_changed(uow, event)
            if queued is None:  # the replay: the same value's recompute queued again under a new id
                done = await uow.session.get(StandardRecompute, recompute.recompute_id(REGION, KEY, START))
                queued = StandardRecompute(**{c: getattr(done, c) for c in _QUEUED}, id=uuid.uuid4(), status="queued")
                uow.session.add(queued)
            rid = queued.id
            await uow.commit()
        assert await recompute.run_recompute(job, rid, chunk)  # the worker runs it, chunk by chunk
        if profile and name == "recompute":
            profile.disable()
        figures[f"{name}_s"], figures[f"{name}_cpu"] = _since(pg_pid, started, cpu)
        async with UnitOfWork(sessions, platform, "/bench") as uow:
            row = await uow.session.get(StandardRecompute, rid)
            figures[name] = Counted(row.cases_examined, row.cases_changed)
    figures["stored"] = {
        r["id"]: r["monthly_amount_fen"]
        for r in await conn.fetch("SELECT id, monthly_amount_fen FROM eligibility.cases")
    }
    figures["events"] = [
        orjson.loads(r["data"])
        for r in await conn.fetch(
            "SELECT payload->>'data' AS data FROM eligibility.outbox WHERE type LIKE '%case.amount_changed%'"
        )
    ]
    figures["schedules"] = [
        orjson.loads(r["data"])
        for r in await conn.fetch(
            "SELECT payload->>'data' AS data FROM eligibility.outbox WHERE type LIKE '%case.schedule_changed%'"
        )
    ]
    figures["steps"] = await conn.fetchval("SELECT count(*) FROM eligibility.case_steps")
    figures["audits"] = await conn.fetchval(
        "SELECT count(*) FROM eligibility.audit_log WHERE action = 'case.standard_recompute'"
    )
    await conn.close()
    await engine.dispose()
    return figures


class Counted(NamedTuple):
    examined: int
    changed: int


# A recompute row's columns as it is queued (the rest are its progress).
_QUEUED = ("region", "scope", "key", "start", "reference", "correlation_id", "paid_through")


def _clock(pg_pid: int) -> tuple[float, tuple[float, float]]:
    return time.perf_counter(), (process_cpu(), tree_cpu(pg_pid))


def _since(pg_pid: int, started: float, cpu: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """Wall seconds, and CPU seconds of this process and of PostgreSQL, since `_clock`."""
    return time.perf_counter() - started, (process_cpu() - cpu[0], tree_cpu(pg_pid) - cpu[1])


async def _params(sessions):
    from services.eligibility.policy_admin.in_force import effective_parameters

    async with UnitOfWork(sessions, platform, "/bench") as uow:
        return await effective_parameters(uow, fresh=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=recompute.CHUNK_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the recompute; top functions printed")
    args = parser.parse_args(argv)
    records, cases = build_roll(args.cases, args.seed)
    cpu = process_cpu()
    base_s, expected = baseline(cases)
    base_cpu = process_cpu() - cpu
    n, old = len(cases), {case_id: amount for case_id, _, _, amount in cases}
    del cases
    infra = infra_module()
    root = Path(tempfile.mkdtemp(prefix="bench-standard-rise-"))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
    pg = infra.Postgres(root / "postgres", infra.free_port(), durable=False)
    pg.start()
    try:
        from shared.migrations import upgrade

        upgrade("eligibility", pg.url)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        profile = cProfile.Profile() if args.profile else None
        f = asyncio.run(run(pg.url, pg_pid, records, args.chunk, profile))
    finally:
        pg.stop()
    changed = {cid for cid, (amount, _) in expected.items() if amount != old[cid]}
    events = {uuid.UUID(e["case_id"]): e for e in f["events"]}
    wi, rc, rp = f["what_if"], f["recompute"], f["replay"]
    total, _ = wi.rows()
    rows = [
        ("baseline: pure rules (assess)", base_s, (base_cpu, 0.0)),
        ("what-if (dry run, same path)", f["what_if_s"], f["what_if_cpu"]),
        ("recompute end to end (handler + commit)", f["recompute_s"], f["recompute_cpu"]),
        ("replay (nothing to write)", f["replay_s"], f["replay_cpu"]),
    ]
    print(
        f"\n{n} approved cases, {len(changed)} change; chunk {args.chunk}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print(f"{'run':42} {'seconds':>8} {'cases/s':>8} {'ratio':>6} {'CPU py':>7} {'CPU pg':>7} {'µs CPU/case':>11}")
    for name, seconds, (py, pg_cpu) in rows:
        print(
            f"{name:42} {seconds:8.2f} {n / seconds:8.0f} {base_s / seconds:6.3f} {py:7.2f} {pg_cpu:7.2f} "
            f"{(py + pg_cpu) / n * 1e6:11.0f}"
        )
    print("ratio: baseline seconds / run seconds (1 = as fast as the pure rules alone)")
    print(
        f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        f"what-if: {total.households} households, {total.persons} persons, monthly "
        f"{total.monthly_before_fen / 100:.2f} → {total.monthly_after_fen / 100:.2f} 元, back-pay (July–August) "
        f"{total.back_pay_fen / 100:.2f} 元"
    )
    checks = [
        ("every case examined", rc.examined == n and wi.examined == n, f"{rc.examined}/{wi.examined}"),
        ("stored amounts == baseline", all(f["stored"][cid] == expected[cid][0] for cid in expected), ""),
        (
            "one amount_changed per changed case",
            set(events) == changed and len(f["events"]) == len(changed),
            f"{len(f['events'])} events, {len(changed)} changed",
        ),
        (
            "events carry the baseline's amounts and month",
            all(
                e["monthly_amount_fen"] == expected[cid][0]
                and e["previous_monthly_amount_fen"] == old[cid]
                and e["effective_month"] == str(expected[cid][1])
                for cid, e in events.items()
            ),
            "",
        ),
        (
            "one schedule_changed per changed case, from the rise's month at the baseline's amount",
            len(f["schedules"]) == len(changed)
            and all(
                [(s["from_month"], s["amount_fen"]) for s in e["segments"]]
                == [(str(expected[uuid.UUID(e["case_id"])][1]), expected[uuid.UUID(e["case_id"])][0])]
                for e in f["schedules"]
            ),
            f"{len(f['schedules'])} events",
        ),
        (
            "what-if == recompute",
            (wi.changed, total.monthly_after_fen) == (rc.changed, sum(e["monthly_amount_fen"] for e in f["events"])),
            f"{wi.changed} vs {rc.changed}",
        ),
        (
            "a step and an audit row per changed case",
            f["steps"] == f["audits"] == len(changed),
            f"{f['steps']} / {f['audits']}",
        ),
        ("replay changes nothing", rp.changed == 0, str(rp.changed)),
    ]
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    print("\nchecks:")
    for name, ok, got in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name}" + (f" ({got})" if got else ""))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    if "MALLOC_ARENA_MAX" not in os.environ:  # the worker's environment, as the image and `make run` set it
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_ARENA_MAX": "1"})
    sys.exit(main())
