"""Intake load benchmark: front-desk clients registering a household and applying for 低保, against the real service.

    PYTHONPATH=. .venv/bin/python bench/intake_load.py [--seconds 60] [--clients 50] [--workers 1,2]

One run brings up a throwaway PostgreSQL 15 and Kafka (deploy/local/infra.py), migrates intake into two
databases, and serves, each in turn under uvicorn with the same options and worker count:

* **intake** - `services.intake.api:app`, started by deploy/local/stack.py's `Stack.start_api` (`API_WORKERS`);
* **bare** - `bench/intake_bare.py`: the same database work with no kit, FastAPI + asyncpg, one transaction per
  request (same rows: household, members, audit, idempotency record, outbox; same request models), on its own
  database migrated by intake's migrations: the ceiling of *this work*, so intake / bare is our overhead;
* **empty** - an empty FastAPI app (`ceiling_app` below) answering the same two POSTs with a constant body: the
  framework's own ceiling on this machine (the physical limit).

The same client drives all: `--clients` concurrent keep-alive loops, each POSTing a new household (two members
with valid resident IDs, incomes, property) and then a 低保 application for it, each POST with its own
Idempotency-Key, as a front-desk app does (saturated: as fast as answers come). Paced runs (`--paced-rate`,
default 100 requests/s, intake and bare at the first worker count) offer households on a fixed schedule
(open loop: latency counts from the scheduled time, so a server falling behind shows). For each worker count
in `--workers` (default 1,2) the saturated runs are repeated, to show the scaling to more API processes.

Reported per run: requests/s, latency p50/p99, server and PostgreSQL CPU per request. Checked after each run
against what the client was answered (the run fails otherwise): every answer 201, and exactly the rows that
many households and applications write in each table; then every outbox row is relayed to Kafka (the kit's
`OutboxRelay`, not timed) and none may stay unsent. The client (a minimal keep-alive HTTP/1.1 client on
asyncio streams, see `Connection`) runs on the same cores as the server and PostgreSQL, so it takes a share
of the CPU in every run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "intake_load.json"

# Rows one household registration and one application write, in intake and in the bare endpoint alike.
ROWS_PER_HOUSEHOLD = {"households": 1, "members": 2, "audit_log": 2, "idempotency_keys": 1, "outbox": 1}
ROWS_PER_APPLICATION = {"applications": 1, "audit_log": 1, "idempotency_keys": 1, "outbox": 1}

# --- the physical limit: an empty endpoint served the same way ---------------------------------------------------

ceiling_app = FastAPI()
_CONSTANT = json.dumps({"id": "00000000-0000-0000-0000-000000000000"}).encode()


@ceiling_app.post("/households", status_code=201)
@ceiling_app.post("/applications", status_code=201)
async def _empty(request: Request) -> Response:
    await request.body()  # read the request as a real endpoint must
    return Response(_CONSTANT, status_code=201, media_type="application/json")


# --- the client ------------------------------------------------------------------------------------------------


class People:
    """Valid, unique resident IDs: one birth date per 500 people, odd sequence numbers for men."""

    def __init__(self) -> None:
        self.n = 0

    def next(self, male: bool) -> str:
        from shared.core.identity import check_character

        i, self.n = self.n, self.n + 1
        birth = date(1940, 1, 1) + timedelta(days=i // 500)
        first17 = f"610626{birth:%Y%m%d}{(i % 500) * 2 + (1 if male else 0):03d}"
        return first17 + check_character(first17)


def household(people: People) -> dict[str, Any]:
    return {
        "region_code": "610626101201",
        "hukou_type": "rural",
        "address": "吴起县铁边城镇张湾村",
        "members": [
            {"name": "刘志明", "id_number": people.next(True), "relation": "head", "labour_capacity": "partial"},
            {"name": "高桂芳", "id_number": people.next(False), "relation": "spouse"},
        ],
        "incomes": [
            {"earner": 0, "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000},
            {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300},
        ],
        "properties": [{"kind": "housing", "value_fen": 6_000_000, "description": "自建窑洞一处"}],
    }


class Connection:
    """A minimal HTTP/1.1 keep-alive client connection (one request at a time, as one front-desk client).

    httpx's pool serialises 50 concurrent connections badly enough to become the bottleneck on a small machine
    (about 110 requests/s against an empty endpoint here), which would hide the server; this writes the request
    and reads the Content-Length body directly on asyncio streams."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Bearer {token}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {self.auth}\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Tally:
    """What the client saw: latencies in the measured window, answers by status, and what was created."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=lambda: {"/households": 0, "/applications": 0})

    async def post(self, conn: Connection, path: str, body: dict, since: float | None, measure: bool) -> dict | None:
        started = time.perf_counter() if since is None else since
        try:
            status, raw = await conn.post(path, body)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
            await conn.close()
            conn.writer = None
            return None
        if measure:
            self.latencies.append(time.perf_counter() - started)
        if status != 201:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1
            return None
        self.created[path] += 1
        return json.loads(raw)

    async def visit(self, conn: Connection, people: People, since: float | None, measure: bool) -> None:
        created = await self.post(conn, "/households", household(people), since, measure)
        if created is not None:
            await self.post(
                conn,
                "/applications",
                {"household_id": created["id"], "programme": "dibao", "consent_signed": True},
                None,
                measure,
            )


async def saturated(
    conns: list[Connection], people: People, tally: Tally, seconds: float, warmup: float, window: Callable[[bool], None]
) -> float:
    """Every client sends its next request as soon as the last is answered (closed loop)."""
    measuring = False

    async def loop(conn: Connection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await tally.visit(conn, people, None, measuring)

    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop(c, stop)) for c in conns]
    await asyncio.sleep(warmup)
    measuring, started = True, time.perf_counter()
    window(True)
    await asyncio.sleep(seconds)
    measuring, elapsed = False, time.perf_counter() - started
    window(False)
    stop.set()
    await asyncio.gather(*tasks)
    return elapsed


async def paced(
    conns: list[Connection],
    people: People,
    tally: Tally,
    seconds: float,
    warmup: float,
    window: Callable[[bool], None],
    rate: float,
) -> float:
    """Households arrive on a fixed schedule (rate / 2 a second: each is two requests) whatever the answers
    (open loop); a visit waits for a free connection, and its latency counts from its scheduled time."""
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)

    async def visit(scheduled: float, measure: bool) -> None:
        conn = await free.get()
        try:
            await tally.visit(conn, people, scheduled, measure)
        finally:
            free.put_nowait(conn)

    tasks = []
    t0 = time.perf_counter()
    k, window_open = 0, False
    while (due := t0 + k / (rate / 2)) < t0 + warmup + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if not window_open and due >= t0 + warmup:
            window(True)
            window_open = True
        tasks.append(asyncio.create_task(visit(due, due >= t0 + warmup)))
        k += 1
    await asyncio.gather(*tasks)
    window(False)
    return seconds


@dataclass
class Server:
    name: str
    workers: int
    proc: Any
    stop: Callable[[], None]
    database: str | None  # the database it writes (None: the empty endpoint)


async def run_load(
    server: Server, port: int, token: str, args: argparse.Namespace, people: People, rate: float | None, pg_pid: int
) -> dict[str, Any]:
    from bench.measure import percentile, tree_cpu

    conns = [Connection("127.0.0.1", port, token) for _ in range(args.clients)]
    tally = Tally()
    cpu: dict[str, float] = {}

    def window(opening: bool) -> None:
        now = {"server": tree_cpu(server.proc.pid), "postgres": tree_cpu(pg_pid)}
        for k, v in now.items():
            cpu[k] = v if opening else v - cpu[k]

    try:
        if rate:
            elapsed = await paced(conns, people, tally, args.paced_seconds, args.warmup, window, rate)
        else:
            elapsed = await saturated(conns, people, tally, args.seconds, args.warmup, window)
    finally:
        for c in conns:
            await c.close()
    lat = sorted(tally.latencies)
    n = len(lat)
    return {
        "server": server.name,
        "workers": server.workers,
        "offered_requests_per_s": rate,
        "requests": n,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(n / elapsed, 1),
        "p50_ms": round(percentile(lat, 0.50) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "max_ms": round((lat[-1] if lat else float("nan")) * 1000, 1),
        "server_cpu_ms_per_request": round(cpu["server"] / n * 1000, 2) if n else None,
        "postgres_cpu_ms_per_request": round(cpu["postgres"] / n * 1000, 2) if n else None,
        "errors": tally.errors,
        "created": tally.created,
    }


async def rows_and_relay(url: str, bootstrap: str) -> tuple[dict[str, int], float]:
    """Row counts of the tables intake writes, after relaying every outbox row to Kafka with the kit's relay."""
    from sqlalchemy import text

    from services.intake.models import platform
    from shared.db import create_engine
    from shared.kafka import make_producer
    from shared.outbox import OutboxRelay

    engine = create_engine(url, pool_size=1)
    producer = make_producer(bootstrap, "bench-intake-relay")
    await producer.start()
    started = time.perf_counter()
    try:
        relay = OutboxRelay(engine, platform, producer, service="intake")
        while await relay.relay_once():
            pass
        relay_s = time.perf_counter() - started
        async with engine.connect() as conn:
            tables = {*ROWS_PER_HOUSEHOLD, *ROWS_PER_APPLICATION}
            counts = {t: (await conn.execute(text(f"SELECT count(*) FROM intake.{t}"))).scalar_one() for t in tables}
            counts["unsent"] = (
                await conn.execute(text("SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL"))
            ).scalar_one()
    finally:
        await producer.stop()
        await engine.dispose()
    return counts, relay_s


