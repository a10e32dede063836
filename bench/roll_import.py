"""Roll import benchmark (存量对象导入), end to end: a province-sized roll file through all four services against a
bare COPY of the same rows into the same tables.

    PYTHONPATH=. .venv/bin/python bench/roll_import.py [--households 350000] [--members 1000000] [--profile]

One run brings up a throwaway PostgreSQL 15 and Kafka (deploy/local/infra.py), migrates the four services, writes
the roll (CSV, UTF-8: rural 低保 households of 1-5 members in 吴起县's villages, the household's columns on its first
row, 0.1 % rows with a wrong check character) and starts the stack as `make run` does (deploy/local/stack.py's
Stack: each service's API under uvicorn and its worker — relay and consumers — one process each; intake prices the
rows at eligibility's `POST /assessments`). Then, timed phase by phase:

* **upload** — `POST /roll-imports` (the file streamed as multipart; read, checked, sealed and COPYed into the
  staging table before the answer);
* **dry run** — until `GET /roll-imports/{id}` says `validated` (households judged and priced, the report);
* **import** — `POST /roll-imports/{id}/commit` until `imported` (households, members, applications and the
  outbox's events, chunk by chunk);
* **read models** — until every service's read model has the import, by SQL counts polled once a second:
  eligibility's cases approved, payments' beneficiaries, owed rows, paid-elsewhere rows and current payees,
  monitoring's households and coverage — one each per imported household — and every outbox relayed.

* **bare** — every row the run left in the four services' tables (households, members, applications, cases, steps,
  facts, beneficiaries, entitlements, owed, paid_elsewhere, payees, monitoring's read model, outboxes, inboxes,
  audit logs; not intake's staging of the file: `roll_import_*`), dumped and COPYed into tables made
  `LIKE … INCLUDING ALL` (the same columns and indexes) in a schema of their own, in one transaction.

Printed: each phase's seconds, the total, the bare COPY's seconds and the ratio (issue #18's aim: ≤ 3×), rows/s,
every process's peak RSS (VmHWM; aim < 400 MB) and CPU, the load average before and after. `--profile` runs each
process under cProfile (written on its graceful stop to .local/bench-roll-import/profiles/<name>.prof). Results:
bench/results/roll_import.json (git-ignored). Run it small while developing: `--households 2000 --members 5700`.
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


STAGING = ("roll_import_rows", "roll_import_households", "roll_import_issues", "roll_imports", "alembic_version")
SCHEMAS = ("intake", "eligibility", "payments", "monitoring")
# Every service's read model has the import once each of these counts is the number of households imported.
READ_MODELS = {  # in the order they fill (intake's events, then eligibility's): polled up to the first not there
    "monitoring households": "SELECT count(*) FROM monitoring.households",
    "payments current payees": "SELECT count(*) FROM payments.current_payees WHERE payee_id IS NOT NULL",
    "eligibility cases approved": "SELECT count(*) FROM eligibility.cases WHERE status = 'approved'",
    "monitoring coverage": "SELECT count(*) FROM monitoring.coverage WHERE active",
    "payments beneficiaries": "SELECT count(*) FROM payments.beneficiaries",
    "payments paid_elsewhere": "SELECT count(DISTINCT case_id) FROM payments.paid_elsewhere",
    "payments owed": "SELECT count(DISTINCT case_id) FROM payments.owed WHERE superseded_by IS NULL",
}
UNRELAYED = " + ".join(f"(SELECT count(*) FROM {s}.outbox WHERE sent_at IS NULL)" for s in SCHEMAS)


async def read_models(
    url: str, households: int, timeout: float, timeline: list[dict[str, Any]]
) -> tuple[float, dict[str, float], dict[str, int]]:
    """Polls until every read model counts `households` and then every outbox is relayed: (seconds, when each got
    there, the last counts); each poll's counts are appended to `timeline`. The polling is kept light (its counts
    over growing tables cost PostgreSQL CPU the run competes with): once a second, a count once there is not asked
    again (they only grow), and a poll stops at the first count not there yet."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        started = time.perf_counter()
        reached: dict[str, float] = {}
        counts: dict[str, int] = {}
        while True:
            for name, sql in READ_MODELS.items():
                if name in reached:
                    continue
                counts[name] = await conn.fetchval(sql)
                if counts[name] < households:
                    break
                reached[name] = time.perf_counter() - started
            now = time.perf_counter() - started
            if len(reached) == len(READ_MODELS):  # the last events' outbox rows out too (nothing left in flight)
                counts["unrelayed outbox rows"] = await conn.fetchval(f"SELECT {UNRELAYED}")
                if counts["unrelayed outbox rows"] == 0:
                    reached["outboxes relayed"] = now = time.perf_counter() - started
            timeline.append({"s": round(now, 1), **counts})
            if "outboxes relayed" in reached:
                return now, reached, counts
            if now > timeout:
                raise TimeoutError(f"read models not there after {timeout:.0f}s: {counts}")
            await asyncio.sleep(1.0)
    finally:
        await conn.close()


