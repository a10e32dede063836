"""Request and response bodies of the roll import (存量对象导入)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.core.period import Period
from shared.pagination import ListQuery, Page

Status = Literal["validating", "validated", "importing", "imported", "failed"]
IssueKind = Literal["refused", "amount_differs", "skipped", "joined"]


class Progress(BaseModel):
    done: int = Field(description="households checked (dry run) or committed (import) so far")
    total: int


class ProgrammeTotals(BaseModel):
    households: int = Field(description="户")
    persons: int = Field(description="保障人数 as paid today")
    monthly_amount_fen: int = Field(description="月保障金 as paid today, in 分")


class Report(BaseModel):
    """The dry run's result: what the import would create, what is refused, what our rules price otherwise."""

    rows: int
    rows_refused: int
    households: int
    households_to_create: int = Field(description="new households (with their members, registration and payee)")
    households_joined: int = Field(
        default=0, description="households on file the file adds a programme to (an application; nothing else made)"
    )
    members_to_create: int
    households_refused: int
    households_skipped: int = Field(
        description="on file with the same people, already receiving the programme (imported, or approved at the "
        "front desk)"
    )
    amount_differs: int = Field(description="kept as paid, flagged for review")
    by_programme: dict[str, ProgrammeTotals] = Field(description="the households to create")
    households_imported: int = 0


class RollImportOut(BaseModel):
    id: uuid.UUID
    region_code: str
    filename: str
    format: str
    sha256: str
    paid_through: Period
    all_or_nothing: bool
    status: Status
    progress: Progress
    report: Report | None
    error: str | None
    created_by: str
    created_at: datetime
    committed_by: str | None
    committed_at: datetime | None
    purged_at: datetime | None = Field(
        description="when the staged rows, households and report lines were deleted, the retention period "
        "(INTAKE_ROLL_IMPORT_RETENTION_DAYS) after the last change; the report's counts stay. Its issues then "
        "answer 409, and so does its commit unless it was imported (uploading the same file again stages that "
        "one anew)"
    )


class IssueOut(BaseModel):
    line: int
    household_ref: str
    kind: IssueKind
    field: str = Field(description="the column's key (the template's 填表说明 names each)")
    message: str


class IssueQuery(ListQuery):
    kind: IssueKind | None = None


class IssuePage(Page[IssueOut]):
    """By line, then kind."""