def expected_rows(households: int, applications: int) -> dict[str, int]:
    rows = {t: n * households for t, n in ROWS_PER_HOUSEHOLD.items()}
    for t, n in ROWS_PER_APPLICATION.items():
        rows[t] = rows.get(t, 0) + n * applications
    return rows | {"unsent": 0}


async def settled(pid: int, timeout: float = 60) -> None:
    """Wait until the server's processes are idle: with several uvicorn workers the first answers /healthz
    while the others may still be importing the app, which must not fall into the measured window."""
    from bench.measure import tree_cpu

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        await asyncio.sleep(0.5)
        if tree_cpu(pid) - before < 0.05:
            return


def serve(stack: Any, name: str, app: str, port: int, workers: int, app_dir: Path) -> Any:
    """uvicorn with the options deploy/local/stack.py uses, plus the worker count."""
    return stack._spawn(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--app-dir",
            str(app_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "10",
            "--workers",
            str(workers),
        ],
    )


async def wait_healthy(base: str, proc: Any, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                r = await client.get("/healthz")
                if r.status_code in (200, 404):  # the empty app has no /healthz: any answer means up
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} not up after {timeout}s")
            await asyncio.sleep(0.2)


def start_server(
    kind: str, workers: int, port: int, env: dict[str, str], log_dir: Path, urls: dict[str, str]
) -> Server:
    from stack import Stack

    if kind == "intake":  # exactly as deployed: Stack.start_api with API_WORKERS
        stack = Stack({**env, "API_WORKERS": str(workers)}, ports={"intake": port}, log_dir=log_dir)
        stack.start_api("intake")
        return Server(kind, workers, stack.procs["intake-api"], lambda: stack.stop("intake-api"), urls["intake"])
    stack = Stack({**env, "BARE_DATABASE_URL": urls["bare"]}, ports={}, log_dir=log_dir)
    app = "intake_bare:app" if kind == "bare" else "intake_load:ceiling_app"
    proc = serve(stack, f"bench-{kind}", app, port, workers, REPO / "bench")
    return Server(kind, workers, proc, lambda: stack.stop(f"bench-{kind}"), urls["bare"] if kind == "bare" else None)


