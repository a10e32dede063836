"""Conditional writes (RFC 9110 §13): a resource's `ETag` is its version, and a write sent with `If-Match` applies
only to the version named, so two clients editing the same record cannot silently overwrite each other (lost
update). A write without `If-Match` is still accepted (the row lock serialises it): clients that read before they
write should send it.

The `If-Match` header parameter is `shared.deps.IfMatch`; an answer gets its `ETag` from `shared.responses`."""

from __future__ import annotations

from typing import Any

from shared.errors import PreconditionFailed, problems

_ETAG_HEADER = {"ETag": {"description": "the version answered; send it back as If-Match", "schema": {"type": "string"}}}


def tagged(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """For a read's `responses=`: its answer carries the ETag header."""
    return {status: {"headers": _ETAG_HEADER}}


def conditional(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """For a conditional write's `responses=`: the ETag on its answer, and the 412 when If-Match no longer
    matches."""
    return {**tagged(status), **problems(412)}


def etag(version: int) -> str:
    """A strong entity tag for a version (every write bumps it)."""
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int, what: str) -> None:
    """Raise 412 unless `if_match` is absent, `*`, or lists the current version's tag (strong comparison: a weak
    tag never matches, RFC 9110 §13.1.1)."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags or etag(version) in tags:
        return
    raise PreconditionFailed(
        f"{what} changed since it was read (now {etag(version)}): read it again and re-apply the change",
        errors=[{"field": "If-Match", "message": f"does not match the current ETag {etag(version)}"}],
        etag=etag(version),
    )
