"""The FastAPI application factory every service uses, so the four APIs share one shape:
settings on `app.state`, a database engine, problem+json errors (documented on every operation), a guard against
control characters in requests, correlation ids, metrics and health."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import correlation_id
from shared.db import PlatformTables, create_engine, session_factory
from shared.deps import current_principal
from shared.errors import PROBLEM, Conflict, DomainError, Problem, ServiceUnavailable, problem_response
from shared.migrations import schema_at_head
from shared.observability import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    configure_logging,
    freeze_startup_objects,
    metrics_payload,
)
from shared.ops_metrics import DatabaseGauge, FlowMetrics
from shared.pagination import walking
from shared.settings import ServiceSettings
from shared.transient import is_transient
from shared.uow import UnitOfWork
from shared.validation import CONTROL_CHARACTERS, reject_null

log = logging.getLogger(__name__)
# How long a client should wait before retrying a 503 (database or broker restarting).
RETRY_AFTER_SECONDS = 2


# --- domain errors as problem+json: the one place they meet HTTP --------------------------------------------------


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    request: Request | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:cn.gov.mca.assistance:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this path (Starlette's own 405 names only the first route
    matching the path, and a path often has a GET route and a POST route)."""
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.slug, request, exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            message, field = e.get("msg", "invalid"), _field(e.get("loc", ()))
            if e.get("type") == "extra_forbidden":
                message = "unknown field"
            elif e.get("type") == "json_invalid":
                # The location is a character offset into the body, not a field.
                message = f"malformed JSON at character {field}: {e.get('ctx', {}).get('error', '')}"
                field = "body"
            errors.append({"field": field, "message": message})
        detail = "; ".join(f"{x['field']}: {x['message']}" for x in errors[:5])
        return problem(422, "Invalid input", detail, "invalid-input", request, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8, broken multipart): bad input
            message = f"could not be parsed: {exc.detail}"
            return problem(
                422,
                "Invalid input",
                f"body: {message}",
                "invalid-input",
                request,
                [{"field": "body", "message": message}],
            )
        response = problem(exc.status_code, str(exc.detail), str(exc.detail), f"http-{exc.status_code}", request)
        if exc.status_code == 405:  # RFC 9110: a 405 names the methods the resource has
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):  # the database or broker is briefly away: the client should retry, not report a bug
            log.warning("%s %s: infrastructure unavailable: %s", request.method, request.url.path, exc)
            return problem(
                503, "Service unavailable", "a backing service is briefly unavailable; retry", "unavailable", request
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", "internal", request)


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


async def app_settings(request: Request) -> ServiceSettings:
    """The app's settings, for a service's typed alias: `Annotated[Settings, Depends(app_settings)]`."""
    # async: a plain def dependency costs a hop to the thread pool on every request.
    return request.app.state.settings


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


@health.get(
    "/readyz",
    summary="Database and Kafka reachable, schema migrated to this code's head",
    responses={
        503: {"description": "Not ready: `checks` says which dependency is down", "content": {"application/json": {}}}
    },
)
async def readyz(request: Request) -> JSONResponse:
    checks = {"database": False, "schema": False, "kafka": False}
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
            checks["database"] = True
            # No traffic before the migration Job brought the schema to what this code expects.
            service = request.app.state.settings.service_name
            checks["schema"] = await asyncio.wait_for(schema_at_head(conn, service), 3)
    except Exception:
        log.warning("readiness: database unreachable or schema not migrated (%s)", checks)
    checks["kafka"] = await _kafka_ready(request.app)
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@health.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    body, content_type = metrics_payload()
    # The event flow (outbox backlog, consumer lag, DLQs) and the service's own gauges, read at scrape time.
    return Response(body + await flow_metrics(request.app), media_type=content_type)


# --- the metrics mount and the request context ----------------------------------------------------------------


def add_database_gauges(app: FastAPI, *gauges: DatabaseGauge) -> None:
    """Register gauges that the app's `/metrics` reads from the database at scrape time."""
    app.state.database_gauges = [*getattr(app.state, "database_gauges", ()), *gauges]


async def flow_metrics(app: FastAPI) -> bytes:
    """The scrape-time families for the app's service (created on first use, closed by `close_flow_metrics`)."""
    state = app.state
    metrics: FlowMetrics | None = getattr(state, "flow_metrics", None)
    if metrics is None:
        settings = state.settings
        metrics = state.flow_metrics = FlowMetrics(
            service=settings.service_name,
            outbox=state.tables.outbox,
            bootstrap=settings.kafka_bootstrap_servers,
            timeout=settings.metrics_timeout_seconds,
        )
    return await metrics.scrape(state.engine, getattr(state, "database_gauges", ()))


async def close_flow_metrics(app: FastAPI) -> None:
    metrics: FlowMetrics | None = getattr(app.state, "flow_metrics", None)
    if metrics is not None:
        await metrics.close()


class RequestContextMiddleware:
    """Pure ASGI middleware: correlation id in and out (`X-Correlation-ID`), request metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-correlation-id", b"").decode("latin-1")[:100]
        cid = incoming or uuid.uuid4().hex
        token = correlation_id.set(cid)
        walk = walking.set(walking.get())  # what the request binds (shared.deps) ends with it
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-correlation-id", cid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, path).observe(time.perf_counter() - started)
            correlation_id.reset(token)
            walking.reset(walk)


# --- request guard --------------------------------------------------------------------------------------------

# Cheap test on the raw JSON bytes before parsing: a JSON escape of a control character, a raw one, or C1 in UTF-8.
_MAYBE_CONTROL = re.compile(
    rb"\\u00[01][0-9a-fA-F]|\\u007[fF]|\\u00[89][0-9a-fA-F]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]"
)


def _control_fields(value: Any, where: str = "") -> Iterator[str]:
    """The field paths (as the validation errors name them: `members[0].name`) of strings holding a control
    character; keys count too."""
    if isinstance(value, str):
        if CONTROL_CHARACTERS.search(value):
            yield where or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if CONTROL_CHARACTERS.search(key):
                yield path
            else:
                yield from _control_fields(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_fields(item, f"{where}[{index}]")


def _read_as_json(content_type: bytes) -> bool:
    """Whether FastAPI will parse the body as JSON: no content type at all, `application/json` or `…+json`."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media in (b"", b"application/json") or (media.startswith(b"application/") and media.endswith(b"+json"))


class RequestGuard:
    """Refuse control characters in the path, the query string and JSON bodies with a 422 naming the field, before
    any endpoint runs, so every field of every service is covered. Multipart uploads are left alone: file bytes
    may contain anything (their text fields are checked where read)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = ["path"] if CONTROL_CHARACTERS.search(scope.get("path", "")) else []
        query = scope.get("query_string", b"").decode("latin-1")
        fields += [
            f"query.{key}"
            for key, value in parse_qsl(query, keep_blank_values=True, errors="replace")
            if CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value)
        ]
        if fields or not _read_as_json(dict(scope["headers"]).get(b"content-type", b"")):
            await (self._reject(fields) if fields else self.app)(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _MAYBE_CONTROL.search(body):
            try:
                fields = list(dict.fromkeys(_control_fields(json.loads(body))))
            except ValueError:
                fields = []  # malformed JSON: the endpoint's validation names it
            except RecursionError:  # nested deeper than any form: refused rather than let through unchecked
                await self._reject(["body"], "nested too deeply")(scope, receive, send)
                return
            if fields:
                await self._reject(fields)(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _reject(
        fields: list[str], message: str = "control characters are not allowed (tab and line breaks are, in free text)"
    ) -> Response:
        return problem(
            422,
            "Invalid input",
            "; ".join(f"{f}: {message}" for f in fields[:5]),
            "invalid-input",
            errors=[{"field": f, "message": message} for f in fields],
        )


# --- the errors in the OpenAPI ----------------------------------------------------------------------------------


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _has_input(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.body_params
        or any(_has_input(sub) for sub in dependant.dependencies)
    )


def _problem_statuses(route: Any, method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses an operation can answer, from what it depends on: a bearer token (401, and 403 for
    role or region), input (422, from validation or the request guard), path parameters (404), a write (409 for
    state or a concurrent change, 404 for what the body refers to), the database (503), an upload (413, 415)."""
    calls = set(_calls(route.dependant))
    statuses: set[int] = set()
    if current_principal in calls:
        statuses |= {401, 403}
    if _has_input(route.dependant):
        statuses.add(422)
    if "{" in route.path_format:
        statuses.add(404)
    if method != "GET":
        statuses |= {404, 409}
    if _uow in calls:
        statuses.add(503)
    if set(operation.get("requestBody", {}).get("content", {})) - {"application/json"}:  # an upload
        statuses |= {413, 415}
    return statuses


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route in the schema, with the prefix and dependencies of the routers it was included through
    (FastAPI ≥ 0.160 keeps included routers as branches and resolves them in `iter_route_contexts`)."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts else app.routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and route.include_in_schema:
            yield route


def document_problems(app: FastAPI) -> None:
    """Wrap `app.openapi` so every operation declares its problem+json responses, all referring to the one
    `Problem` schema; endpoints need nothing of their own (an unusual status goes in `responses=problems(...)`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs"))
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components["Problem"].pop("$defs", None)
        for route in _api_routes(app):
            for method in route.methods:
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(_problem_statuses(route, method, operation)):
                    responses[str(status)] = problem_response(status)
                for status, response in responses.items():  # declared by hand without a body: it is a problem
                    if status[0] in "45" and "content" not in response:
                        response.update(problem_response(int(status), response.get("description")))
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's own 422 body, never sent here
            components.pop(unused, None)
        _state_what_is_enforced(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- what the server enforces, in the schema ---------------------------------------------------------------------

# The request guard's rule as a JSON Schema pattern (ECMA-262 and Python alike): no control character but tab and
# line breaks, so a client generated from the OpenAPI (or a fuzzer) knows what the guard refuses.
NO_CONTROL_CHARACTERS = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_JSON = ("application/json", "application/problem+json")
_BINARY = {"type": "string", "format": "binary"}
_ANSWERS = ("Problem", "FieldError")


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in an OpenAPI document below `node` (schemas, parameters, media types)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")  # a property named `type` is a schema, not a type
    if isinstance(declared, str):
        return {declared}
    return {t for t in declared if isinstance(t, str)} if isinstance(declared, list) else set()


def _not_nullable_when_sent(components: dict[str, Any]) -> None:
    """Fields a partial update refuses as null (`shared.validation.reject_null`: leave them out instead) are not
    nullable in the schema, though optional."""
    models = {}
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        models.setdefault(model.__name__, model)
    for name, component in components.items():
        model = models.get(name.removesuffix("-Input"))
        if model is None or "properties" not in component:
            continue
        for validator in model.__pydantic_decorators__.field_validators.values():
            if getattr(validator.func, "__func__", validator.func) is not reject_null:
                continue
            for field in validator.info.fields:
                prop = component["properties"].get(field, {})
                if "anyOf" in prop:
                    prop["anyOf"] = [branch for branch in prop["anyOf"] if branch.get("type") != "null"]
                    if len(prop["anyOf"]) == 1:
                        prop.update(prop.pop("anyOf")[0])
                if prop.get("default", 0) is None:
                    del prop["default"]


def _state_in(tree: Any) -> None:
    for node in _schemas(tree):
        if "contentMediaType" in node:  # an uploaded file's bytes: any, and a binary body for clients
            node["format"] = "binary"
        elif "string" in _types(node) and not {"format", "pattern", "enum", "const"} & node.keys():
            node["pattern"] = NO_CONTROL_CHARACTERS
        if "object" in _types(node) and node.get("additionalProperties") is not False:
            node.setdefault("propertyNames", {"pattern": NO_CONTROL_CHARACTERS})


def _state_what_is_enforced(schema: dict[str, Any]) -> None:
    """Make the OpenAPI say what the server enforces beyond the models: free text holds no control characters
    (the request guard), nor do keys of open objects; fields refused as null are not nullable; a download or
    upload that is not JSON is a binary body (`type: string, format: binary`), so generated clients carry it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, node in components.items():
        if name not in _ANSWERS:  # a problem quotes what was refused, control characters and all
            _state_in(node)
    _state_in(schema.get("paths", {}))
    _not_nullable_when_sent(components)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            bodies = [operation.get("requestBody", {}).get("content", {})]
            bodies += [response.get("content", {}) for response in operation.get("responses", {}).values()]
            for content in bodies:
                for media, body in content.items():
                    if media.split(";")[0] not in _JSON and body.get("schema", {}).get("format") != "binary":
                        body["schema"] = dict(_BINARY)


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
        freeze_startup_objects()
        yield
        await close_flow_metrics(app)
        await app.state.engine.dispose()

    # /docs and /redoc load their scripts and styles from the installed package, not a CDN: a county's government
    # network has no internet (no online validator either).
    app = FastAPIOffline(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = settings
    app.state.tables = tables
    app.state.source = f"/services/{settings.service_name}"
    install_error_handlers(app)
    document_problems(app)
    app.add_middleware(RequestGuard)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.include_router(health)
    for router in routers:
        app.include_router(router)
    return app
