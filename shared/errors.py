"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem+json.

Every 4xx names the offending fields in `errors: [{field, message}]` so a front-desk app can show them."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(DomainError):
    status, title, slug = 422, "Invalid input", "invalid-input"

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}], **extra)


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class ServiceUnavailable(DomainError):
    status, title, slug = 503, "Service unavailable", "unavailable"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


def problem(status: int, title: str, detail: str, slug: str, request: Request | None = None,
            errors: list[dict[str, str]] | None = None, **extra: Any) -> JSONResponse:
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
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or ["body"]
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


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
        return problem(exc.status_code, str(exc.detail), str(exc.detail), f"http-{exc.status_code}", request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", "internal", request)
