"""monitoring's app with every `POST /feeds/...` profiled by pyinstrument (bench/monitoring_feed.py --profile).

The profile of each post is written as text to $BENCH_PROFILE_DIR/feed-<n>.txt: where the request's wall time
goes, Python and awaits on PostgreSQL alike (async mode follows the request's task across awaits)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from services.monitoring.api import app as monitoring

_OUT = Path(os.environ.get("BENCH_PROFILE_DIR", "."))
_COUNT = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/feeds/"):
        await monitoring(scope, receive, send)
        return
    profiler = Profiler(interval=0.002, async_mode="enabled")
    profiler.start()
    try:
        await monitoring(scope, receive, send)
    finally:
        profiler.stop()
        _write(profiler.output_text(unicode=True, show_all=False))


def _write(report: str) -> None:
    _OUT.mkdir(parents=True, exist_ok=True)
    (_OUT / f"feed-{next(_COUNT)}.txt").write_text(report)