def print_table(runs: list[dict[str, Any]]) -> None:
    print(f"\n{'run':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU ms/req':>18} {'pg CPU ms/req':>14}")
    for r in runs:
        print(
            f"{r['name']:<22} {r['requests_per_s']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} "
            f"{r['server_cpu_ms_per_request']!s:>18} {r['postgres_cpu_ms_per_request']!s:>14}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured duration of each saturated run")
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of load before measuring (every uvicorn worker up, caches warm)",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent keep-alive client connections")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="uvicorn worker counts to run the saturated runs at (API_WORKERS), e.g. 1 or 1,2",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=100.0,
        help="offered requests/s of the paced runs (intake and bare); 0 skips them",
    )
    parser.add_argument("--paced-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.paced_seconds = args.paced_seconds or args.seconds
    worker_counts = [int(w) for w in args.workers.split(",")]

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    sys.path.insert(0, str(REPO))
    import asyncpg
    from infra import ensure_topics, free_port, throwaway

    from shared.auth import mint_token
    from shared.migrations import upgrade

    log_dir = REPO / ".local" / "bench-logs"
    people = People()
    runs: list[dict[str, Any]] = []
    checks: list[tuple[str, bool, str]] = []
    with throwaway("bench-intake-") as (pg, kafka):
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])
        bare_url = pg.url.rsplit("/", 1)[0] + "/intake_bare"

        async def create_bare_database() -> None:
            conn = await asyncpg.connect(pg.url.replace("postgresql+asyncpg://", "postgresql://", 1))
            await conn.execute("CREATE DATABASE intake_bare")
            await conn.close()

        asyncio.run(create_bare_database())
        upgrade("intake", pg.url)
        upgrade("intake", bare_url)
        asyncio.run(ensure_topics(kafka.bootstrap))
        env = {
            "DATABASE_URL": pg.url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "ENVIRONMENT": "test",
            "INTAKE_LOG_LEVEL": "WARNING",
            "INTAKE_EVIDENCE_DIR": str(log_dir / "evidence"),
        }
        urls = {"intake": pg.url, "bare": bare_url}
        token = mint_token("bench-clerk", ["clerk"], "610626101")
        created: dict[str, dict[str, int]] = {url: {"/households": 0, "/applications": 0} for url in urls.values()}
        plan: list[tuple[str, int, float | None]] = []
        for i, w in enumerate(worker_counts):
            plan += [("intake", w, None)] + ([("intake", w, args.paced_rate)] if i == 0 and args.paced_rate else [])
            plan += [("bare", w, None)] + ([("bare", w, args.paced_rate)] if i == 0 and args.paced_rate else [])
            plan += [("empty", w, None)]
        for kind, workers, rate in plan:
            name = f"{kind} x{workers}" + (f" paced {rate:.0f}/s" if rate else "")
            port = free_port()
            server = start_server(kind, workers, port, env, log_dir, urls)
            try:
                asyncio.run(wait_healthy(f"http://127.0.0.1:{port}", server.proc))
                asyncio.run(settled(server.proc.pid))
                what = f"paced at {rate:.0f} requests/s" if rate else f"{args.clients} clients"
                print(f"{name}: {what} for {args.paced_seconds if rate else args.seconds:.0f}s ...", flush=True)
                result = asyncio.run(run_load(server, port, token, args, people, rate, pg_pid))
            finally:
                server.stop()
            result["name"] = name
            runs.append(result)
            print(f"  {result}", flush=True)
            checks.append((f"{name}: every answer 201", not result["errors"], str(result["errors"] or "none")))
            if server.database is not None:
                for path, n in result["created"].items():
                    created[server.database][path] += n
                counts, relay_s = asyncio.run(rows_and_relay(server.database, kafka.bootstrap))
                want = expected_rows(created[server.database]["/households"], created[server.database]["/applications"])
                checks.append(
                    (
                        f"{name}: rows written == answers given, nothing unsent (relayed in {relay_s:.1f}s)",
                        counts == want,
                        "" if counts == want else f"{counts} != expected {want}",
                    )
                )

    by_name = {r["name"]: r for r in runs}
    w0 = worker_counts[0]
    ratios: dict[str, float] = {
        f"intake / empty endpoint, x{w0} (the physical limit)": by_name[f"intake x{w0}"]["requests_per_s"]
        / by_name[f"empty x{w0}"]["requests_per_s"],
        f"intake / bare same-work endpoint, x{w0} (our overhead)": by_name[f"intake x{w0}"]["requests_per_s"]
        / by_name[f"bare x{w0}"]["requests_per_s"],
    }
    for w in worker_counts[1:]:
        for kind in ("intake", "bare", "empty"):
            ratios[f"{kind} x{w} / {kind} x{w0} (scaling)"] = (
                by_name[f"{kind} x{w}"]["requests_per_s"] / by_name[f"{kind} x{w0}"]["requests_per_s"]
            )
    print_table(runs)
    print()
    for label, value in ratios.items():
        print(f"{label}: {value:.3f}")
    if args.paced_rate:
        for kind in ("intake", "bare"):
            print(
                f"{kind} p99 at a paced {args.paced_rate:.0f} requests/s: "
                f"{by_name[f'{kind} x{w0} paced {args.paced_rate:.0f}/s']['p99_ms']} ms"
            )
    print("\nchecks:")
    for check, ok, detail in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {check}" + (f" ({detail})" if detail else ""))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "clients": args.clients,
        "seconds": args.seconds,
        "paced_rate": args.paced_rate,
        "runs": runs,
        "ratios": ratios,
        "checks": [{"check": c, "ok": ok, "detail": d} for c, ok, d in checks],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
