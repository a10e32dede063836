"""A scrape of /metrics never hangs nor fails when PostgreSQL or Kafka does not answer: each source is bounded by
`metrics_timeout_seconds` and reported down, and the process's own metrics are still served."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.app import create_app
from shared.db import PlatformTables, service_metadata
from shared.settings import ServiceSettings


@contextlib.asynccontextmanager
async def blackhole() -> AsyncIterator[int]:
    """A port that accepts connections and never answers: the worst kind of outage for a client."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(body: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


async def scrape(db_port: int, kafka_port: int) -> httpx.Response:
    settings = ServiceSettings(
        service_name="opsunit",
        environment="test",
        metrics_timeout_seconds=1.0,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{db_port}/nowhere",
        kafka_bootstrap_servers=f"127.0.0.1:{kafka_port}",
    )
    app = create_app(settings, PlatformTables(service_metadata("opsunit")), [], title="ops unit")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        # Twice: the second scrape must not be stuck behind clients left over from the first.
        first = await asyncio.wait_for(client.get("/metrics"), 10)
        second = await asyncio.wait_for(client.get("/metrics"), 10)
    assert first.status_code == 200
    return second


@pytest.mark.parametrize("outage", ["silent", "refused"])
async def test_a_scrape_answers_200_with_both_sources_down(outage: str) -> None:
    if outage == "silent":
        async with blackhole() as db_port, blackhole() as kafka_port:
            response = await scrape(db_port, kafka_port)
    else:
        response = await scrape(closed_port(), closed_port())
    assert response.status_code == 200
    found = samples(response.text)
    assert found[("ops_metrics_source_up", frozenset({("service", "opsunit"), ("source", "database")}))] == 0
    assert found[("ops_metrics_source_up", frozenset({("service", "opsunit"), ("source", "kafka")}))] == 0
    # No made-up figures for a source that did not answer.
    assert not [name for name, _ in found if name in ("outbox_unsent_events", "consumer_lag_events")]
    # The process's own counters are still there (the first scrape was counted).
    assert any(name == "http_requests_total" and ("route", "/metrics") in labels for name, labels in found)


@pytest.mark.parametrize("service", ["intake", "eligibility", "payments", "monitoring"])
def test_consumer_groups_are_named_after_their_service(service: str) -> None:
    """An API finds its service's consumer groups by the `<service>.` prefix (its lag is reported from Kafka)."""
    consumers = importlib.import_module(f"services.{service}.worker").CONSUMERS
    assert all(group.startswith(f"{service}.") for group in consumers), list(consumers)
