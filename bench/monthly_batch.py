"""Monthly batch benchmark: the payments service against PostgreSQL doing the same work in bare SQL.

    PYTHONPATH=. .venv/bin/python bench/monthly_batch.py [--beneficiaries 1000000]

One run starts a throwaway PostgreSQL 15 + single-node Kafka (deploy/local/infra.py), migrates payments with
Alembic, and seeds a roll of N beneficiaries in 吴起县 (610626: nine townships × 20 villages), each owed from three
months before the benchmark's month, with a sealed payee each (AES-GCM, as intake's payee events bring them), and
the three earlier months paid (an exported batch per month, its lines returned paid) — except for 10 % of them, who
are owed 1–3 of those months (a late approval, a failed line): the month's batch pays them as arrears. Then:

* **service** — payments' real API (uvicorn) and worker (`python -m services.payments.worker`) as processes:
  `POST /batches` → the worker's build job (`INSERT … SELECT` in committed chunks) until `GET /batches/{id}` says
  built; approve (another officer) and export; `GET /batches/{id}/bank-file` streamed to nowhere (every payee opened
  and written as CSV); `GET /batches/{id}/roster?township=` for one township (.xlsx).
* **ceiling** — the same work in bare SQL on the same database, run before the service (so on exactly the data its
  batch sees): one `INSERT … SELECT` computing the same balances (owed months − lines holding money, same UUIDv5)
  into a copy of `payment_lines` with the same indexes and its foreign key to the batches (and, for reference,
  without that key), `COPY
  (SELECT … the file's columns …) TO STDOUT` (sealed payees, not opened: no SQL can), and the same `COPY` for the
  township.
* **fair ceiling** for the files — the least work the service cannot avoid, with no service code: the bare `COPY …
  TO` of the lines plus, for the bank file, opening every sealed payee (AES-GCM via `shared.sealing`, JSON) and
  writing the CSV rows (`csv` module); for the roster, opening the township's payees and writing the same cells with
  xlsxwriter in constant-memory mode to a temporary file. A bare `COPY` cannot open a payee nor write .xlsx, so the
  service against it measures the work, not the service.

Printed: seconds of each, the ratios service / ceiling and service / fair ceiling, and the peak RSS (VmHWM) of the
API and worker processes.
The run fails (exit 1) unless the batch has N + the arrears' lines with the balances' total (counted by an
independent query), the bank file as many data rows and the roster the township's rows.
Results: bench/results/monthly_batch.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text

from bench.measure import infra_module
from services.payments.batches.repository import PAYMENT_NS
from shared.auth import mint_token
from shared.core.period import Period
from shared.db import create_engine
from shared.settings import DEV_JWT_SECRET
from tests.payments_kit import seed_roll

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "monthly_batch.json"
COUNTY = "610626"
TOWNSHIPS = tuple(f"{COUNTY}{t}" for t in ("001", "101", "102", "103", "104", "105", "106", "107", "108"))
VILLAGE = f"{TOWNSHIPS[1]}007"  # one of each township's 20 (tests/payments_kit.seed_roll)
PERIOD = Period(2026, 9)


def _headers(sub: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(sub, ["finance"], COUNTY, DEV_JWT_SECRET)}


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


HISTORY = 3  # months before PERIOD everyone is owed
# The months paid before PERIOD: all three, except for one household in ten (by its id's hash), who is owed the last
# 1–3 of them (a late approval, a failed line).
_HISTORY = """
INSERT INTO payments.payment_lines (payment_id, batch_id, kind, case_id, beneficiary_id, household_id, member_id,
                                    programme, region_code, period, amount_fen, persons, payee_id, status)
SELECT gen_random_uuid(), h.batch_id, 'regular', b.case_id, b.id, b.household_id, CAST(:nil AS uuid), b.programme,
       b.region_code, h.period, b.monthly_amount_fen, b.persons, cp.payee_id, 'paid'
