"""The kit's list convention (shared/pagination.py): a cursor stands for one row's sort key of one list in one walk
(the endpoint, its filters and the caller), signed with a key derived from the service's secret, and anything else
offered as a cursor is refused naming `cursor`; every list's `region` is a GB/T 2260 code (2, 4, 6, 9 or 12 ASCII
digits) and nothing else."""

from __future__ import annotations

import base64
import importlib
import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import Column as C
from sqlalchemy import Date, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import UUID

from shared.errors import InvalidInput
from shared.pagination import TOTAL_CAP, Keyset, RegionListQuery, Walk, narrowed, walking

_T = Table(
    "t",
    MetaData(),
    C("id", UUID(as_uuid=True), primary_key=True),
    C("day", Date),
    C("at", DateTime(timezone=True)),
    C("n", Integer),
    C("s", String),
)
DAYS = Keyset("days", (_T.c.day, _T.c.id))
ALL = Keyset("all", (_T.c.at, _T.c.n, _T.c.s, _T.c.id), descending=True)


def _refused(keyset: Keyset, cursor: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        keyset.decode(cursor)
    assert caught.value.errors == [{"field": "cursor", "message": str(caught.value.errors[0]["message"])}]
    return caught.value.errors[0]["message"]


def test_a_cursor_gives_back_the_typed_key_and_the_total_it_carries():
    key = (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 7, "王", uuid.uuid4())
    assert ALL.decode(ALL.encode(key, 123)) == (key, 123)
    day = (date(2026, 1, 2), uuid.uuid4())
    assert DAYS.decode(DAYS.encode(day)) == (day, None)
    assert "=" not in DAYS.encode(day) and "+" not in DAYS.encode(day)  # base64url, unpadded: fit for a query


def test_a_cursor_of_another_list_is_refused_by_name():
    day = (date(2026, 1, 2), uuid.uuid4())
    other = Keyset("other-days", (_T.c.day, _T.c.id))
    assert "another list (other-days)" in _refused(DAYS, other.encode(day))


@pytest.mark.parametrize("position", [0, 5, 10, -1])
def test_an_edited_or_cut_cursor_is_refused(position):
    cursor = DAYS.encode((date(2026, 1, 2), uuid.uuid4()), 40)
    flipped = "A" if cursor[position] != "A" else "B"
    edited = cursor[:position] + flipped + (cursor[position + 1 :] if position != -1 else "")
    _refused(DAYS, edited)
    _refused(DAYS, cursor[: len(cursor) // 2])
    for garbage in ("", "a", "not a cursor", "%%%", base64.urlsafe_b64encode(b"x" * 40).decode()):
        _refused(DAYS, garbage)


def test_a_well_formed_cursor_with_values_of_the_wrong_kind_is_refused():
    import json

    from shared.pagination import _signed

    walk = walking.get()

    def forged(*values) -> str:  # signed with the key itself: what only the service could write
        return _signed(walk, json.dumps(["days", *values]).encode())

    for values in (
        (None, "2026-01-02", "not-a-uuid"),
        (None, "02/01/2026", str(uuid.uuid4())),
        (None, "2026-01-02"),
        (None, "2026-01-02", None),
        (-1, "2026-01-02", str(uuid.uuid4())),
        (TOTAL_CAP + 1, "2026-01-02", str(uuid.uuid4())),
        ("5", "2026-01-02", str(uuid.uuid4())),
    ):
        _refused(DAYS, forged(*values))
    assert DAYS.decode(forged(5, "2026-01-02", str(uuid.UUID(int=1))))[1] == 5


WALK = Walk.of("the service's secret", "/households", [("name", "王")], ("610626101", "clerk"))


def test_a_cursor_forged_without_the_services_secret_is_refused():
    """The checksum key of cursor v1 was in the source: anyone could write a cursor with any total. A cursor is now
    signed with a key derived from the service's secret; the same cursor written under another secret (or the old
    public key) is refused."""
    import json

    from shared.pagination import _signed

    day = (date(2026, 1, 2), uuid.uuid4())
    cursor = DAYS.encode(day, 1, walk=WALK)
    assert DAYS.decode(cursor, walk=WALK) == (day, 1)
    elsewhere = Walk.of("another secret", "/households", [("name", "王")], ("610626101", "clerk"))
    assert "altered" in _refused_in(WALK, DAYS.encode(day, 9, walk=elsewhere))
    payload = json.dumps(["days", 9, day[0].isoformat(), str(day[1])]).encode()
    assert "altered" in _refused_in(WALK, _signed(elsewhere, payload))
    v1 = base64.urlsafe_b64encode(
        __import__("hashlib").blake2b(payload, key=b"shared.pagination cursor v1", digest_size=6).digest() + payload
    )
    _refused_in(WALK, v1.decode().rstrip("="))


@pytest.mark.parametrize(
    "other",
    [
        Walk.of("the service's secret", "/applications", [("name", "王")], ("610626101", "clerk")),  # endpoint
        Walk.of("the service's secret", "/households", [("name", "李")], ("610626101", "clerk")),  # filters
        Walk.of("the service's secret", "/households", [], ("610626101", "clerk")),  # a filter dropped
        Walk.of("the service's secret", "/households", [("name", "王")], ("610626102", "clerk")),  # caller's region
        Walk.of("the service's secret", "/households", [("name", "王")], ("", "admin")),  # national
    ],
)
def test_a_cursor_belongs_to_its_walk_endpoint_filters_and_caller(other):
    cursor = DAYS.encode((date(2026, 1, 2), uuid.uuid4()), 9, walk=other)
    assert "another walk" in _refused_in(WALK, cursor)


def test_a_walk_does_not_depend_on_the_order_of_its_filters():
    a = Walk.of("s", "/cases", [("status", "approved"), ("programme", "dibao")], ("610626", "finance"))
    b = Walk.of("s", "/cases", [("programme", "dibao"), ("status", "approved")], ("610626", "finance"))
    assert a == b and a != Walk.of("s", "/cases", [("programme", "dibao")], ("610626", "finance"))


def test_a_request_binds_its_walk_for_the_lists_it_reads():
    day = (date(2026, 1, 2), uuid.uuid4())
    token = walking.set(WALK)
    try:
        cursor = DAYS.encode(day, 3)
        assert DAYS.decode(cursor) == (day, 3)
    finally:
        walking.reset(token)
    _refused(DAYS, cursor)  # outside that request: not a cursor of the walk at hand


def _refused_in(walk: Walk, cursor: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        DAYS.decode(cursor, walk=walk)
    assert caught.value.errors[0]["field"] == "cursor"
    return caught.value.errors[0]["message"]


def test_a_list_reads_the_narrower_of_the_scope_and_the_region_asked_for():
    assert narrowed("610626", None) == "610626"
    assert narrowed("610626", "610626101") == "610626101"  # a township of the county
    assert narrowed("610626101", "610626") == "610626101"  # asking wider never widens the scope
    assert narrowed("610626101", "610626102") is None  # another township: an empty list
    assert narrowed("", "61") == "61"  # national scope


# Every query model of a list, imported as its service declares it: those that extend RegionListQuery take `region`.
_SCHEMAS = (
    "services.intake.households.schemas",
    "services.intake.applications.schemas",
    "services.intake.drafts.schemas",
    "services.eligibility.cases.schemas",
    "services.eligibility.tasks.schemas",
    "services.payments.roll.schemas",
    "services.payments.batches.schemas",
    "services.payments.recovery.schemas",
    "services.payments.statistics.schemas",
    "services.monitoring.alerts.schemas",
)
# A GB/T 2260 code has 2, 4, 6, 9 or 12 ASCII digits; anything else is no region, not a prefix to read.
BAD_REGIONS = ("6", "610", "61062", "6106261", "61062610", "6106261012", "61062610120", "6106261012011", "６１０６２６")
BAD_REGIONS += ("６１０６２６１０１", "61062610a", "610626 ", "")
GOOD_REGIONS = ("61", "6106", "610626", "610626101", "610626101201")


def _region_lists() -> list[type]:
    for module in _SCHEMAS:
        importlib.import_module(module)
    found, todo = [], [RegionListQuery]
    while todo:
        found.append(cls := todo.pop())
        todo += cls.__subclasses__()
    return found


def _required(model: type) -> dict:
    """The values a query model needs besides `region` (a month's changes need the month)."""
    return (
        {"period": "2026-01"} if "period" in model.model_fields and model.model_fields["period"].is_required() else {}
    )


def test_every_list_that_takes_a_region_takes_only_a_region_code():
    models = _region_lists()
    assert len(models) > 10, models  # the lists of all four services
    for model in models:
        for bad in BAD_REGIONS:
            with pytest.raises(ValidationError) as caught:
                model.model_validate({**_required(model), "region": bad})
            assert [e["loc"] for e in caught.value.errors()] == [("region",)], (model, bad)
        for good in GOOD_REGIONS:
            assert model.model_validate({**_required(model), "region": good}).region == good


def test_the_households_former_region_parameter_takes_only_a_region_code():
    households = importlib.import_module("services.intake.households.schemas")
    for bad in BAD_REGIONS:
        with pytest.raises(ValidationError):
            households.HouseholdQuery.model_validate({"region_code": bad})
    assert households.HouseholdQuery.model_validate({"region_code": "610626101"}).region_code == "610626101"
