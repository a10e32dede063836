"""JSON logs with a correlation id (ID numbers masked) and the process's Prometheus metrics; the middleware that
counts requests and the health endpoints are `shared/app.py`'s."""

from __future__ import annotations

import gc
import logging
import re
import sys
from datetime import UTC, datetime

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared.context import correlation_id

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "route"])


# A resident ID number anywhere in a message (e.g. a database error quoting a failing row) is masked before it is
# written: ID numbers never reach the logs.
_RESIDENT_ID = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9])")


def redact(text: str) -> str:
    return _RESIDENT_ID.sub(r"\1********\2", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "correlation_id": correlation_id.get(),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn installs its own plain-text handlers; route its records through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def freeze_startup_objects() -> None:
    """Move what a process has built by the time it starts serving (modules, models, schemas, SQLAlchemy's
    caches: hundreds of thousands of objects that live as long as the process) out of the cyclic garbage
    collector's view. Otherwise every full collection, triggered by the objects each request or batch creates,
    re-scans all of them: in the event worker that was half the time spent decoding events, and long pauses."""
    gc.collect()
    gc.freeze()


def metrics_payload() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
