"""Domain errors: plain exceptions (no web framework here) that carry their HTTP status, problem title and type
slug as data, and the one OpenAPI definition of the problem body.

Every domain error of the platform is declared here and raised as is by the domain and service code: a named
rule (双人复核, a refused bank return file) is a subclass here, never in a service. `shared/app.py` is the one
place that renders them as RFC 9457 problem+json. Every 4xx names the offending fields in
`errors: [{field, message}]` so a front-desk app can show them. The `Problem` schema below is the only definition
of that body in every service's OpenAPI; `shared/app.py` declares on each operation the problem responses it can
give, so clients generated from the spec know them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM = "application/problem+json"


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


class TwoPersonRule(Forbidden, title="Two-person rule", slug="two-person-rule"):
    """The officer who made a request may not approve it (双人复核): a batch's creator, a waiver's asker."""


class InvalidReturnFile(DomainError, status=422, title="Invalid bank return file", slug="invalid-return-file"):
    """A bank return file with bad rows; `errors` names each (row, field, why)."""


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
