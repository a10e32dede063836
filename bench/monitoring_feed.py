"""Monitoring feed benchmark: a 1,000,000-row 医保局 feed against 300,000 known households.

    PYTHONPATH=. .venv/bin/python bench/monitoring_feed.py [--rows 1000000] [--households 300000] [--profile DIR]

One run brings up a throwaway PostgreSQL 15 and Kafka (deploy/local/infra.py), migrates monitoring, and seeds
its read model as intake's and eligibility's events would leave it: N households of 3 members in 吴起县 (rows
COPY'd straight into `monitoring.households` / `persons` / `coverage`; the events path is benchmarked by
bench/event_backbone.py). A CSV of M settlements is written to disk: 95 % of rows for known members, 5 % for
people no household lists yet, out-of-pocket mostly small with 1 % large bills, dates over the last year, and
0.1 % bad rows (wrong check character). Then, side by side on the same database:

* **monitoring** - `services.monitoring.api:app` under uvicorn (one process); the file is streamed to
  `POST /feeds/medical` and the time is taken until the answer: parse + validate + fingerprint every row, COPY,
  match, every risk rule, alerts with evidence and their outbox events, one commit.
* **ceiling** - bare PostgreSQL doing the same per-row work from the same partner file, in one transaction:
  COPY into a temporary staging table (dropped at commit), `INSERT … SELECT` of the rows whose ID has a valid
  check character with the keyed fingerprint computed in SQL (pgcrypto `hmac`, checked equal to
  `shared.core.identity.id_fingerprint` first), one join against the fingerprints + `INSERT … SELECT` of the
  high-medical-cost alerts. bench/README.md tabulates what each side does.

Printed: both wall times and their ratio, both sides' CPU seconds (API process + PostgreSQL backends, read from
/proc) and their ratio, the API process's peak RSS (VmHWM), the load average, and a check that both loaded the
same rows and found the same high-medical-cost households. `--profile DIR` writes a pyinstrument report of the
API's post (bench/profiled_monitoring.py). Results: bench/results/monitoring_feed.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "monitoring_feed.json"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from intake_load import serve, wait_healthy  # noqa: E402
from measure import tree_cpu  # noqa: E402

from shared.core.identity import check_character, id_fingerprint  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402


def resident_id(i: int, area: str = "610626") -> str:
    birth = date(1940, 1, 1) + timedelta(days=i // 500)
    first17 = f"{area}{birth:%Y%m%d}{(i % 500) * 2 + 1:03d}"
    return first17 + check_character(first17)


def seed_rows(households: int, key: bytes) -> tuple[list[tuple], list[tuple], list[tuple], list[str]]:
    rng = random.Random(8)
    hh, persons, coverage, ids = [], [], [], []
    for h in range(households):
        hid = uuid.uuid4()
        per_capita = rng.randrange(60_000, 300_000)  # 600-3,000 yuan a month: most above the 低保 lines
        village = f"61062610{1 + h % 8}{200 + h % 100:03d}"
        hh.append((hid, village, "rural", 3, per_capita * 3, per_capita, datetime.now(UTC)))
        for m in range(3):
            number = resident_id(h * 3 + m)
            ids.append(number)
            persons.append((id_fingerprint(number, key), uuid.uuid4(), hid))
        if h % 10 == 0:
            coverage.append(
                (uuid.uuid4(), hid, "dibao", [p[1] for p in persons[-3:]], True, date.today().replace(day=1), None)
            )
    return hh, persons, coverage, ids


def write_feed(path: Path, rows: int, ids: list[str]) -> int:
    """The partner's CSV (both sides read this same file); returns the number of bad rows."""
    rng = random.Random(11)
    today = date.today()
    bad = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id_number", "region_code", "settled_on", "out_of_pocket_fen", "serious_illness"])
        for i in range(rows):
            number = ids[rng.randrange(len(ids))] if rng.random() < 0.95 else resident_id(i, "610625")
            amount = rng.randrange(1_000_000, 6_000_000) if rng.random() < 0.01 else rng.randrange(0, 200_000)
            day = today - timedelta(days=rng.randrange(0, 365))
            if rng.random() < 0.001:
                number = number[:17] + ("0" if number[17] != "0" else "1")
                bad += 1
            out.writerow([number, "610626101", day.isoformat(), amount, "1" if amount > 1_000_000 else "0"])
    return bad


