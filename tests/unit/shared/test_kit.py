"""Unit tests of the common kit's pure parts: periods, envelopes, the catalogue, auth, errors, settings."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc

from shared.app import install_error_handlers
from shared.auth import Principal, decode_token, mint_token
from shared.consumer import is_transient
from shared.core.household import HouseholdSnapshot
from shared.core.period import Period
from shared.errors import Conflict, Unauthorized
from shared.events.catalogue import CATALOGUE, PREFIX, CaseApproved, HouseholdRegistered, event_type
from shared.events.envelope import CloudEvent, DomainEvent
from shared.kafka import murmur2, partition_for
from shared.settings import ServiceSettings


def test_period_arithmetic_and_parsing():
    assert Period.parse("2023-12").next() == Period(2024, 1)
    assert Period(2024, 3).plus(-3) == Period(2023, 12)
    assert Period(2023, 7).months_until(Period(2024, 1)) == 6
    assert str(Period.of(date(2023, 9, 25))) == "2023-09"
    for bad in ("2023-13", "2023-1", "23-01", "2023/01"):
        with pytest.raises(ValueError):
            Period.parse(bad)


def test_catalogue_types_are_versioned_and_unique_per_data_class():
    assert all(t.startswith(PREFIX + ".") and t.rsplit(".", 1)[1].startswith("v") for t in CATALOGUE)
    assert event_type(CaseApproved) == "cn.gov.mca.assistance.case.approved.v1"
    assert len({spec.data for spec in CATALOGUE.values()}) == len(CATALOGUE)


def test_domain_event_becomes_a_cloudevent_that_round_trips():
    class Data(BaseModel):
        model_config = ConfigDict(frozen=True)
        amount_fen: int

    event = DomainEvent(
        type="cn.gov.mca.assistance.test.v1", key="h-1", data=Data(amount_fen=135_000), region="610626101201"
    )
    ce = event.to_cloudevent("/services/test", "corr-1")
    back = CloudEvent.from_json(ce.to_json())
    assert back.id == event.id and back.subject == "h-1" and back.correlationid == "corr-1"
    assert back.data == {"amount_fen": 135_000} and back.specversion == "1.0"


def test_the_outbox_json_is_the_envelope_models_json_byte_for_byte():
    """The unit of work writes `DomainEvent.to_json` (no envelope model) to the outbox: it must be exactly what
    the CloudEvent model would have written, for nested data, dates, Chinese text and a missing region alike."""
    household = HouseholdSnapshot.model_validate(
        {
            "household_id": str(uuid.uuid4()),
            "region_code": "610626101201",
            "hukou_type": "rural",
            "members": [
                {
                    "member_id": str(uuid.uuid4()),
                    "name": "刘志明",
                    "birth_date": "1962-04-15",
                    "sex": "male",
                    "relation": "head",
                    "labour_capacity": "partial",
                }
            ],
            "incomes": [{"kind": "wages", "subkind": "farm_work", "monthly_amount_fen": 30_000}],
        }
    )
    data = HouseholdRegistered(
        household_id=household.household_id, region_code=household.region_code, snapshot=household
    )
    for region, cid, when in (
        ("610626101201", "corr-1", datetime(2023, 9, 4, 8, 30, tzinfo=UTC)),
        (None, None, datetime.now(UTC)),
    ):
        event = DomainEvent(
            type=event_type(HouseholdRegistered), key=str(household.household_id), data=data, region=region, time=when
        )
        assert event.to_json("/services/intake", cid) == event.to_cloudevent("/services/intake", cid).to_json()


def test_a_verified_token_is_remembered_only_until_it_expires_and_never_for_another_token():
    settings = ServiceSettings(jwt_secret="k" * 40)
    token = mint_token("clerk-2", ["clerk"], "610626101", "k" * 40, ttl=2)
    assert decode_token(token, settings).sub == "clerk-2"
    assert decode_token(token, settings).sub == "clerk-2"  # now from memory
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    with pytest.raises(Unauthorized):
        decode_token(forged, settings)
    with pytest.raises(Unauthorized):  # the same token under another service's secret
        decode_token(token, ServiceSettings(jwt_secret="o" * 40))
    time.sleep(2.1)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(token, settings)


def test_tokens_round_trip_and_bad_ones_are_401():
    settings = ServiceSettings(jwt_secret="s" * 40)
    token = mint_token("clerk-1", ["clerk"], "610626101", "s" * 40)
    principal = decode_token(token, settings)
    assert principal == Principal("clerk-1", frozenset({"clerk"}), "610626101")
    assert principal.covers("610626101201") and not principal.covers("610626102201")
    with pytest.raises(Unauthorized):
        decode_token(mint_token("x", ["clerk"], "610626", "another secret of enough length!"), settings)
    with pytest.raises(Unauthorized):
        decode_token(jwt.encode({"sub": "x", "exp": 1, "roles": []}, "s" * 40, algorithm="HS256"), settings)
    with pytest.raises(Unauthorized):
        decode_token(mint_token("x", ["clerk"], "6106x", "s" * 40), settings)


def test_insecure_defaults_are_refused_outside_development():
    ServiceSettings(environment="development")
    with pytest.raises(ValueError, match="jwt_secret"):
        ServiceSettings(environment="production", pii_hmac_key="k" * 32)
    ServiceSettings(environment="production", jwt_jwks_url="https://idp.example/jwks", pii_hmac_key="k" * 32)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: int


def test_problem_json_names_fields_and_never_leaks_a_500_for_bad_input():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/x")
    async def x(body: Body) -> dict:
        if body.amount_fen == 409:
            raise Conflict("already there", allowed_next=["a"])
        return {}

    client = TestClient(app)
    r = client.post("/x", json={"amount_fen": "lots", "extra": 1})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {"amount_fen", "extra"}
    r = client.post("/x", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    r = client.post("/x", json={"amount_fen": 409})
    assert r.status_code == 409 and r.json()["allowed_next"] == ["a"]


def test_transient_errors_are_told_apart_from_poison():
    assert is_transient(ConnectionRefusedError())
    assert is_transient(sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert not is_transient(ValueError("bad data"))
    assert not is_transient(KeyError(uuid.uuid4()))


def test_logs_never_carry_a_resident_id_number():
    import logging

    from shared.observability import JsonFormatter, redact

    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        'Failing row contains (11010519491231002X, "张三") and 440524198001010014',
        None,
        None,
    )
    line = JsonFormatter("test").format(record)
    assert "11010519491231002X" not in line and "440524198001010014" not in line
    assert "110105********002X" in line
    assert redact("order 1234567890123456789012 stays") == "order 1234567890123456789012 stays"


def test_the_readme_lists_every_event_type_of_the_catalogue():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    missing = [t for t in CATALOGUE if f"`{t.removeprefix(PREFIX + '.')}`" not in readme]
    assert not missing, f"add to the README's event catalogue: {missing}"


@pytest.mark.parametrize("length", range(0, 41))
def test_the_relays_partitioner_agrees_with_aiokafkas_for_every_key_length(length):
    """The relay builds one batch per partition itself: a key must land where `producer.send` would put it (and
    the Java client), or one household's events could be split across partitions and lose their order."""
    from aiokafka.partitioner import DefaultPartitioner
    from aiokafka.partitioner import murmur2 as reference

    rng = random.Random(length)
    for _ in range(50):
        key = rng.randbytes(length)
        assert murmur2(key) == reference(key)
        assert partition_for(key, [0, 1, 2, 3, 4, 5]) == DefaultPartitioner()(key, [0, 1, 2, 3, 4, 5], [])
    assert partition_for(b"6513270e-269e-4d37-b2a7-4de452e6b438", [0, 1, 2]) in {0, 1, 2}


def test_startup_objects_are_frozen_out_of_the_collectors_view():
    import gc

    from shared.observability import freeze_startup_objects

    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # this process's modules and models, at least
    finally:
        gc.unfreeze()