FROM payments.beneficiaries b
JOIN payments.current_payees cp ON cp.household_id = b.household_id
CROSS JOIN (SELECT id AS batch_id, period FROM payments.batches WHERE created_by = 'bench-history') h
WHERE NOT (abs(hashtext(b.household_id::text)) % 10 = 0
           AND h.period >= CAST(:period AS date) - make_interval(months => 1 + abs(hashtext(b.id::text)) % 3))
"""


async def seed(url: str, n: int) -> None:
    from services.payments.config import Settings

    engine = create_engine(url, 2)
    keyring = Settings().keyring()
    per = n // len(TOWNSHIPS)
    for i, township in enumerate(TOWNSHIPS):
        count = per if i < len(TOWNSHIPS) - 1 else n - per * (len(TOWNSHIPS) - 1)
        await seed_roll(engine, township, count, PERIOD.plus(-HISTORY), payees=True, keyring=keyring)
    async with engine.begin() as conn:
        for k in range(1, HISTORY + 1):
            await conn.execute(
                text(
                    "INSERT INTO payments.batches (id, kind, region_code, period, status, created_by, created_at, "
                    "progress_done) VALUES (gen_random_uuid(), 'regular', :county, :p, 'reconciled', "
                    "'bench-history', now(), 0)"
                ),
                {"county": COUNTY, "p": PERIOD.plus(-k).first_day},
            )
        await conn.execute(text(_HISTORY), {"nil": "00000000-0000-0000-0000-000000000000", "period": PERIOD.first_day})
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def service_run(base: str, township: str, timeout: float) -> dict:
    figures: dict = {}
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        t0 = time.perf_counter()
        r = await http.post(
            "/batches", json={"region_code": COUNTY, "period": str(PERIOD)}, headers=_headers("finance-a")
        )
        assert r.status_code == 202, r.text
        bid = figures["batch_id"] = r.json()["id"]
        b = await _built(http, bid, t0, timeout)
        figures["create_s"] = time.perf_counter() - t0
        figures["lines"], figures["total_fen"] = b["line_count"], b["total_fen"]
        assert (await http.post(f"/batches/{bid}/approve", headers=_headers("finance-b"))).status_code == 200
        assert (await http.post(f"/batches/{bid}/export", headers=_headers("finance-a"))).status_code == 200
        t0 = time.perf_counter()
        size = rows = 0
        async with http.stream("GET", f"/batches/{bid}/bank-file", headers=_headers("finance-a")) as resp:
            assert resp.status_code == 200
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                rows += chunk.count(b"\n")
        figures["bank_file_s"], figures["bank_file_bytes"], figures["bank_file_rows"] = (
            time.perf_counter() - t0,
            size,
            rows - 2,  # the header and the control record
        )
        t0 = time.perf_counter()
        r = await http.get(f"/batches/{bid}/roster", params={"township": township}, headers=_headers("finance-a"))
        assert r.status_code == 200 and r.content[:2] == b"PK"
        figures["roster_s"], figures["roster_bytes"] = time.perf_counter() - t0, len(r.content)
        # One village's batch of the next month, the county's whole roll beside it: its cost is the village's.
        t0 = time.perf_counter()
        r = await http.post(
            "/batches", json={"region_code": VILLAGE, "period": str(PERIOD.next())}, headers=_headers("finance-a")
        )
        assert r.status_code == 202, r.text
        figures["village_batch_id"] = r.json()["id"]
        b = await _built(http, figures["village_batch_id"], t0, timeout)
        figures["village_s"], figures["village_lines"] = time.perf_counter() - t0, b["line_count"]
    return figures


async def _built(http: httpx.AsyncClient, batch_id: str, started: float, timeout: float) -> dict:
    while True:
        b = (await http.get(f"/batches/{batch_id}", headers=_headers("finance-a"))).json()
        if b["status"] == "built":
            return b
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"batch not built after {timeout}s: {b['progress']}")
        await asyncio.sleep(0.1)


# The same balances, by hand: every owed month up to PERIOD less the lines holding money for it, one statement.
_BARE_INSERT = """
INSERT INTO payments.bench_lines (payment_id, batch_id, kind, case_id, beneficiary_id, household_id, member_id,
                                  programme, region_code, period, amount_fen, persons, payee_id, status)