async def seed(url: str, households: list[tuple], persons: list[tuple], coverage: list[tuple]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table(
            "households",
            schema_name="monitoring",
            records=households,
            columns=[
                "household_id",
                "region_code",
                "hukou_type",
                "counted_members",
                "monthly_income_fen",
                "per_capita_monthly_fen",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "persons",
            schema_name="monitoring",
            records=persons,
            columns=["id_fingerprint", "member_id", "household_id"],
        )
        await conn.copy_records_to_table(
            "coverage",
            schema_name="monitoring",
            records=coverage,
            columns=["case_id", "household_id", "programme", "member_ids", "active", "since_month", "last_month"],
        )
        await conn.execute("ANALYZE monitoring.households; ANALYZE monitoring.persons; ANALYZE monitoring.coverage")
    finally:
        await conn.close()


async def post_feed(base: str, token: str, path: Path) -> tuple[float, dict[str, Any]]:
    import httpx

    async def chunks():
        with path.open("rb") as f:
            while block := f.read(256 * 1024):
                yield block

    async with httpx.AsyncClient(base_url=base, timeout=None) as client:
        started = time.perf_counter()
        r = await client.post(
            "/feeds/medical", content=chunks(), headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        )
        elapsed = time.perf_counter() - started
    if r.status_code != 201:
        raise RuntimeError(f"feed refused: {r.status_code} {r.text[:500]}")
    return elapsed, r.json()


# The ceiling's statements, in order, inside one transaction (see the module docstring and bench/README.md).
# The partner's file is COPY'd as text into a temporary staging table dropped at commit (the clear ID lives only
# there, as in the service's memory); the check character is verified and the keyed fingerprint computed in SQL.
CEILING_STAGE = """
CREATE TEMP TABLE ceiling_stage (id_number text, region_code text, settled_on text, out_of_pocket_fen text,
                                 serious_illness text) ON COMMIT DROP
"""
CEILING_LOAD = """
INSERT INTO bench.ceiling_rows (id_fingerprint, region_code, event_date, amount_fen)
SELECT encode(hmac(convert_to(upper(trim(s.id_number)), 'UTF8'), $1::bytea, 'sha256'), 'hex'), s.region_code,
       s.settled_on::date, s.out_of_pocket_fen::bigint
FROM ceiling_stage s
WHERE s.id_number ~ '^[0-9]{17}[0-9Xx]$'
  AND upper(substr(s.id_number, 18, 1)) = substr('10X98765432', (
        SELECT sum(substr(s.id_number, i::int, 1)::int * w)::int FROM unnest(
            ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]) WITH ORDINALITY AS t(w, i)) % 11 + 1, 1)
"""
CEILING = """
INSERT INTO bench.ceiling_alerts (household_id, total_fen)
SELECT p.household_id, sum(r.amount_fen)
FROM bench.ceiling_rows r
JOIN monitoring.persons p ON p.id_fingerprint = r.id_fingerprint
JOIN monitoring.households h ON h.household_id = p.household_id
WHERE r.event_date > current_date - 365
GROUP BY p.household_id, h.monthly_income_fen
HAVING sum(r.amount_fen) > greatest(0.5 * h.monthly_income_fen * 12, 500000)
"""


async def ceiling(url: str, path: Path, key: bytes, pg_pid: int) -> tuple[float, float, int, int, dict[str, float]]:
    """(seconds, PostgreSQL CPU seconds, rows loaded, alerts, seconds per step). The CPU is read while the
    backend is still alive: once it exits, its time reaches the postmaster's only when reaped."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("""
            CREATE EXTENSION IF NOT EXISTS pgcrypto;
            CREATE SCHEMA IF NOT EXISTS bench;
            CREATE TABLE bench.ceiling_rows (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                id_fingerprint varchar(64) NOT NULL, region_code varchar(12) NOT NULL, event_date date NOT NULL,
                amount_fen bigint NOT NULL);
            CREATE TABLE bench.ceiling_alerts (household_id uuid PRIMARY KEY, total_fen bigint NOT NULL);""")
        # The SQL fingerprint must be the service's, digit for digit, or the comparison means nothing.
        for sample in (resident_id(1), resident_id(2)[:17] + "x"):
            in_sql = await conn.fetchval(
                "SELECT encode(hmac(convert_to(upper(trim($1)), 'UTF8'), $2::bytea, 'sha256'), 'hex')", sample, key
            )
            if in_sql != id_fingerprint(sample, key):
                raise RuntimeError("pgcrypto's hmac differs from shared.core.identity.id_fingerprint")
        steps: dict[str, float] = {}
        cpu0 = tree_cpu(pg_pid)
        started = time.perf_counter()
        async with conn.transaction():
            t = time.perf_counter()
            await conn.execute(CEILING_STAGE)
            await conn.copy_to_table("ceiling_stage", source=str(path), format="csv", header=True)
            steps["copy"] = time.perf_counter() - t
            t = time.perf_counter()
            loaded = int((await conn.execute(CEILING_LOAD, key)).split()[-1])
            await conn.execute("ANALYZE bench.ceiling_rows")
            steps["validate_fingerprint_insert"] = time.perf_counter() - t
            t = time.perf_counter()
            await conn.execute(CEILING)
            steps["join_alerts"] = time.perf_counter() - t
        elapsed = time.perf_counter() - started
        cpu = tree_cpu(pg_pid) - cpu0
        return elapsed, cpu, loaded, await conn.fetchval("SELECT count(*) FROM bench.ceiling_alerts"), steps
    finally:
        await conn.close()


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile the API's POST with pyinstrument; text report written into this folder",
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    from infra import free_port, throwaway
    from stack import Stack

    from shared.auth import mint_token
    from shared.migrations import upgrade

    key = ServiceSettings().pii_hmac_key.encode()
    work = REPO / ".local" / "bench-monitoring"
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    households, persons, coverage, ids = seed_rows(args.households, key)
    feed = work / "medical.csv"
    bad = write_feed(feed, args.rows, ids)
    print(
        f"data: {len(households)} households, {len(persons)} persons, {args.rows} rows "
        f"({feed.stat().st_size / 1e6:.0f} MB, {bad} bad) in {time.perf_counter() - t:.0f}s",
        flush=True,
    )

    with throwaway("bench-monitoring-") as (pg, kafka):
        env = {
            "DATABASE_URL": pg.url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "ENVIRONMENT": "test",
            "MONITORING_LOG_LEVEL": "WARNING",
        }
        if args.profile:
            env["BENCH_PROFILE_DIR"] = str(args.profile.resolve())
        upgrade("monitoring", pg.url)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        asyncio.run(seed(pg.url, households, persons, coverage))
        del households, persons, coverage, ids

        stack = Stack(env, ports={}, log_dir=work / "logs")
        port = free_port()
        app = "bench.profiled_monitoring:app" if args.profile else "services.monitoring.api:app"
        proc = serve(stack, "bench-monitoring", app, port, 1, REPO)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_healthy(base, proc))
            token = mint_token("bench-yibao", ["partner:medical_insurance"], "610626")
            print(f"monitoring: posting the feed (load average {os.getloadavg()[0]:.2f}) ...", flush=True)
            cpu0 = tree_cpu(proc.pid), tree_cpu(pg_pid)
            api_s, result = asyncio.run(post_feed(base, token, feed))
            api_cpu, api_pg_cpu = tree_cpu(proc.pid) - cpu0[0], tree_cpu(pg_pid) - cpu0[1]
            rss = peak_rss_mb(proc.pid)
        finally:
            stack.stop("bench-monitoring")
        print(
            f"  {api_s:.1f}s: {result['rows_loaded']} loaded, {result['rows_rejected']} rejected, "
            f"{result['alerts_raised']} alerts; peak RSS {rss:.0f} MB; CPU {api_cpu:.1f}s API + "
            f"{api_pg_cpu:.1f}s PostgreSQL",
            flush=True,
        )

        async def medical_alerts() -> int:
            import asyncpg

            conn = await asyncpg.connect(pg.url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                return await conn.fetchval(
                    "SELECT count(*) FROM monitoring.alerts WHERE alert_type = 'high_medical_cost'"
                )
            finally:
                await conn.close()

        ours = asyncio.run(medical_alerts())
        print("ceiling: COPY + join + INSERT … SELECT ...", flush=True)
        ceiling_s, ceiling_cpu, ceiling_rows, theirs, steps = asyncio.run(ceiling(pg.url, feed, key, pg_pid))
        print(
            f"  {ceiling_s:.1f}s ({', '.join(f'{k} {v:.1f}s' for k, v in steps.items())}): "
            f"{ceiling_rows} rows, {theirs} high-medical-cost households; CPU {ceiling_cpu:.1f}s PostgreSQL",
            flush=True,
        )

    ratio = api_s / ceiling_s
    same = ours == theirs and result["rows_rejected"] == bad and result["rows_loaded"] == ceiling_rows
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "rows": args.rows,
        "households": args.households,
        "bad_rows": bad,
        "monitoring_seconds": round(api_s, 2),
        "ceiling_seconds": round(ceiling_s, 2),
        "ratio": round(ratio, 2),
        "cpu_seconds": {
            "monitoring_api": round(api_cpu, 2),
            "monitoring_postgres": round(api_pg_cpu, 2),
            "ceiling_postgres": round(ceiling_cpu, 2),
        },
        "cpu_ratio": round((api_cpu + api_pg_cpu) / ceiling_cpu, 2),
        "ceiling_steps": {k: round(v, 2) for k, v in steps.items()},
        "load_average": os.getloadavg(),
        "rows_per_s": round(args.rows / api_s),
        "api_peak_rss_mb": round(rss),
        "alerts_raised": result["alerts_raised"],
        "high_medical_cost": ours,
        "ceiling_alerts": theirs,
        "consistent": same,
    }
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"CPU: monitoring {api_cpu + api_pg_cpu:.1f}s vs ceiling {ceiling_cpu:.1f}s: "
        f"ratio {(api_cpu + api_pg_cpu) / ceiling_cpu:.2f}"
    )
    print(
        f"monitoring {api_s:.1f}s vs ceiling {ceiling_s:.1f}s: ratio {ratio:.2f}; "
        f"{args.rows / api_s:,.0f} rows/s; API peak RSS {rss:.0f} MB; same alerts: {same}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
