"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem+json, and their one OpenAPI definition.

Every 4xx names the offending fields in `errors: [{field, message}]` so a front-desk app can show them. The
`Problem` schema below is the only definition of that body in every service's OpenAPI; `shared/app.py` declares
on each operation the problem responses it can give, so clients generated from the spec know them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.transient import is_transient

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# How long a client should wait before retrying a 503 (database or broker restarting).
RETRY_AFTER_SECONDS = 2


class DomainError(Exception):
    """A failure the caller can act on; a subclass names its HTTP status, problem title and type slug in its header."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init_subclass__(
        cls, *, status: int | None = None, title: str | None = None, slug: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title
        if slug is not None:
            cls.slug = slug

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(DomainError, status=422, title="Invalid input", slug="invalid-input"):
    """A field's value is not acceptable; the problem names the field."""

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}], **extra)


class NotFound(DomainError, status=404, title="Not found", slug="not-found"):
    """No such resource, or none the caller's region may see."""


class Conflict(DomainError, status=409, title="Conflict", slug="conflict"):
    """The request contradicts the resource's current state (a step already taken, a duplicate)."""


class Forbidden(DomainError, status=403, title="Forbidden", slug="forbidden"):
    """The caller's role or region does not allow this."""


class ServiceUnavailable(DomainError, status=503, title="Service unavailable", slug="unavailable"):
    """A dependency (the database, the broker) is restarting; the client retries after `Retry-After`."""


class Unauthorized(DomainError, status=401, title="Unauthorized", slug="unauthorized"):
    """No bearer token, or one that does not verify."""


class PreconditionFailed(DomainError, status=412, title="Precondition failed", slug="precondition-failed"):
    """The request's If-Match names a version the resource no longer has: someone changed it since it was read."""


class PayloadTooLarge(DomainError, status=413, title="Payload too large", slug="payload-too-large"):
    """An upload is larger than its limit."""


class UnsupportedMediaType(DomainError, status=415, title="Unsupported media type", slug="unsupported-media-type"):
    """An upload's content is not of a type the endpoint accepts."""


class FieldError(BaseModel):
    field: str = Field(description="Where: `members[0].id_number`, `query.limit`, `body`, …")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), the body of every 4xx and 5xx."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="`urn:cn.gov.mca.assistance:problem:<slug>`, stable for a kind of error")
    title: str
    status: int
    detail: str = Field(description="What went wrong, in words a front desk can show")
    instance: str | None = Field(None, description="The request path")
    errors: list[FieldError] | None = Field(None, description="Each offending field (4xx on input)")
    allowed_next: list[str] | None = Field(
        None, description="On a 409 for a case step: the steps the case may take now (paths under /cases/{id}/)"
    )


# What each status means on this platform; the operation-specific cause is in the body's `detail`.
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request",
    401: "No bearer token, or an invalid or expired one",
    403: "Your role may not do this, or the record is outside your region",
    404: "Not found, or outside your region (the two are not told apart)",
    409: "Conflicts with the current state (a case step not allowed now: see `allowed_next`; a duplicate; "
    "an Idempotency-Key reused with another body) or with a concurrent change: reload and retry",
    413: "The upload is larger than allowed",
    415: "The upload's media type is not accepted",
    422: "Invalid input: `errors` names each offending field",
    503: "The database or Kafka is unavailable; retry later",
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object for a problem status, referring to the one `Problem` schema."""
    return {
        "description": description or PROBLEM_DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For an endpoint's `responses=`: statuses the kit cannot infer (e.g. 413 on an upload)."""
    return {status: problem_response(status) for status in statuses}


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
