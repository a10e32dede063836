"""Unit tests of the kit's small common helpers: region scoping, audit rows, error classes, downloads."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from shared import audit
from shared.auth import Principal
from shared.core.period import Period
from shared.downloads import attachment
from shared.errors import DomainError, Forbidden, NotFound
from shared.responses import streamed
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
    """Only what audit.record touches: the audit table's name and the rows sent at commit."""

    class tables:  # named as on UnitOfWork
        audit_log = "audit_log"

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add_rows(self, table: str, rows: list[dict]) -> None:
        assert table == "audit_log"
        self.rows.extend(rows)


async def test_audit_row_carries_the_fields_and_refuses_a_misspelt_one():
    uow = _Uow()
    household = uuid.uuid4()
    await audit.record(
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
        await audit.record(uow, CLERK, "member.add", "member", "m-1", househld_id=household)  # type: ignore[arg-type,call-arg]
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


async def test_audit_of_many_files_one_row_per_record_under_its_household_and_region():
    uow = _Uow()
    records = [_Record(uuid.uuid4(), uuid.uuid4(), "610626101203"), _Record(uuid.uuid4(), uuid.uuid4(), "610626101")]
    await audit.record(uow, CLERK, "case.list", "case", records)  # type: ignore[arg-type]
    rows = uow.rows
    assert [(r["action"], r["resource_id"], r["household_id"], r["region_code"]) for r in rows] == [
        ("case.list", str(r.id), r.household_id, r.region_code) for r in records
    ]


async def test_audit_of_one_record_files_it_under_its_household():
    uow = _Uow()
    record = _Record(uuid.uuid4(), uuid.uuid4(), "610626101203")
    await audit.record(uow, CLERK, "case.read", "case", record, reason="复核")  # type: ignore[arg-type]
    [row] = uow.rows
    assert (row["resource_id"], row["household_id"], row["region_code"], row["reason"]) == (
        str(record.id),
        record.household_id,
        "610626101203",
        "复核",
    )


async def test_audit_entries_take_the_calls_fields_unless_they_name_their_own():
    uow = _Uow()
    entries = [
        {"resource_id": "a", "action": "payee.changed", "correlation_id": "c-1"},
        {"resource_id": "b", "region_code": "610626102"},
    ]
    await audit.record(uow, "payments", "roll.update", "beneficiary", entries, region_code="610626101")  # type: ignore[arg-type]
    assert [(r["resource_id"], r["action"], r["region_code"], r["roles"]) for r in uow.rows] == [
        ("a", "payee.changed", "610626101", ["system"]),
        ("b", "roll.update", "610626102", ["system"]),
    ]
    assert uow.rows[0]["correlation_id"] == "c-1"
    with pytest.raises(TypeError, match="resource"):
        await audit.record(uow, CLERK, "x", "y", [{"resource": "typo"}])  # type: ignore[arg-type]
    await audit.record(uow, CLERK, "case.list", "case", [])  # type: ignore[arg-type]
    assert len(uow.rows) == 2


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