SELECT uuid_generate_v5(CAST(:ns AS uuid), o.household_id::text || '/' || o.programme || '/' || o.member_id::text
                        || '/' || to_char(o.period, 'YYYY-MM') || '/regular/' || :batch_s),
       CAST(:batch_s AS uuid), CASE WHEN o.period = :period THEN 'regular' ELSE 'arrears' END, o.case_id, b.id,
       o.household_id, o.member_id, o.programme, o.region_code, o.period, o.amount_fen - coalesce(s.fen, 0),
       o.persons, cp.payee_id, 'pending'
FROM (SELECT o.*, CAST(m AS date) AS period FROM payments.owed o
      CROSS JOIN LATERAL generate_series(CAST(o.from_month AS timestamp),
                                         CAST(least(coalesce(o.to_month, :period), :period) AS timestamp),
                                         interval '1 month') m
      WHERE o.superseded_by IS NULL AND o.region_code LIKE :prefix) o
LEFT JOIN (SELECT household_id, programme, member_id, period, sum(amount_fen) AS fen FROM payments.payment_lines
           WHERE status IN ('pending', 'paid') AND kind <> 'one_off' AND batch_id <> CAST(:service_batch AS uuid)
                 {households}
           GROUP BY household_id, programme, member_id, period) s
       ON s.household_id = o.household_id AND s.programme = o.programme AND s.member_id = o.member_id
      AND s.period = o.period
LEFT JOIN payments.beneficiaries b ON b.case_id = o.case_id
LEFT JOIN payments.current_payees cp ON cp.household_id = o.household_id
WHERE o.amount_fen > coalesce(s.fen, 0)
"""
# asyncpg wraps it: COPY (…) TO STDOUT WITH (FORMAT csv)
_BARE_COPY = """
SELECT l.payment_id, p.sealed, l.amount_fen, l.period, l.programme FROM payments.bench_lines l
JOIN payments.payees p ON p.id = l.payee_id {where} ORDER BY l.id
"""


# The fair ceilings read the lines as the service must: with the payee sealed (text COPY: no tabs in these values).
_FAIR_COPY = """
SELECT l.payment_id, l.amount_fen, to_char(l.period, 'YYYY-MM'), l.programme, l.household_id, l.region_code,
       l.persons, p.key_id, p.sealed, (extract(epoch FROM p.changed_at) * 1000000)::bigint
