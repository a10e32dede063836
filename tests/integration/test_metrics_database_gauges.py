"""Scrape-time figures on the real PostgreSQL: the outbox backlog equals the unsent rows, a service's own gauges
(`add_database_gauges`) carry the values and labels their query returns, and a broken gauge is reported down
without taking the other figures with it."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, literal_column, select, text

from services.intake.config import Settings
from services.intake.models import Household, platform
from shared.app import add_database_gauges, create_app
from shared.ops_metrics import DatabaseGauge
from tests.helpers import household_body

HOUSEHOLDS_BY_COUNTY = DatabaseGauge(
    "test_households",
    "Households per county (a service's own gauge, as payments and monitoring add theirs)",
    select(func.left(Household.region_code, 6).label("county"), func.count().label("value")).group_by(
        literal_column("county")
    ),
    labels=("county",),
)
BROKEN = DatabaseGauge("test_broken", "A gauge whose query fails", text("SELECT 1/0 AS value"))


async def test_outbox_backlog_and_registered_gauges_from_the_database(db, api, tokens):
    # A household and its unsent household.registered event (no relay runs in the integration tests).
    r = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    assert r.status_code == 201, r.text
    app = create_app(Settings(), platform, [], title="ops metrics test")
    add_database_gauges(app, BROKEN, HOUSEHOLDS_BY_COUNTY)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        r = await client.get("/metrics")
    assert r.status_code == 200
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }

    async with db.connect() as conn:
        unsent = (await conn.execute(text("SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL"))).scalar()
        counties = dict(
            (await conn.execute(text("SELECT left(region_code, 6), count(*) FROM intake.households GROUP BY 1"))).all()
        )
    assert unsent >= 1 and counties.get("610626", 0) >= 1
    assert found[("outbox_unsent_events", (("service", "intake"),))] == unsent
    assert {labels[0][1]: value for (name, labels), value in found.items() if name == "test_households"} == {
        county: float(n) for county, n in counties.items()
    }
    up = {dict(labels)["source"]: value for (name, labels), value in found.items() if name == "ops_metrics_source_up"}
    assert up == {"database": 1, "kafka": 1, "test_households": 1, "test_broken": 0}
    assert not [name for name, _ in found if name == "test_broken"]