async def bare_copy(url: str, pg_pid: int) -> tuple[float, float, dict[str, int]]:
    """The rows the run wrote, COPYed into tables LIKE the services' (same columns, same indexes) in one
    transaction: (seconds, PostgreSQL CPU seconds, rows per table). Each table is first copied out to a file (not
    timed), so the baseline is COPY from a file and this process holds no rows (a province's 17M rows did not fit
    in memory as records)."""
    import tempfile

    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE SCHEMA bench_bare")
        tables = [
            f"{r['schemaname']}.{r['relname']}"
            for r in await conn.fetch(
                "SELECT schemaname, relname FROM pg_stat_user_tables WHERE schemaname = ANY($1::text[]) "
                "AND NOT relname = ANY($2::text[]) ORDER BY 1, 2",
                list(SCHEMAS),
                list(STAGING),
            )
        ]
        with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
            dumps: dict[str, tuple[list[str], Path, int]] = {}
            for table in tables:
                if await conn.fetchval(f"SELECT NOT EXISTS (SELECT 1 FROM {table})"):
                    continue
                columns = [
                    r["attname"]
                    for r in await conn.fetch(
                        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
                        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                        table,
                    )
                ]
                bare = table.replace(".", "__")
                await conn.execute(f"CREATE TABLE bench_bare.{bare} (LIKE {table} INCLUDING ALL)")
                if await conn.fetchval(
                    "SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attidentity <> ''",
                    f"bench_bare.{bare}",
                ):
                    await conn.execute(
                        "DO $$ DECLARE c text; BEGIN FOR c IN SELECT attname FROM pg_attribute WHERE attrelid = "
                        f"'bench_bare.{bare}'::regclass AND attidentity <> '' LOOP EXECUTE format("
                        f"'ALTER TABLE bench_bare.{bare} ALTER COLUMN %I DROP IDENTITY', c); END LOOP; END $$"
                    )
                schema, name = table.split(".")
                path = Path(tmp) / f"{bare}.copy"
                status = await conn.copy_from_table(name, schema_name=schema, columns=columns, output=str(path))
                dumps[bare] = (columns, path, int(status.split()[-1]))
            cpu0 = tree_cpu(pg_pid)
            started = time.perf_counter()
            async with conn.transaction():
                for table, (columns, path, _) in dumps.items():
                    await conn.copy_to_table(table, schema_name="bench_bare", columns=columns, source=str(path))
            elapsed = time.perf_counter() - started
        return elapsed, tree_cpu(pg_pid) - cpu0, {t.replace("__", "."): n for t, (_, _, n) in dumps.items()}
    finally:
        await conn.close()


