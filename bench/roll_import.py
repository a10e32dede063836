"""Roll import benchmark (存量对象导入), the intake part: a province-sized roll file against a bare COPY of the same
rows into the same tables.

    PYTHONPATH=. .venv/bin/python bench/roll_import.py [--households 350000] [--members 1000000]

One run brings up a throwaway PostgreSQL 15 and Kafka (deploy/local/infra.py), migrates intake and eligibility,
writes the roll (CSV, UTF-8: rural 低保 households of 1-5 members in 吴起县's villages, the household's columns on
its first row, 0.1 % rows with a wrong check character) and starts intake's and eligibility's APIs under uvicorn
(one process each; intake prices the rows at eligibility's `POST /assessments`). Then:

* **intake** — `POST /roll-imports` (the file streamed as multipart; read, checked, sealed and COPYed into the
  staging table before the answer), the dry run to `validated` (households judged and priced, the report), then
  `POST /roll-imports/{id}/commit` to `imported` (households, members, applications and the outbox's events,
  chunk by chunk). Each phase is timed; both APIs' peak RSS (VmHWM) is read.
* **bare** — the rows the import wrote (households, members, applications, outbox), dumped and COPYed into tables
  made `LIKE … INCLUDING ALL` (the same columns and indexes) in a schema of their own, in one transaction.

Printed: each phase's seconds, the total, the bare COPY's seconds and the ratio (issue #18's aim: ≤ 3× for the
whole flow with every service's read model; this is intake's part only), rows/s, peak RSS per process (aim:
< 400 MB). Eligibility's and payments' consumers are not run here (bench/eligibility_import.py measures
eligibility's). Results: bench/results/roll_import.json (git-ignored). Run it small while developing:
`--households 2000 --members 5700`.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "roll_import.json"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from intake_load import serve, wait_healthy  # noqa: E402
from measure import tree_cpu  # noqa: E402

from shared.core.identity import check_character  # noqa: E402

HEADER = [
    "户编号",
    "村(社区)代码",
    "户籍性质",
    "地址",
    "姓名",
    "公民身份号码",
    "与户主关系",
    "是否保障对象",
    "月收入(元)",
    "保障类别",
    "审批日期",
    "月保障金(元)",
    "保障人数",
    "开户银行",
    "账户名",
    "银行账号",
]
NAMES = "王李张刘陈杨赵黄周吴"
GIVEN = "秀英建国海燕志强桂兰玉梅"
TABLES = ("households", "members", "applications", "outbox")


def resident_id(i: int) -> str:
    birth = date(1930, 1, 1) + timedelta(days=i // 500)
    first17 = f"610626{birth:%Y%m%d}{(i % 500) * 2 + 1:03d}"
    return first17 + check_character(first17)


def write_roll(path: Path, households: int, members: int) -> tuple[int, int]:
    """The county's CSV; returns (rows, rows with a bad ID number)."""
    rng = random.Random(18)
    rows = bad = person = 0
    sizes = [1] * households
    for _ in range(max(members - households, 0)):  # spread the other members over the households, at most 5 each
        h = rng.randrange(households)
        while sizes[h] >= 5:
            h = rng.randrange(households)
        sizes[h] += 1
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for h, size in enumerate(sizes):
            village = f"61062610{1 + h % 8}{200 + h % 100:03d}"
            name = NAMES[h % 10] + GIVEN[h % 6 * 2 : h % 6 * 2 + 2]
            for m in range(size):
                number = resident_id(person)
                person += 1
                if rng.random() < 0.001:
                    number = number[:17] + ("0" if number[17] != "0" else "1")
                    bad += 1
                first = m == 0
                amount = f"{500 * size}.00" if rng.random() < 0.9 else f"{480 * size}.00"
                out.writerow(
                    [
                        f"H{h:07d}",
                        village if first else "",
                        "农村" if first else "",
                        f"第{h % 12 + 1}组" if first else "",
                        name if first else NAMES[(h + m) % 10] + "建国",
                        number,
                        "户主" if first else "子女",
                        "是",
                        "",
                        "低保" if first else "",
                        "2024-03-15" if first else "",
                        amount if first else "",
                        str(size) if first else "",
                        "吴起农村商业银行" if first else "",
                        name if first else "",
                        f"62170{h:012d}" if first else "",
                    ]
                )
                rows += 1
    return rows, bad


async def run_import(base: str, token: str, path: Path) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    phases: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=None, headers=headers) as client:
        started = time.perf_counter()
        with path.open("rb") as f:
            r = await client.post(
                "/roll-imports", files={"file": ("roll.csv", f, "text/csv")}, data={"paid_through": "2026-11"}
            )
        if r.status_code != 202:
            raise RuntimeError(f"upload refused: {r.status_code} {r.text[:500]}")
        import_id = r.json()["id"]
        phases["upload"] = time.perf_counter() - started

        async def until(statuses: tuple[str, ...]) -> dict[str, Any]:
            while True:
                body = (await client.get(f"/roll-imports/{import_id}")).json()
                if body["status"] in statuses:
                    return body
                await asyncio.sleep(0.5)

        t = time.perf_counter()
        validated = await until(("validated", "failed"))
        if validated["status"] != "validated":
            raise RuntimeError(f"dry run failed: {validated['error']}")
        phases["dry_run"] = time.perf_counter() - t
        t = time.perf_counter()
        r = await client.post(f"/roll-imports/{import_id}/commit")
        if r.status_code != 202:
            raise RuntimeError(f"commit refused: {r.status_code} {r.text[:500]}")
        imported = await until(("imported",))
        phases["import"] = time.perf_counter() - t
    return {"id": import_id, "phases": phases, "report": imported["report"]}


