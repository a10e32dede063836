"""Unit tests of the common kit's pure parts: periods, envelopes, the catalogue, auth, errors, settings."""

from __future__ import annotations

import uuid
from datetime import date

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as sa_exc

from shared.auth import Principal, decode_token, mint_token
from shared.consumer import is_transient
from shared.errors import Conflict, Unauthorized, install_error_handlers
from shared.events.catalogue import CATALOGUE, PREFIX, CaseApproved, event_type
from shared.events.envelope import CloudEvent, DomainEvent
from shared.period import Period
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

    event = DomainEvent(type="cn.gov.mca.assistance.test.v1", key="h-1", data=Data(amount_fen=135_000),
                        region="610626101201")
    ce = event.to_cloudevent("/services/test", "corr-1")
    back = CloudEvent.from_json(ce.to_json())
    assert back.id == event.id and back.subject == "h-1" and back.correlationid == "corr-1"
    assert back.data == {"amount_fen": 135_000} and back.specversion == "1.0"


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

    record = logging.LogRecord("x", logging.ERROR, __file__, 1,
                               'Failing row contains (11010519491231002X, "张三") and 440524198001010014', None, None)
    line = JsonFormatter("test").format(record)
    assert "11010519491231002X" not in line and "440524198001010014" not in line
    assert "110105********002X" in line
    assert redact("order 1234567890123456789012 stays") == "order 1234567890123456789012 stays"


def test_the_readme_lists_every_event_type_of_the_catalogue():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    missing = [t for t in CATALOGUE if f"`{t.removeprefix(PREFIX + '.')}`" not in readme]
    assert not missing, f"add to the README's event catalogue: {missing}"