async def statements(url: str, top: bool) -> str:
    """--profile: pg_stat_statements loaded at the next start (not `top`), or its top statements."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if not top:
            await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            return ""
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        rows = await conn.fetch(
            "SELECT total_exec_time, calls, rows, query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40"
        )
        return (
            "\n".join(
                f"{r['total_exec_time'] / 1000:8.2f}s {r['calls']:7d} calls {r['rows']:8d} rows  "
                + " ".join(r["query"].split())[:400]
                for r in rows
            )
            + "\n"
        )
    finally:
        await conn.close()


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def spawn_stack(stack: Any, profiles: Path | None) -> None:
    """The four APIs and workers as deploy/local/stack.py starts them, or each under cProfile."""
    if profiles is None:
        stack.start_all()
        return
    profiles.mkdir(parents=True, exist_ok=True)
    for service in stack.ports:
        prof = [sys.executable, "-m", "cProfile", "-o"]
        stack._spawn(
            f"{service}-api",
            [
                *prof,
                str(profiles / f"{service}-api.prof"),
                str(Path(__file__).with_name("serve_profiled.py")),
                f"services.{service}.api:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(stack.ports[service]),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "10",
            ],
            {"INTAKE_ELIGIBILITY_URL": stack.url("eligibility")} if service == "intake" else None,
        )
        stack._spawn(
            f"{service}-worker",
            [*prof, str(profiles / f"{service}-worker.prof"), "-m", f"services.{service}.worker"],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=350_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the read models")
    parser.add_argument("--profile", action="store_true", help="every process under cProfile")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    from infra import free_port, throwaway
    from stack import SERVICES, Stack

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
            **{f"{s.upper()}_LOG_LEVEL": "WARNING" for s in SERVICES},
        }
        for service in SERVICES:
            upgrade(service, pg.url)
        if args.profile:
            asyncio.run(statements(pg.url, False))
            pg.stop()
            pg.start()
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        stack = Stack(env, ports={s: free_port() for s in SERVICES}, log_dir=work / "logs")
        spawn_stack(stack, work / "profiles" if args.profile else None)
        procs = dict(stack.procs)
        try:
            asyncio.run(stack.wait_healthy())
            time.sleep(3)  # the workers' consumers join their groups
            token = mint_token("bench-admin", ["admin"], "610626")
            load0 = os.getloadavg()
            cpu0 = {name: tree_cpu(p.pid) for name, p in procs.items()} | {"postgres": tree_cpu(pg_pid)}
            timeline: list[dict[str, Any]] = []
            started = time.perf_counter()
            result = asyncio.run(run_import(stack.url("intake"), token, roll))
            imported = result["report"]["households_imported"]
            reached_s, reached, counts = asyncio.run(read_models(pg.url, imported, args.timeout, timeline))
            total = time.perf_counter() - started
            phases = result["phases"] | {"read_models": reached_s}
            cpu = {name: tree_cpu(p.pid) - cpu0[name] for name, p in procs.items()}
            cpu["postgres"] = tree_cpu(pg_pid) - cpu0["postgres"]
            rss = {name: peak_rss_mb(p.pid) for name, p in procs.items()}
            load1 = os.getloadavg()
        finally:
            stack.stop_all()
        report = result["report"]
        print(
            f"end to end: {total:.1f}s ({', '.join(f'{k} {v:.1f}s' for k, v in phases.items())}); "
            f"{imported} households imported, {report['rows_refused']} rows refused, "
            f"{report['amount_differs']} amounts differ\n"
            f"read models reached (s after the import's answer): "
            + ", ".join(f"{k} {v:.1f}" for k, v in reached.items())
            + "\nCPU s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            + "\npeak RSS MB: "
            + ", ".join(f"{k} {v:.0f}" for k, v in rss.items())
            + f"\nload average before {load0[0]:.1f}, after {load1[0]:.1f}",
            flush=True,
        )
        if args.profile:
            (work / "profiles" / "statements.txt").write_text(asyncio.run(statements(pg.url, True)))
        bare_s, bare_cpu, copied = asyncio.run(bare_copy(pg.url, pg_pid))
        print(
            f"bare: COPY of the same {sum(copied.values()):,} rows {bare_s:.1f}s; CPU PostgreSQL {bare_cpu:.1f}s\n"
            f"  {copied}",
            flush=True,
        )

    ratio = total / bare_s
    consistent = (
        imported == copied["intake.households"]
        and report["rows_refused"] >= bad
        and all(n == imported for k, n in counts.items() if k != "unrelayed outbox rows")
    )
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": [round(load0[0], 1), round(load1[0], 1)],
        "households": args.households,
        "rows": rows,
        "bad_rows": bad,
        "phases_seconds": {k: round(v, 2) for k, v in phases.items()},
        "read_models_reached_seconds": {k: round(v, 2) for k, v in reached.items()},
        "total_seconds": round(total, 2),
        "bare_seconds": round(bare_s, 2),
        "bare_postgres_cpu_seconds": round(bare_cpu, 2),
        "ratio": round(ratio, 2),
        "rows_per_s": round(rows / total),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "peak_rss_mb": {k: round(v) for k, v in rss.items()},
        "read_model_counts": counts,
        "copied": copied,
        "timeline": timeline,
        "report": report,
        "consistent": consistent,
    }
    print(
        f"\nend to end {total:.1f}s vs bare COPY {bare_s:.1f}s: ratio {ratio:.2f}; {rows / total:,.0f} rows/s; "
        f"peak RSS {max(rss.values()):.0f} MB ({max(rss, key=rss.get)}); consistent: {consistent}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
