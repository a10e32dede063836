"""The FastAPI application factory every service uses, so the four APIs share one shape:
settings on `app.state`, a database engine, problem+json errors, correlation ids, metrics and health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.db import PlatformTables, create_engine, session_factory
from shared.errors import Conflict, ServiceUnavailable, install_error_handlers
from shared.observability import RequestContextMiddleware, configure_logging, metrics_payload
from shared.ops_metrics import close_flow_metrics, flow_metrics
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def _uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work. The one commit of a request happens here, after the endpoint returned
    without error; any exception rolls everything back."""
    state = request.app.state
    async with UnitOfWork(state.sessions, state.tables, state.source) as uow:
        yield uow
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent request got there first
            raise Conflict("the change conflicts with another one made at the same time; reload and retry") from exc
        except DBAPIError as exc:
            raise ServiceUnavailable("the database could not commit the change; retry") from exc


# scope="function": the commit runs before the response is sent, so a failed commit is never answered 2xx.
UowDep = Annotated[UnitOfWork, Depends(_uow, scope="function")]


def _settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


SettingsDep = Annotated[ServiceSettings, Depends(_settings)]


async def _kafka_ready(app: FastAPI) -> bool:
    settings: ServiceSettings = app.state.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=2000)
    try:
        await asyncio.wait_for(admin.start(), 3)
        return bool((await asyncio.wait_for(admin.describe_cluster(), 3)).get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


health = APIRouter(tags=["operations"])


@health.get("/healthz", summary="Process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz", summary="Database and Kafka reachable")
async def readyz(request: Request) -> JSONResponse:
    checks = {"database": False, "kafka": False}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
        checks["database"] = True
    except Exception:
        log.warning("readiness: database unreachable")
    checks["kafka"] = await _kafka_ready(request.app)
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@health.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    body, content_type = metrics_payload()
    # The event flow (outbox backlog, consumer lag, DLQs) and the service's own gauges, read at scrape time.
    return Response(body + await flow_metrics(request.app), media_type=content_type)


def create_app(
    settings: ServiceSettings,
    tables: PlatformTables,
    routers: Sequence[APIRouter],
    *,
    title: str,
    description: str = "",
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(settings.database_url, settings.db_pool_size)
        app.state.sessions = session_factory(app.state.engine)
        yield
        await close_flow_metrics(app)
        await app.state.engine.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.tables = tables
    app.state.source = f"/services/{settings.service_name}"
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(health)
    for router in routers:
        app.include_router(router)
    return app
