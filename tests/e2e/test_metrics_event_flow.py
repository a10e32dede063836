"""Operations signals scraped from the APIs' /metrics while the event flow runs, services as processes on real
PostgreSQL and Kafka: the outbox backlog rises while a relay is stopped and falls back to 0 once it runs again;
a consumer group's lag likewise; a poison message shows in the DLQ count."""

from __future__ import annotations

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_for
from tests.helpers import household_body


async def scrape(http: httpx.AsyncClient, stack, service: str, /) -> list:
    r = await http.get(stack.url(service) + "/metrics")
    assert r.status_code == 200, r.text
    return [s for family in text_string_to_metric_families(r.text) for s in family.samples]


async def total(http: httpx.AsyncClient, stack, service: str, name: str, /, **labels: str) -> float | None:
    """The sum of the samples of `name` with these labels; None if the scrape has none (source down)."""
    found = [
        s.value for s in await scrape(http, stack, service) if s.name == name and labels.items() <= s.labels.items()
    ]
    return sum(found) if found else None


async def submit(http: httpx.AsyncClient, stack, tokens) -> str:
    r = await http.post(stack.url("intake") + "/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    r = await http.post(
        stack.url("intake") + "/applications",
        headers=tokens["clerk"],
        json={"household_id": r.json()["id"], "programme": "dibao", "consent_signed": True},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def case_opened(http: httpx.AsyncClient, stack, tokens, application_id: str) -> None:
    async def opened() -> bool:
        r = await http.get(f"{stack.url('intake')}/applications/{application_id}", headers=tokens["clerk"])
        return bool(r.json()["case_id"])

    await wait_for(opened, timeout=60)


async def test_outbox_backlog_rises_while_the_relay_is_stopped_and_falls_to_zero(stack, http, tokens):
    async def drained() -> bool:
        return await total(http, stack, "intake", "outbox_unsent_events", service="intake") == 0

    await wait_for(drained, timeout=60)
    stack.stop("intake-worker")
    try:
        for _ in range(3):
            await submit(http, stack, tokens)  # a household.registered and an application.submitted each
        assert await total(http, stack, "intake", "outbox_unsent_events", service="intake") >= 6
        assert await total(http, stack, "intake", "outbox_oldest_unsent_age_seconds") > 0
        assert await total(http, stack, "intake", "ops_metrics_source_up", source="database") == 1
    finally:
        stack.start_worker("intake")
    await wait_for(drained, timeout=60)
    assert await total(http, stack, "intake", "outbox_oldest_unsent_age_seconds") == 0


async def test_consumer_lag_rises_while_the_consumers_are_stopped_and_falls_to_zero(stack, http, tokens):
    lag = {"group": "eligibility.cases", "topic": "intake.applications"}
    # The group has committed at least once, so Kafka knows what it consumes.
    await case_opened(http, stack, tokens, await submit(http, stack, tokens))

    async def caught_up() -> bool:
        return await total(http, stack, "eligibility", "consumer_lag_events", **lag) == 0

    await wait_for(caught_up, timeout=60)
    stack.stop("eligibility-worker")
    try:
        waiting = [await submit(http, stack, tokens) for _ in range(3)]

        async def lagging() -> float | None:  # the intake relay publishes them while eligibility is away
            value = await total(http, stack, "eligibility", "consumer_lag_events", **lag)
            return value if value is not None and value >= 3 else None

        await wait_for(lagging, timeout=60)
        assert await total(http, stack, "eligibility", "ops_metrics_source_up", source="kafka") == 1
    finally:
        stack.start_worker("eligibility")
    await wait_for(caught_up, timeout=90)
    for application_id in waiting:
        await case_opened(http, stack, tokens, application_id)


async def test_a_poison_message_is_counted_in_the_dead_letter_topic(stack, http, infra):
    dlq = {"topic": "intake.applications.dlq"}

    async def counted() -> float | None:
        return await total(http, stack, "eligibility", "dead_letter_messages", **dlq)

    before = await wait_for(lambda: _present(counted))
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        await (await producer.send("intake.applications", value=b"not a CloudEvent", key=b"ops-metrics"))
    finally:
        await producer.stop()

    async def one_more() -> bool:
        # Every consumer group of the topic (eligibility's, payments' payees, …) dead-letters its own copy.
        return (await counted() or 0) >= before[0] + 1

    await wait_for(one_more, timeout=60)


async def _present(read) -> tuple[float] | None:
    value = await read()
    return None if value is None else (value,)  # a tuple, so a count of 0 is still truthy
