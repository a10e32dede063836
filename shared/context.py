"""Request-scoped context: the correlation id that travels from an HTTP request into the events it causes."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    cid = correlation_id.get()
    if cid is None:
        cid = uuid.uuid4().hex
        correlation_id.set(cid)
    return cid
