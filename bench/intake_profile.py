"""Where intake's CPU goes per request: the two front-desk POSTs in process, under pyinstrument.

    PYTHONPATH=. .venv/bin/python bench/intake_profile.py [--visits 300] [--html profile.html]

A throwaway PostgreSQL (no Kafka: the request path does not touch it), intake migrated, the app served in process
through httpx's ASGI transport (no sockets, no uvicorn), one visit after another (a household registered, then a
低保 application for it, each with its own Idempotency-Key, the same bodies as bench/intake_load.py). After a warm-up
it reports, per request: the process CPU (the client's share included: the same in every run, so a before/after
comparison is fair), the SQL statements sent (each `execute`/`executemany` one, the BEGIN and COMMIT included: the
round trips to PostgreSQL), and pyinstrument's call tree of the measured visits. Checks its own result: every
answer 201 and exactly `bench/intake_load.py`'s rows per household and application written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


async def profile(url: str, visits: int, warmup: int, html: Path | None) -> int:
    import httpx
    from pyinstrument import Profiler
    from sqlalchemy import event, text

    from bench.intake_load import ROWS_PER_APPLICATION, ROWS_PER_HOUSEHOLD, People, expected_rows, household
    from services.intake.api import build
    from shared.auth import mint_token

    app = build()
    people = People()
    headers = {"Authorization": f"Bearer {mint_token('bench-clerk', ['clerk'], '610626101')}"}
    statements: Counter[str] = Counter()
    async with app.router.lifespan_context(app):
        sync_engine = app.state.engine.sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            statements[statement.split(None, 1)[0].upper()] += 1

        # SQLAlchemy's BEGIN and COMMIT are round trips too, but do not pass through before_cursor_execute.
        event.listen(sync_engine, "begin", lambda conn: statements.update(["BEGIN"]))
        event.listen(sync_engine, "commit", lambda conn: statements.update(["COMMIT"]))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", headers=headers) as client:

            async def visit() -> None:
                r = await client.post(
                    "/households", json=household(people), headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                assert r.status_code == 201, r.text
                r = await client.post(
                    "/applications",
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={"household_id": r.json()["id"], "programme": "dibao", "consent_signed": True},
                )
                assert r.status_code == 201, r.text

            for _ in range(warmup):
                await visit()
            statements.clear()
            profiler = Profiler(async_mode="disabled", interval=0.0005)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            profiler.start()
            for _ in range(visits):
                await visit()
            profiler.stop()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        async with app.state.engine.connect() as conn:
            counts = {
                t: (await conn.execute(text(f"SELECT count(*) FROM intake.{t}"))).scalar_one()
                for t in {*ROWS_PER_HOUSEHOLD, *ROWS_PER_APPLICATION}
            }
    requests = 2 * visits
    # PROFILE_ALL=1 shows the library frames too (SQLAlchemy, asyncpg, FastAPI).
    print(
        profiler.output_text(
            unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL")), time="percent_of_total"
        )
    )
    if html:
        await asyncio.to_thread(html.write_text, profiler.output_html())
    print(f"{requests} requests ({visits} households + {visits} applications) in {wall:.2f}s")
    print(f"process CPU per request: {cpu / requests * 1000:.2f} ms (client included)")
    print(
        f"SQL statements per request: {sum(statements.values()) / requests:.1f} "
        f"({', '.join(f'{k} {v / requests:.1f}' for k, v in statements.most_common())})"
    )
    want = {k: v for k, v in expected_rows(visits + warmup, visits + warmup).items() if k != "unsent"}
    ok = counts == want
    print(f"[{'ok' if ok else 'FAIL'}] rows written == answers given" + ("" if ok else f": {counts} != {want}"))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=300, help="measured households (each with one application)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--html", type=Path, default=None, help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "deploy" / "local"))
    sys.path.insert(0, str(REPO))
    from infra import Postgres, free_port

    from shared.migrations import upgrade

    root = Path(tempfile.mkdtemp(prefix="bench-intake-profile-"))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)  # the postgres user must reach its data folder
    pg = Postgres(root / "postgres", free_port(), durable=False)
    pg.start()
    try:
        upgrade("intake", pg.url)
        os.environ.update(
            {
                "DATABASE_URL": pg.url,
                "ENVIRONMENT": "test",
                "INTAKE_LOG_LEVEL": "WARNING",
                "INTAKE_EVIDENCE_DIR": str(root / "evidence"),
            }
        )
        return asyncio.run(profile(pg.url, args.visits, args.warmup, args.html))
    finally:
        pg.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
