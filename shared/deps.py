"""The kit's FastAPI dependencies and request parameters, as each service has its deps.py: the bearer token
(`current_principal`, `require(...)`, `require_only(...)`), the `Idempotency-Key`, `If-Match` and `X-Id-Number` headers.

What they stand for is plain code below the edge: token verification and the `Principal` (`shared/auth.py`), the
stored first answers (`shared/idempotency.py`), ETags (`shared/preconditions.py`), ID numbers
(`shared/core/identity.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Table

from shared.auth import Principal, decode_token
from shared.core.identity import ResidentIdStr
from shared.errors import Forbidden, Unauthorized
from shared.idempotency import HEADER, MAX_KEY_LENGTH, answer_once
from shared.pagination import Walk, walking
from shared.uow import UnitOfWork

# --- the bearer token -------------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="JWT with sub, roles and region claims")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("a bearer token is required")
    settings = request.app.state.settings
    principal = decode_token(credentials.credentials, settings)
    request.state.principal = principal
    walking.set(_walk(request, settings.pii_hmac_key, principal))
    return principal


def _walk(request: Request, secret: str, principal: Principal) -> Walk:
    """The walk this request's list cursors belong to (shared/pagination.py): its path, its filters (every query
    parameter but `cursor` and `limit`, and the `X-Id-Number` header) and the caller's region and roles."""
    filters = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "limit")]
    if (id_number := request.headers.get("x-id-number")) is not None:
        filters.append(("X-Id-Number", id_number))
    return Walk.of(secret, request.url.path, filters, (principal.region, *sorted(principal.roles)))


def require(*roles: str):
    """Dependency: the caller must hold one of `roles` (admin always passes)."""
    return _role_gate(roles, admin=True)


def require_only(*roles: str):
    """Dependency: the caller must hold one of `roles`, and admin does not pass (三员分立: a system administrator
    neither sees what only officials may open, ID numbers and account numbers, nor approves money)."""
    return _role_gate(roles, admin=False)


def _role_gate(roles: tuple[str, ...], *, admin: bool):
    admitted = (*roles, "admin") if admin else roles

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if roles and not principal.has_any(*admitted):
            raise Forbidden(f"requires one of the roles: {', '.join(roles)}")
        return principal

    return dependency


PrincipalDep = Annotated[Principal, Depends(current_principal)]

# --- header parameters ------------------------------------------------------------------------------------------

IdNumberHeader = Annotated[
    ResidentIdStr | None,
    Header(
        alias="X-Id-Number",
        description="a member's 居民身份证号: matched by its keyed fingerprint; a header, never a query parameter, "
        "so the number stays out of URLs and access logs",
    ),
]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag of the version read; the write answers 412 if the resource changed since",
        max_length=200,
    ),
]

# --- Idempotency-Key --------------------------------------------------------------------------------------------


@dataclass
class IdempotencyKey:
    """The request's key (None when the client sent none) and the table it is kept in."""

    key: str | None
    table: Table
    method: str
    path: str

    async def run(
        self,
        uow: UnitOfWork,
        principal: Principal,
        payload: Any,
        work: Callable[[], Awaitable[Any]],
        *,
        status_code: int = 201,
    ) -> Response:
        """Run `work` once per (caller, key); return its result as JSON, or the stored first result
        (`shared.idempotency.answer_once`)."""
        answer = await answer_once(
            uow, self.table, principal, self.key, self.method, self.path, payload, work, status_code=status_code
        )
        return Response(
            answer.body,
            status_code=answer.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"} if answer.replayed else None,
        )


def idempotency(table: Table) -> Callable[..., Awaitable[IdempotencyKey]]:
    """A FastAPI dependency factory; the header appears in every POST's OpenAPI description."""

    async def dependency(
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias=HEADER,
                min_length=1,
                max_length=MAX_KEY_LENGTH,
                pattern=r"^[\x21-\x7e]+$",
                description="Client-chosen unique key (e.g. a UUID); a retry with the same key and request "
                "returns the first response and creates nothing new",
            ),
        ] = None,
    ) -> IdempotencyKey:
        return IdempotencyKey(idempotency_key, table, request.method, request.url.path)

    return dependency
