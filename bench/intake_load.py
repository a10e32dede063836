"""Intake load benchmark: front-desk clients registering a household and applying for 低保, against the real service.

    PYTHONPATH=. .venv/bin/python bench/intake_load.py [--seconds 60] [--clients 50] [--workers 1]

One run brings up a throwaway PostgreSQL 15 and Kafka (deploy/local/infra.py), migrates intake, and serves

* **intake** - `services.intake.api:app` under uvicorn, as deploy/local/stack.py serves it;
* **ceiling** - an empty FastAPI app (`ceiling_app` below) under uvicorn with the same options and worker count,
  answering the same two POSTs with a constant body: the framework's own ceiling on this machine.

The same client drives both: `--clients` concurrent loops, each POSTing a new household (two members with valid
resident IDs, incomes, property) and then a 低保 application for it, each POST with its own Idempotency-Key, as a
front-desk app does. Reported: requests/s and latency p50/p99 per run, and intake/ceiling throughput ratio.
The client (a minimal keep-alive HTTP/1.1 client on asyncio streams, see `Connection`) runs on the same cores as
the server and PostgreSQL, so it takes a share of the CPU in both runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "intake_load.json"

# --- the ceiling: an empty endpoint served the same way --------------------------------------------------------

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
        from shared.identity import check_character

        i, self.n = self.n, self.n + 1
        birth = date(1940, 1, 1) + timedelta(days=i // 500)
        first17 = f"610626{birth:%Y%m%d}{(i % 500) * 2 + (1 if male else 0):03d}"
        return first17 + check_character(first17)


def household(people: People) -> dict[str, Any]:
    return {
        "region_code": "610626101201", "hukou_type": "rural", "address": "吴起县铁边城镇张湾村",
        "members": [
            {"name": "刘志明", "id_number": people.next(True), "relation": "head", "labour_capacity": "partial"},
            {"name": "高桂芳", "id_number": people.next(False), "relation": "spouse"},
        ],
        "incomes": [{"earner": 0, "kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000},
                    {"kind": "transfer", "subkind": "basic_pension", "monthly_amount_fen": 16_300}],
        "properties": [{"kind": "housing", "value_fen": 6_000_000, "description": "自建窑洞一处"}],
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {self.auth}\r\n"
                f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n")
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


async def drive(host: str, port: int, token: str, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    people = People()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    households = 0
    measuring = False

    async def post(conn: Connection, path: str, body: dict) -> dict | None:
        started = time.perf_counter()
        try:
            status, raw = await conn.post(path, body)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            await conn.close()
            conn.writer = None
            return None
        if measuring:
            latencies.append(time.perf_counter() - started)
        if status != 201:
            errors[str(status)] = errors.get(str(status), 0) + 1
            return None
        return json.loads(raw)

    async def loop(stop: asyncio.Event) -> None:
        nonlocal households
        conn = Connection(host, port, token)
        try:
            while not stop.is_set():
                created = await post(conn, "/households", household(people))
                if created is None:
                    continue
                await post(conn, "/applications",
                           {"household_id": created["id"], "programme": "dibao", "consent_signed": True})
                if measuring:
                    households += 1
        finally:
            await conn.close()

    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop(stop)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    measuring, started = True, time.perf_counter()
    await asyncio.sleep(seconds)
    measuring, elapsed = False, time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    return {
        "requests": len(latencies), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "households_per_s": round(households / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
        "errors": errors,
    }


async def wait_healthy(base: str, proc: Any, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                r = await client.get("/healthz")
                if r.status_code in (200, 404):  # the ceiling app has no /healthz: any answer means up
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} not up after {timeout}s")
            await asyncio.sleep(0.2)


def serve(stack: Any, name: str, app: str, port: int, workers: int, app_dir: Path) -> Any:
    """uvicorn with the options deploy/local/stack.py uses, plus the worker count."""
    return stack._spawn(name, [
        sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--timeout-graceful-shutdown", "10", "--workers", str(workers),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured duration per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (both runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "deploy" / "local"))
    sys.path.insert(0, str(REPO))
    from infra import free_port, throwaway
    from stack import Stack

    from shared.auth import mint_token
    from shared.migrations import upgrade

    log_dir = REPO / ".local" / "bench-logs"
    runs: dict[str, dict[str, Any]] = {}
    with throwaway("bench-intake-") as (pg, kafka):
        env = {"DATABASE_URL": pg.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "ENVIRONMENT": "test",
               "INTAKE_LOG_LEVEL": "WARNING", "INTAKE_EVIDENCE_DIR": str(log_dir / "evidence")}
        upgrade("intake", pg.url)
        stack = Stack(env, ports={}, log_dir=log_dir)
        token = mint_token("bench-clerk", ["clerk"], "610626101")
        for name, app, app_dir in (("intake", "services.intake.api:app", REPO),
                                   ("ceiling", "intake_load:ceiling_app", REPO / "bench")):
            port = free_port()
            proc = serve(stack, f"bench-{name}", app, port, args.workers, app_dir)
            try:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(wait_healthy(base, proc))
                print(f"{name}: {args.clients} clients for {args.seconds:.0f}s ...", flush=True)
                runs[name] = asyncio.run(drive("127.0.0.1", port, token, args.clients, args.seconds, args.warmup))
            finally:
                stack.stop(f"bench-{name}")
            print(f"  {runs[name]}", flush=True)

    ratio = runs["intake"]["requests_per_s"] / runs["ceiling"]["requests_per_s"]
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "clients": args.clients, "workers": args.workers, "seconds": args.seconds, "runs": runs,
              "ratio_intake_to_ceiling": round(ratio, 3)}
    print(f"\n{'run':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in runs.items():
        print(f"{name:<8} {r['requests_per_s']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8}")
    print(f"intake / ceiling throughput: {ratio:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
