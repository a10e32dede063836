"""存量对象导入 in eligibility: a run of `application.imported.v1` through the set-based handler, events/s.

    PYTHONPATH=. .venv/bin/python bench/eligibility_import.py [--events 10000] [--run 500]

N synthetic 吴起县 households (bench/eligibility_assess.py's seeded factory: 低保 mostly, some 特困 / 边缘 / 残疾人
补贴), each an `application.imported.v1` as intake's roll import sends it (approved in the old system on the
factory's date, paid through 2026-11 at a file amount, one in ten flagged as differing), handed to
`services.eligibility.cases.service.import_cases` in runs of `--run` events (the consumer's batch size), one unit of
work and commit per run, on a throwaway PostgreSQL 15 (Alembic-migrated `eligibility` schema). Each case is priced
by our rules on the import day (its assessment), made by `Case.imported`, and written with its facts, its step,
three outbox rows and an audit row: a few statements per run.

events/s from the first run's start to the last commit; CPU of this process and of PostgreSQL; peak RSS. The run
fails (exit 1) unless there are exactly N cases (approved), N `imported` steps, 3N outbox rows and N audit rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import text

from bench.eligibility_assess import HouseholdFactory
from bench.measure import infra_module, process_cpu, tree_cpu
from services.eligibility.cases.service import import_cases
from services.eligibility.models import platform
from shared.consumer import Delivery
from shared.db import create_engine, session_factory
from shared.events.catalogue import PERSON_LEVEL, ApplicationImported, event_type
from shared.events.envelope import DomainEvent
from shared.uow import UnitOfWork

IMPORT_DAY = date(2026, 12, 3)


def events(n: int, seed: int) -> list[Delivery]:
    factory, import_id, out = HouseholdFactory(seed), uuid.uuid4(), []
    for i in range(n):
        h = factory.make(i)
        programme = "dibao" if h.programme in ("temporary", "medical", "rigid_expense") else h.programme
        members = [m.member_id for m in h.snapshot.counted_members()] or [h.snapshot.members[0].member_id]
        covered = [h.applicant_member_id or members[0]] if programme in PERSON_LEVEL else members
        data = ApplicationImported(
            application_id=h.application_id,
            household_id=h.snapshot.household_id,
            programme=programme,  # type: ignore[arg-type]
            region_code=h.snapshot.region_code,
            submitted_on=IMPORT_DAY,
            applicant_member_id=covered[0] if programme in PERSON_LEVEL else None,
            consent_signed=True,
            separate_register=False,
            details={},
            snapshot=h.snapshot,
            import_id=import_id,
            approved_on=h.on,
            monthly_amount_fen=30_000 + (i % 40) * 500,
            persons=len(covered),
            covered_member_ids=covered,
            paid_through="2026-11",
            amount_differs=i % 10 == 0,
            computed_amount_fen=None,
        )
        event = DomainEvent(event_type(ApplicationImported), str(data.household_id), data)
        out.append(Delivery(event.to_cloudevent("/bench", f"import-{i}"), data))
    return out


async def run(url: str, pg_pid: int, deliveries: list[Delivery], size: int) -> dict[str, float]:
    engine = create_engine(url, 2)
    sessions = session_factory(engine)
    # Warm: the parameter tree and the statements, on a run that is then discarded.
    async with UnitOfWork(sessions, platform, "/bench") as uow:
        await import_cases(uow, deliveries[:1])
        await uow.rollback()
    cpu0, pg0, t0 = process_cpu(), tree_cpu(pg_pid), time.perf_counter()
    for i in range(0, len(deliveries), size):
        async with UnitOfWork(sessions, platform, "/bench") as uow:
            await import_cases(uow, deliveries[i : i + size])
            await uow.commit()
    elapsed = time.perf_counter() - t0
    cpu, pg = process_cpu() - cpu0, tree_cpu(pg_pid) - pg0
    async with engine.connect() as conn:
        counts = {
            name: (await conn.execute(text(sql))).scalar_one()
            for name, sql in (
                ("cases", "SELECT count(*) FROM eligibility.cases WHERE status = 'approved'"),
                ("steps", "SELECT count(*) FROM eligibility.case_steps WHERE step = 'imported'"),
                ("outbox", "SELECT count(*) FROM eligibility.outbox"),
                ("audit", "SELECT count(*) FROM eligibility.audit_log WHERE action = 'case.import'"),
                ("flagged", "SELECT count(*) FROM eligibility.cases WHERE next_review_on = DATE '2026-12-03'"),
            )
        }
    await engine.dispose()
    return {"elapsed": elapsed, "cpu": cpu, "pg_cpu": pg, **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--run", type=int, default=500, help="events per handler call (the consumer's batch)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    t = time.perf_counter()
    deliveries = events(args.events, args.seed)
    print(f"{args.events} events built in {time.perf_counter() - t:.1f} s")
    infra = infra_module()
    root = Path(tempfile.mkdtemp(prefix="bench-eligibility-import-"))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
    pg = infra.Postgres(root / "postgres", infra.free_port(), durable=False)
    pg.start()
    try:
        from shared.migrations import upgrade

        upgrade("eligibility", pg.url)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        f = asyncio.run(run(pg.url, pg_pid, deliveries, args.run))
    finally:
        pg.stop()
    n = args.events
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"import_cases: {n} events in {f['elapsed']:.2f} s = {n / f['elapsed']:,.0f} events/s "
        f"(runs of {args.run}); handler CPU {f['cpu']:.1f} s, PostgreSQL CPU {f['pg_cpu']:.1f} s; peak RSS {rss:.0f} MB"
    )
    print(
        f"cases approved {f['cases']}, imported steps {f['steps']}, outbox {f['outbox']}, audit {f['audit']}, "
        f"flagged for review {f['flagged']}"
    )
    ok = (f["cases"], f["steps"], f["outbox"], f["audit"]) == (n, n, 3 * n, n)
    print("OK" if ok else "FAILED: counts differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
