"""A page of a list at province scale: p50/p99 of one page (50 rows, with its bounded total) anywhere in a region
of 1M rows, read as the services read it (the repository's keyset page, shared/pagination.py), against the
baseline the lists had before: the same page by OFFSET.

    PYTHONPATH=. .venv/bin/python bench/list_pages.py [--rows 1000000] [--pages 200]

One run starts a throwaway PostgreSQL 15 (deploy/local/infra.py), migrates eligibility and payments with Alembic,
seeds `--rows` cases and `--rows` beneficiaries in one county set-based (tests/lists_kit.py: two townships, 50 rows
a day), stops 3 % of the beneficiaries in June 2024 (the month's changes list, 增减变动), ANALYZEs, then times
`--pages` pages at random depths of each list: the keyset page from the cursor of the row before (what `next`
carries), first read (cold: the rows may come from disk) and again (warm), and the OFFSET page at a sample of the
same depths; and the first page of the changes list of a month without changes (May 2024). Target: keyset p99 <
50 ms."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.measure import infra_module, percentile
from services.eligibility.cases.repository import CASES, CaseRepository
from services.eligibility.cases.schemas import CaseQuery
from services.payments.roll.repository import BENEFICIARIES, BeneficiaryRepository
from services.payments.roll.schemas import BeneficiaryQuery
from services.payments.statistics.repository import CHANGES, StatisticsRepository
from services.payments.statistics.schemas import ChangeQuery
from shared.core.period import Period
from shared.db import create_engine
from tests.lists_kit import seed_lists

COUNTY = "610626"
LIMIT = 50
OFFSET_PAGES = 20  # the baseline is slow: a sample of the same depths
JUNE, MAY = Period(2024, 6), Period(2024, 5)
STOPPED_IN_JUNE = "hashtext(id::text) % 33 = 0"  # ≈ 3 % of the roll
LISTS = {
    # name: (keyset, table, order, the rows it lists, the repository's page)
    "GET /cases": (
        CASES,
        "eligibility.cases",
        "opened_on, id",
        "true",
        lambda s, c: CaseRepository(s).page(COUNTY, CaseQuery(cursor=c, limit=LIMIT)),
    ),
    "GET /beneficiaries": (
        BENEFICIARIES,
        "payments.beneficiaries",
        "created_at, id",
        "true",
        lambda s, c: BeneficiaryRepository(s).page(COUNTY, BeneficiaryQuery(cursor=c, limit=LIMIT)),
    ),
    "GET /statistics/changes": (
        CHANGES,
        "payments.beneficiaries",
        "id",
        f"end_month = DATE '{JUNE.first_day}'",
        lambda s, c: StatisticsRepository(s).changes(
            COUNTY, JUNE, ChangeQuery(period=str(JUNE), cursor=c, limit=LIMIT)
        ),
    ),
}


async def measure(url: str, rows: int, pages: int) -> dict[str, dict[str, list[float]]]:
    engine = create_engine(url, 2)
    rng = random.Random(18)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for name, (keyset, table, order, listed, page) in LISTS.items():
            async with engine.connect() as conn:  # the cursor of the row before each depth, as `next` carries it
                count = await conn.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE region_code LIKE :p AND {listed}"), {"p": COUNTY + "%"}
                )
                depths = sorted(rng.sample(range(1, count - LIMIT), pages))
                keys = (
                    await conn.execute(
                        text(
                            f"SELECT {order} FROM (SELECT {order}, row_number() OVER (ORDER BY {order}) AS n "
                            f"FROM {table} WHERE region_code LIKE :p AND {listed}) s WHERE n = ANY(:n) ORDER BY n"
                        ),
                        {"p": COUNTY + "%", "n": depths},
                    )
                ).all()
            cursors = [keyset.encode(tuple(key), None) for key in keys]
            rng.shuffle(cursors)
            timed: dict[str, list[float]] = {}
            for run in ("keyset (first read)", "keyset (again)"):
                timed[run] = []
                for cursor in cursors:
                    async with AsyncSession(engine) as session:
                        started = time.perf_counter()
                        got = await page(session, cursor)
                        timed[run].append((time.perf_counter() - started) * 1000)
                        assert len(got.rows) == LIMIT
            timed["OFFSET"] = []
            for depth in depths[:: max(1, len(depths) // OFFSET_PAGES)]:
                async with engine.connect() as conn:
                    started = time.perf_counter()
                    await conn.execute(
                        text(
                            f"SELECT * FROM {table} WHERE region_code LIKE :p AND {listed} "
                            f"ORDER BY {order} OFFSET :d LIMIT :n"
                        ),
                        {"p": COUNTY + "%", "d": depth, "n": LIMIT},
                    )
                    timed["OFFSET"].append((time.perf_counter() - started) * 1000)
            results[name] = {run: sorted(values) for run, values in timed.items()}
        quiet = []
        for _ in range(pages):  # a month without changes: nothing to list, and the roll is not read to find that
            async with AsyncSession(engine) as session:
                started = time.perf_counter()
                got = await StatisticsRepository(session).changes(COUNTY, MAY, ChangeQuery(period=str(MAY)))
                quiet.append((time.perf_counter() - started) * 1000)
                assert got.rows == []
        results["GET /statistics/changes, a month without changes"] = {"first page": sorted(quiet)}
    finally:
        await engine.dispose()
    return results


async def seed(url: str, rows: int) -> None:
    engine = create_engine(url, 2)
    try:
        await seed_lists(engine, COUNTY, rows, ties=50, tables=("cases", "beneficiaries"))
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"UPDATE payments.beneficiaries SET end_month = DATE '{JUNE.first_day}', status = 'stopped' "
                    f"WHERE {STOPPED_IN_JUNE}"
                )
            )
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE payments.beneficiaries"))
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    infra = infra_module()
    root = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
    pg = infra.Postgres(root / "postgres", infra.free_port(), durable=False)
    try:
        pg.start()
        from shared.migrations import upgrade

        for service in ("eligibility", "payments"):
            upgrade(service, pg.url)
        started = time.perf_counter()
        print(f"seeding {args.rows:,} cases and {args.rows:,} beneficiaries in {COUNTY} ...", flush=True)
        asyncio.run(seed(pg.url, args.rows))
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        results = asyncio.run(measure(pg.url, args.rows, args.pages))
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\n{args.rows:,} rows per list in one county, {args.pages} pages of {LIMIT} at random depths "
        f"(OFFSET: {OFFSET_PAGES} of them), {os.cpu_count()} cores"
    )
    ok = True
    for name, r in results.items():
        for run, values in r.items():
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            print(f"{name:20} {run:20} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
        ok &= percentile(r.get("keyset (again)", r.get("first page", [0])), 0.99) < 50
    print("target p99 < 50 ms:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
