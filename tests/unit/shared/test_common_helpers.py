"""Unit tests of the kit's small common helpers: region scoping, audit rows, error classes, downloads."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import orjson
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import MetaData

from shared import audit
from shared.auth import Principal
from shared.db import PlatformTables
from shared.downloads import attachment, streamed
from shared.errors import DomainError, Forbidden, NotFound
from shared.period import Period
from shared.schemas import attributes


@dataclass
class _Record:
    id: uuid.UUID
    household_id: uuid.UUID
    region_code: str


CLERK = Principal("clerk-tiebian", frozenset({"clerk"}), "610626101")


def test_sees_returns_a_record_in_scope_and_hides_others_as_not_found():
    inside = _Record(uuid.uuid4(), uuid.uuid4(), "610626101203")
    assert CLERK.sees(inside, "case x") is inside
    for found in (_Record(uuid.uuid4(), uuid.uuid4(), "610626102001"), None):
        with pytest.raises(NotFound) as caught:
            CLERK.sees(found, "case x")
        assert caught.value.detail == "case x not found"


class _Uow:
    """Only what audit.defer touches: the audit table's name and the deferred rows."""

    class tables:  # named as on UnitOfWork
        audit_log = "audit_log"

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add_rows(self, table: str, rows: list[dict]) -> None:
        assert table == "audit_log"
        self.rows.extend(rows)


def test_audit_row_carries_the_fields_and_refuses_a_misspelt_one():
    uow = _Uow()
    household = uuid.uuid4()
    audit.defer(
        uow, CLERK, "member.add", "member", "m-1", household_id=household, region_code="610626101", details={"n": 1}
    )  # type: ignore[arg-type]
    row = uow.rows[0]
    assert (row["actor"], row["roles"], row["resource_id"]) == ("clerk-tiebian", ["clerk"], "m-1")
    assert (row["household_id"], row["region_code"], row["reason"], row["details"]) == (
        household,
        "610626101",
        None,
        {"n": 1},
    )
    with pytest.raises(TypeError, match="househld_id"):
        audit.defer(uow, CLERK, "member.add", "member", "m-1", househld_id=household)  # type: ignore[arg-type,call-arg]
    assert len(uow.rows) == 1


def test_error_classes_declare_status_title_and_slug_and_inherit_what_they_omit():
    class Teapot(DomainError, status=418, title="I'm a teapot", slug="teapot"):
        pass

    class Stricter(Forbidden, title="Stricter rule", slug="stricter"):
        pass

    assert (Teapot.status, Teapot.title, Teapot.slug) == (418, "I'm a teapot", "teapot")
    assert (Stricter.status, Stricter.title, Stricter.slug) == (403, "Stricter rule", "stricter")
    assert (DomainError.status, Forbidden.title) == (400, "Forbidden")


async def test_streamed_sends_the_whole_file_in_chunks_and_closes_it():
    data = bytes(range(256)) * 1000  # > one 64 KiB chunk
    out = io.BytesIO(data)
    response = streamed(out, "application/octet-stream", "x.bin")
    assert response.headers["content-disposition"] == 'attachment; filename="x.bin"'
    received = b"".join([chunk async for chunk in response.body_iterator])
    assert received == data and out.closed
    assert attachment("a b.xlsx") == {"Content-Disposition": 'attachment; filename="a b.xlsx"'}


class _ManyUow:
    """Only what audit.record_many touches: the audit table and a session that executes one insert of rows."""

    class tables:  # named as on UnitOfWork
        audit_log = PlatformTables(MetaData()).audit_log

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.session = self

    async def execute(self, _statement: object, params: dict[str, str]) -> None:
        self.rows.extend(orjson.loads(params["rows"]))  # the rows travel as one JSON parameter


async def test_record_each_files_one_row_per_record_under_its_household_and_region():
    uow = _ManyUow()
    records = [_Record(uuid.uuid4(), uuid.uuid4(), "610626101203"), _Record(uuid.uuid4(), uuid.uuid4(), "610626101")]
    await audit.record_each(uow, CLERK, "case.list", "case", records)  # type: ignore[arg-type]
    rows = uow.rows
    assert [(r["action"], r["resource_id"], r["household_id"], r["region_code"]) for r in rows] == [
        ("case.list", str(r.id), str(r.household_id), r.region_code) for r in records
    ]


class _Out(BaseModel):
    id: uuid.UUID
    region_code: str
    month: Period
    label: str


def test_attributes_takes_the_targets_fields_the_source_has():
    record = _Record(uuid.uuid4(), uuid.uuid4(), "610626101203")
    assert attributes(record, _Out) == {"id": record.id, "region_code": "610626101203"}
    assert attributes(_Out(id=record.id, region_code="61", month=Period(2024, 3), label="x"), _Record) == {
        "id": record.id,
        "region_code": "61",
    }


def test_a_period_field_reads_a_month_columns_date_in_python_but_only_yyyy_mm_in_json():
    row = {"id": uuid.uuid4(), "region_code": "61", "month": date(2024, 3, 1), "label": "x"}
    assert _Out.model_validate(row).month == Period(2024, 3)
    with pytest.raises(ValidationError):
        _Out.model_validate_json(f'{{"id": "{row["id"]}", "region_code": "61", "month": "2024-03-01", "label": "x"}}')
    with pytest.raises(ValidationError):
        _Out.model_validate({**row, "month": datetime(2024, 3, 1)})  # a moment is not a month
