from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.pagination import Page


class FeedOut(BaseModel):
    """A posted feed file with its progress (rows read / loaded / rejected) and result."""

    id: uuid.UUID
    partner: str
    kind: str
    region_code: str
    format: Literal["csv", "jsonl"]
    mode: Literal["best_effort", "all_or_nothing"]
    status: Literal["receiving", "loaded", "rejected", "failed"]
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    alerts_raised: int
    detail: str | None
    created_at: datetime
    finished_at: datetime | None
    errors_url: str


class RowErrorOut(BaseModel):
    """One rejected row: its line in the file, the field and why."""

    line: int
    field: str
    message: str


class FeedErrorPage(Page[RowErrorOut]):
    """A feed's error report by line, a page at a time: `total` counts the rows it holds, the first
    MONITORING_FEED_MAX_ERRORS (1000) of those rejected; `rejected` counts them all."""

    feed_id: uuid.UUID
    rejected: int = Field(description="rows rejected, all of them (the report holds the first of them)")