FROM payments.bench_lines l JOIN payments.payees p ON p.id = l.payee_id {where} ORDER BY l.id
"""


class _Rows:
    """COPY output split into rows (tab-separated fields) as it arrives."""

    def __init__(self, on_row) -> None:
        self.rest, self.on_row, self.count = b"", on_row, 0

    async def __call__(self, chunk: bytes) -> None:
        *lines, self.rest = (self.rest + chunk).split(b"\n")
        for line in lines:
            self.on_row(line.decode().split("\t"))
        self.count += len(lines)


_VILLAGE_CEILING_BATCH = "00000000-0000-0000-0000-00000000be9d"


async def village_ceiling_run(url: str, village_batch: str) -> dict:
    """The village's balances by hand, into the same copy of the lines: its households' owed months and lines only."""
    figures: dict = {}
    engine = create_engine(url, 2)
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                _BARE_INSERT.format(
                    households="AND household_id IN (SELECT household_id FROM payments.owed WHERE region_code "
                    "LIKE :prefix)"
                )
            ),
            {
                "ns": str(PAYMENT_NS),
                "period": PERIOD.next().first_day,
                "batch_s": _VILLAGE_CEILING_BATCH,
                "service_batch": village_batch,
                "prefix": VILLAGE + "%",
            },
        )
    figures["village_s"], figures["village_lines"] = time.perf_counter() - t0, result.rowcount
    await engine.dispose()
    return figures


async def fair_ceiling_run(url: str, township: str) -> dict:
    """Bare COPY + opening the sealed payees + writing the same CSV rows / the same .xlsx cells; no service code."""
    import csv
    import io
    import tempfile

    import orjson
    import xlsxwriter

    from services.payments.config import Settings
    from shared.sealing import payee_binding

    keyring = Settings().keyring()  # the keys only, as the service holds them
    figures: dict = {}
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")

        def bank_row(f: list[str]) -> None:
            payee = orjson.loads(keyring.open(f[7], f[8], payee_binding(f[4], int(f[9]))))
            fen = int(f[1])
            writer.writerow(
                (
                    f[0],
                    payee["account_holder"],
                    payee["bank_name"],
                    payee["account_number"],
                    f"{fen // 100}.{fen % 100:02d}",
                    f[2],
                    f[3],
                    f"{f[2]} 最低生活保障金",
                )
            )
            if buffer.tell() > 1 << 20:
                buffer.seek(0)
                buffer.truncate()

        t0 = time.perf_counter()
        rows = _Rows(bank_row)
        await conn.copy_from_query(_FAIR_COPY.format(where=""), output=rows, format="text")
        figures["bank_file_s"], figures["bank_file_rows"] = time.perf_counter() - t0, rows.count

        with tempfile.TemporaryFile() as out:
            t0 = time.perf_counter()
            book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
            sheet = book.add_worksheet("花名册")
            money = book.add_format({"num_format": "0.00"})
            at = [3]

            def roster_row(f: list[str]) -> None:
                payee = orjson.loads(keyring.open(f[7], f[8], payee_binding(f[4], int(f[9]))))
                r = at[0]
                sheet.write_number(r, 0, r - 2)
                sheet.write_string(r, 1, f[5])
                sheet.write_string(r, 2, payee["account_holder"])
                sheet.write_string(r, 3, payee["bank_name"])
                sheet.write_string(r, 4, "*" * (len(payee["account_number"]) - 4) + payee["account_number"][-4:])
                sheet.write_number(r, 5, int(f[6]))
                sheet.write_string(r, 6, "最低生活保障金")
                sheet.write_string(r, 7, f[2])
                sheet.write_number(r, 8, int(f[1]) / 100, money)
                at[0] = r + 1

            await conn.copy_from_query(
                _FAIR_COPY.format(where=f"WHERE l.region_code LIKE '{township}%'"),
                output=_Rows(roster_row),
                format="text",
            )
            book.close()
            figures["roster_s"] = time.perf_counter() - t0
    finally:
        await conn.close()
    return figures


async def ceiling_run(url: str, township: str) -> dict:
    figures: dict = {}
    engine = create_engine(url, 2)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS payments.bench_lines"))
        await conn.execute(
            text(
                "CREATE TABLE payments.bench_lines (LIKE payments.payment_lines INCLUDING DEFAULTS "
                "INCLUDING IDENTITY INCLUDING INDEXES)"
            )
        )
    params = {
        "ns": str(PAYMENT_NS),
        "period": PERIOD.first_day,
        "batch_s": "00000000-0000-0000-0000-00000000be9c",
        "service_batch": str(uuid.UUID(int=0)),  # run before the service's batch: no line of its to leave out
        "prefix": COUNTY + "%",
    }
    # Without the lines' foreign key to their batch first (the ceiling as first measured), then with it, as
    # payment_lines has it: the service checks it for every line it inserts. The second run finds the data warm.
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(_BARE_INSERT.format(households="")), params)
    figures["create_no_fk_s"] = time.perf_counter() - t0
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE payments.bench_lines"))
        await conn.execute(
            text(
                "INSERT INTO payments.batches (id, kind, region_code, period, status, created_by, created_at, "
                "progress_done) SELECT CAST(b AS uuid), 'supplement', :county, :p, 'cancelled', 'bench-ceiling', "
                "now(), 0 FROM unnest(CAST(:ids AS text[])) b"
            ),
            {"county": COUNTY, "p": PERIOD.first_day, "ids": [params["batch_s"], _VILLAGE_CEILING_BATCH]},
        )
        await conn.execute(
            text("ALTER TABLE payments.bench_lines ADD FOREIGN KEY (batch_id) REFERENCES payments.batches (id)")
        )
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        result = await conn.execute(text(_BARE_INSERT.format(households="")), params)
    figures["create_s"], figures["lines"] = time.perf_counter() - t0, result.rowcount
    await engine.dispose()

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    sink = open(os.devnull, "wb")  # noqa: SIM115, ASYNC230 (/dev/null never blocks)
    try:
        t0 = time.perf_counter()
        await conn.copy_from_query(_BARE_COPY.format(where=""), output=sink, format="csv")
        figures["bank_file_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        township_query = _BARE_COPY.format(where=f"WHERE l.region_code LIKE '{township}%'")
        await conn.copy_from_query(township_query, output=sink, format="csv")
        figures["roster_s"] = time.perf_counter() - t0
    finally:
        sink.close()
        await conn.close()
    return figures


def drive(args: argparse.Namespace) -> int:
    infra = infra_module()
    township = TOWNSHIPS[1]
    with infra.throwaway("bench-payments-") as (pg, kafka):
        from shared.migrations import upgrade

        upgrade("payments", pg.url)
        asyncio.run(infra.ensure_topics(kafka.bootstrap))
        print(f"seeding {args.beneficiaries:,} beneficiaries with sealed payees ...", flush=True)
        t0 = time.perf_counter()
        asyncio.run(seed(pg.url, args.beneficiaries))
        print(f"  seeded in {time.perf_counter() - t0:.1f}s", flush=True)

        # The ceiling first, on exactly the data the service's batch then sees (run after it, it also had to
        # scan past the service's own lines); its copy of the lines vacuumed before the service starts, so no
        # autovacuum of it runs beside the service.
        print("ceiling: bare INSERT … SELECT and COPY … TO ...", flush=True)
        ceiling = asyncio.run(ceiling_run(pg.url, township))
        asyncio.run(_vacuum(pg.url, "payments.bench_lines"))

        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "ENVIRONMENT": "test",
            "PYTHONPATH": str(REPO),
            "LOG_LEVEL": "WARNING",
            "PAYMENTS_LOG_LEVEL": "WARNING",
            "PAYMENTS_BATCH_CHUNK_SIZE": str(args.chunk),
        }
        port = infra.free_port()
        log = open(Path(pg.root).parent / "payments.log", "ab")  # noqa: SIM115
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "services.payments.api:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "services.payments.worker"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            print("service: batch, bank file, roster ...", flush=True)
            service = asyncio.run(service_run(base, township, args.timeout))
            service["api_peak_rss_mb"], service["worker_peak_rss_mb"] = peak_rss_mb(api.pid), peak_rss_mb(worker.pid)
        finally:
            for proc in (api, worker):
                proc.terminate()
                proc.wait(20)
            log.close()
        print("fair ceiling: bare COPY + opening payees + the same CSV / xlsx writing ...", flush=True)
        fair = asyncio.run(fair_ceiling_run(pg.url, township))
        ceiling |= asyncio.run(village_ceiling_run(pg.url, service["village_batch_id"]))
        expected, expected_lines = asyncio.run(_balances(pg.url))
        expected_village = asyncio.run(_beneficiaries(pg.url, VILLAGE))

    township_rows = args.beneficiaries // len(TOWNSHIPS)
    print(f"\n{args.beneficiaries:,} beneficiaries, chunk {args.chunk:,}, {os.cpu_count()} cores")
    print(f"{'step':<28}{'service s':>12}{'ceiling s':>12}{'ratio':>9}{'fair ceil s':>13}{'fair ratio':>12}")
    ratios, fair_ratios = {}, {}
    for step, name in (
        ("create_s", "batch creation"),
        ("bank_file_s", "bank file (all lines)"),
        ("roster_s", f"roster ({township})"),
        ("village_s", f"village batch ({VILLAGE})"),
    ):
        ratios[step] = service[step] / ceiling[step]
        line = f"{name:<28}{service[step]:>12.2f}{ceiling[step]:>12.2f}{ratios[step]:>8.1f}x"
        if step in fair:  # batch creation is already bare SQL against bare SQL
            fair_ratios[step] = service[step] / fair[step]
            line += f"{fair[step]:>13.2f}{fair_ratios[step]:>11.1f}x"
        print(line)
    no_fk = ceiling["create_no_fk_s"]
    print(
        f"batch creation's ceiling with the lines' foreign key {ceiling['create_s']:.2f} s, without it {no_fk:.2f} s "
        f"(ratio {service['create_s'] / no_fk:.1f}x)"
    )
    print(f"peak RSS: API {service['api_peak_rss_mb']:.0f} MB, worker {service['worker_peak_rss_mb']:.0f} MB")
    arrears = expected_lines - args.beneficiaries
    print(f"lines: {args.beneficiaries:,} of the month + {arrears:,} arrears (months owed from before)")
    checks = [
        (f"batch lines == {expected_lines}", service["lines"] == expected_lines, service["lines"]),
        ("batch total == balances' total", service["total_fen"] == expected, service["total_fen"]),
        (f"arrears lines ≈ 10 % × 1–3 months ({arrears})", 0.1 <= arrears / args.beneficiaries <= 0.3, arrears),
        (f"bank file rows == {expected_lines}", service["bank_file_rows"] == expected_lines, service["bank_file_rows"]),
        (f"ceiling lines == {expected_lines}", ceiling["lines"] == expected_lines, ceiling["lines"]),
        (
            f"fair ceiling bank rows == {expected_lines}",
            fair["bank_file_rows"] == expected_lines,
            fair["bank_file_rows"],
        ),
        (
            "village batch lines == its beneficiaries",
            service["village_lines"] == ceiling["village_lines"] == expected_village,
            f"{service['village_lines']} / {ceiling['village_lines']} / {expected_village}",
        ),
        ("peak RSS < 300 MB", max(service["api_peak_rss_mb"], service["worker_peak_rss_mb"]) < 300, "see above"),
    ]
    print("checks:")
    for name, ok, actual in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {name} (got {actual})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "beneficiaries": args.beneficiaries,
                "chunk": args.chunk,
                "service": service,
                "ceiling": ceiling,
                "ratios": ratios,
                "fair_ceiling": fair,
                "fair_ratios": fair_ratios,
                "township_rows_about": township_rows,
                "checks": [{"check": c, "ok": ok, "actual": a} for c, ok, a in checks],
            },
            indent=2,
            default=str,
        )
    )
    return 0 if all(ok for _, ok, _ in checks) else 1


async def _vacuum(url: str, table: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()


async def _beneficiaries(url: str, region: str) -> int:
    engine = create_engine(url, 1)
    async with engine.connect() as conn:
        n = await conn.scalar(
            text("SELECT count(*) FROM payments.beneficiaries WHERE region_code LIKE :p"), {"p": region + "%"}
        )
    await engine.dispose()
    return int(n)


async def _balances(url: str) -> tuple[int, int]:
    """(total fen, lines) the month's batch must pay, counted another way: every household's owed fen for the months
    up to PERIOD less what the history paid, and the months with something left."""
    engine = create_engine(url, 1)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT sum(b.monthly_amount_fen * (:months + 1)) - (SELECT sum(amount_fen) FROM "
                    "payments.payment_lines l JOIN payments.batches bt ON bt.id = l.batch_id "
                    "WHERE bt.created_by = 'bench-history'), "
                    "count(*) * (:months + 1) - (SELECT count(*) FROM payments.payment_lines l "
                    "JOIN payments.batches bt ON bt.id = l.batch_id WHERE bt.created_by = 'bench-history') "
                    "FROM payments.beneficiaries b"
                ),
                {"months": HISTORY},
            )
        ).one()
    await engine.dispose()
    return int(row[0]), int(row[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beneficiaries", type=int, default=1_000_000)
    p.add_argument("--chunk", type=int, default=50_000, help="PAYMENTS_BATCH_CHUNK_SIZE for the worker")
    p.add_argument("--timeout", type=float, default=1800.0)
    return drive(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
