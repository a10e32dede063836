"""A regular batch against the age of the roll: the same month's batch for persons with 0 … N months of history.

    PYTHONPATH=. .venv/bin/python bench/batch_history.py [--persons 5000] [--history 0,24,60,120] [--chunk 1000]

A throwaway PostgreSQL 15 (payments migrated with Alembic). For each history length H, a township of its own:
`--persons` households on the roll (a 低保 owed row from H months before December 2026), each with a `regular`
line the bank paid for every month of those H (one exported batch), then December's regular batch requested and
built by the worker's job (`build_all`, chunks of `--chunk` households) — timed from the request to the last
chunk's commit, with this process's and PostgreSQL's CPU. Every run must make exactly one line per person for
December at the owed amount (checked); the months before are paid, so they owe nothing.

The balance rule (README, "paying each person exactly once") computes owed − held for *every* month up to the batch's,
so the work per person grows with the months behind it: the baseline is H = 0 (a roll that starts this month), and
the ratio is each run's seconds over the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from bench.measure import infra_module, process_cpu, tree_cpu
from services.payments.batches import service as batches
from services.payments.batches.jobs import build_all
from services.payments.batches.schemas import BatchIn
from services.payments.models import platform
from shared.auth import Principal
from shared.core.period import Period
from shared.db import create_engine, session_factory
from shared.uow import UnitOfWork

MONTH = Period(2026, 12)
FINANCE = Principal(sub="bench-finance", roles=frozenset({"finance"}), region="610626")
NIL = str(uuid.UUID(int=0))

_BENEFICIARIES = text("""
INSERT INTO payments.beneficiaries (id, case_id, household_id, programme, region_code, monthly_amount_fen, persons,
                                    start_month, status)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'dibao', :township || lpad((g % 20)::text, 3, '0'),
       30000 + (g % 100) * 100, 1 + g % 4, :start, 'active'
FROM generate_series(1, :n) g
""")
_OWED = text("""
INSERT INTO payments.owed (household_id, programme, member_id, region_code, case_id, persons, from_month, amount_fen,
                           event_id, reason)
SELECT household_id, programme, CAST(:nil AS uuid), region_code, case_id, persons, start_month, monthly_amount_fen,
       gen_random_uuid(), 'approval'
FROM payments.beneficiaries WHERE region_code LIKE :prefix
""")
_PAID_BATCH = text("""
INSERT INTO payments.batches (id, kind, region_code, period, status, created_by, created_at, recovery_percent,
                              progress_done)
VALUES (:id, 'regular', :township, :period, 'exported', 'bench', now(), 0, 0)
""")
_PAID_LINES = text("""
INSERT INTO payments.payment_lines (payment_id, batch_id, kind, case_id, beneficiary_id, household_id, member_id,
                                    programme, region_code, period, amount_fen, persons, status)
SELECT gen_random_uuid(), :batch, 'regular', b.case_id, b.id, b.household_id, CAST(:nil AS uuid), b.programme,
       b.region_code, CAST(m AS date), b.monthly_amount_fen, b.persons, 'paid'
FROM payments.beneficiaries b
CROSS JOIN LATERAL generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 month') m
WHERE b.region_code LIKE :prefix
""")
_MADE = text("""
SELECT count(*), count(*) FILTER (WHERE l.amount_fen = o.amount_fen AND l.period = :period AND l.kind = 'regular')
FROM payments.payment_lines l
JOIN payments.batches b ON b.id = l.batch_id
JOIN payments.owed o ON o.case_id = l.case_id AND o.superseded_by IS NULL
WHERE b.region_code = :township AND b.period = :period
""")


async def seed(engine, township: str, persons: int, history: int) -> None:
    start, prefix = MONTH.plus(-history), township + "%"
    async with engine.begin() as conn:
        await conn.execute(_BENEFICIARIES, {"township": township, "n": persons, "start": start.first_day})
        await conn.execute(_OWED, {"prefix": prefix, "nil": NIL})
        if history:
            batch = uuid.uuid4()
            await conn.execute(_PAID_BATCH, {"id": batch, "township": township, "period": MONTH.plus(-1).first_day})
            await conn.execute(
                _PAID_LINES,
                {
                    "batch": batch,
                    "nil": NIL,
                    "first": start.first_day,
                    "last": MONTH.plus(-1).first_day,
                    "prefix": prefix,
                },
            )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("beneficiaries", "owed", "payment_lines", "batches"):
            await conn.execute(text(f"VACUUM ANALYZE payments.{table}"))


async def build(engine, pg_pid: int, township: str, chunk: int) -> tuple[float, float, float]:
    units = session_factory(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(units, platform, "/bench")

    cpu, pg_cpu, started = process_cpu(), tree_cpu(pg_pid), time.perf_counter()
    async with uow() as u:
        await batches.create(u, FINANCE, BatchIn(kind="regular", region_code=township, period=MONTH))
        await u.commit()
    await build_all(uow, chunk)
    return time.perf_counter() - started, process_cpu() - cpu, tree_cpu(pg_pid) - pg_cpu


async def run(url: str, pg_pid: int, persons: int, histories: list[int], chunk: int) -> list[dict]:
    engine = create_engine(url)
    results = []
    try:
        for i, history in enumerate(histories):
            township = f"6106263{i:02d}"  # one of its own per run (digits no seeded township uses)
            await seed(engine, township, persons, history)
            seconds, py, pg = await build(engine, pg_pid, township, chunk)
            async with engine.connect() as conn:
                lines, right = (await conn.execute(_MADE, {"township": township, "period": MONTH.first_day})).one()
            ok = lines == right == persons
            results.append({"history": history, "seconds": seconds, "py": py, "pg": pg, "ok": ok})
            print(f"  {history:4d} months behind: {seconds:6.2f} s", flush=True)
    finally:
        await engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=5_000)
    parser.add_argument("--history", default="0,24,60,120", help="months of paid history per run (first: baseline)")
    parser.add_argument("--chunk", type=int, default=1_000)
    args = parser.parse_args(argv)
    histories = [int(h) for h in args.history.split(",")]
    infra = infra_module()
    root = Path(tempfile.mkdtemp(prefix="bench-batch-history-"))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
    pg = infra.Postgres(root / "postgres", infra.free_port(), durable=False)
    pg.start()
    try:
        from shared.migrations import upgrade

        upgrade("payments", pg.url)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        results = asyncio.run(run(pg.url, pg_pid, args.persons, histories, args.chunk))
    finally:
        pg.stop()
    base = results[0]["seconds"]
    print(f"\n{args.persons} persons a run, December 2026's regular batch; load average {os.getloadavg()[0]:.1f}")
    print(f"{'months behind':>13} {'seconds':>8} {'ratio':>6} {'CPU py':>7} {'CPU pg':>7} {'µs/person':>10}  lines")
    for r in results:
        print(
            f"{r['history']:13d} {r['seconds']:8.2f} {r['seconds'] / base:6.2f} {r['py']:7.2f} {r['pg']:7.2f} "
            f"{r['seconds'] / args.persons * 1e6:10.0f}  {'ok' if r['ok'] else 'WRONG'}"
        )
    print("ratio: seconds over the first run's (the baseline: no month behind)")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