async def bare_copy(url: str, pg_pid: int) -> tuple[float, float, dict[str, int]]:
    """The import's own rows COPYed into tables LIKE intake's (same columns, same indexes) in one transaction:
    (seconds, PostgreSQL CPU seconds, rows per table)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE SCHEMA bench_bare")
        for table in TABLES:
            await conn.execute(f"CREATE TABLE bench_bare.{table} (LIKE intake.{table} INCLUDING ALL)")
        dumps: dict[str, list] = {}
        for table in TABLES:
            columns = [
                r["attname"]
                for r in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
                    "AND NOT attisdropped AND attidentity = '' AND attgenerated = '' ORDER BY attnum",
                    f"intake.{table}",
                )
            ]
            dumps[table] = (columns, await conn.fetch(f"SELECT {', '.join(columns)} FROM intake.{table}"))
        cpu0 = tree_cpu(pg_pid)
        started = time.perf_counter()
        async with conn.transaction():
            for table, (columns, rows) in dumps.items():
                await conn.copy_records_to_table(
                    table, schema_name="bench_bare", columns=columns, records=[tuple(r) for r in rows]
                )
        elapsed = time.perf_counter() - started
        return elapsed, tree_cpu(pg_pid) - cpu0, {t: len(rows) for t, (_, rows) in dumps.items()}
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
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    from infra import free_port, throwaway
    from stack import Stack

    from shared.auth import mint_token
    from shared.migrations import upgrade

    work = REPO / ".local" / "bench-roll-import"
    work.mkdir(parents=True, exist_ok=True)
    roll = work / "roll.csv"
    t = time.perf_counter()
    rows, bad = write_roll(roll, args.households, args.members)
    print(
        f"roll: {args.households} households, {rows} rows ({roll.stat().st_size / 1e6:.0f} MB, {bad} bad) "
        f"in {time.perf_counter() - t:.0f}s",
        flush=True,
    )

    with throwaway("bench-roll-import-") as (pg, kafka):
        env = {
            "DATABASE_URL": pg.url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "ENVIRONMENT": "test",
            "INTAKE_LOG_LEVEL": "WARNING",
            "ELIGIBILITY_LOG_LEVEL": "WARNING",
        }
        upgrade("intake", pg.url)
        upgrade("eligibility", pg.url)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        stack = Stack(env, ports={}, log_dir=work / "logs")
        eligibility_port, intake_port = free_port(), free_port()
        stack.env["INTAKE_ELIGIBILITY_URL"] = f"http://127.0.0.1:{eligibility_port}"
        eligibility = serve(stack, "bench-eligibility", "services.eligibility.api:app", eligibility_port, 1, REPO)
        intake = serve(stack, "bench-intake", "services.intake.api:app", intake_port, 1, REPO)
        try:
            base = f"http://127.0.0.1:{intake_port}"
            asyncio.run(wait_healthy(f"http://127.0.0.1:{eligibility_port}", eligibility))
            asyncio.run(wait_healthy(base, intake))
            token = mint_token("bench-admin", ["admin"], "610626")
            cpu0 = tree_cpu(intake.pid), tree_cpu(eligibility.pid), tree_cpu(pg_pid)
            started = time.perf_counter()
            result = asyncio.run(run_import(base, token, roll))
            total = time.perf_counter() - started
            cpu = (tree_cpu(intake.pid) - cpu0[0], tree_cpu(eligibility.pid) - cpu0[1], tree_cpu(pg_pid) - cpu0[2])
            rss = {"intake_api": peak_rss_mb(intake.pid), "eligibility_api": peak_rss_mb(eligibility.pid)}
        finally:
            stack.stop_all()
        phases = result["phases"]
        report = result["report"]
        print(
            f"intake: {total:.1f}s ({', '.join(f'{k} {v:.1f}s' for k, v in phases.items())}); "
            f"{report['households_imported']} households imported, {report['rows_refused']} rows refused, "
            f"{report['amount_differs']} amounts differ; CPU intake {cpu[0]:.1f}s, eligibility {cpu[1]:.1f}s, "
            f"PostgreSQL {cpu[2]:.1f}s; peak RSS " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()),
            flush=True,
        )
        bare_s, bare_cpu, copied = asyncio.run(bare_copy(pg.url, pg_pid))
        print(f"bare: COPY of the same rows {bare_s:.1f}s ({copied}); CPU PostgreSQL {bare_cpu:.1f}s", flush=True)

    ratio = total / bare_s
    consistent = report["households_imported"] == copied["households"] and report["rows_refused"] >= bad
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "households": args.households,
        "rows": rows,
        "bad_rows": bad,
        "phases_seconds": {k: round(v, 2) for k, v in phases.items()},
        "intake_seconds": round(total, 2),
        "bare_seconds": round(bare_s, 2),
        "ratio": round(ratio, 2),
        "rows_per_s": round(rows / total),
        "cpu_seconds": {"intake": round(cpu[0], 2), "eligibility": round(cpu[1], 2), "postgres": round(cpu[2], 2)},
        "peak_rss_mb": {k: round(v) for k, v in rss.items()},
        "copied": copied,
        "report": report,
        "consistent": consistent,
    }
    print(
        f"\nintake {total:.1f}s vs bare COPY {bare_s:.1f}s: ratio {ratio:.2f}; {rows / total:,.0f} rows/s; "
        f"peak RSS {max(rss.values()):.0f} MB; consistent: {consistent}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
