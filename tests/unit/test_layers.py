"""The layers stay apart: the web framework only at the HTTP edge, domain errors declared once in the kit.

The domain, services, repositories, workers and the kit's infrastructure never import FastAPI or Starlette: the
mapping of domain errors to problem+json lives in `shared/app.py`, and a domain error is a plain exception of
`shared/errors.py` carrying its HTTP status as data."""

from __future__ import annotations

import ast
from pathlib import Path

from shared import errors

REPO = Path(__file__).resolve().parents[2]
WEB = ("fastapi", "starlette", "fastapi_offline")
# The HTTP edge: endpoints and their dependencies, each service's app (api.py, built by shared/app.py's factory),
# and the kit's own edge. Below it the kit is plain: Principal and token verification (auth.py), keyset cursors and
# pages (pagination.py), the stored first answers (idempotency.py), ETags (preconditions.py), media types and
# filenames (downloads.py), logging and metrics primitives (observability.py, ops_metrics.py).
EDGE_FILES = {"endpoints.py", "deps.py", "api.py"}
EDGE_KIT = {
    "shared/app.py",  # the application factory, problem+json, the request guard and context middleware, /metrics
    "shared/deps.py",  # the bearer token as a dependency (require(...)), Idempotency-Key, If-Match, X-Id-Number
    "shared/responses.py",  # a file streamed as the response; the ETag on an answer
}


def _modules() -> list[Path]:
    return sorted(p for folder in ("shared", "services") for p in (REPO / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_below_the_http_edge_imports_the_web_framework():
    offenders = [
        str(path.relative_to(REPO))
        for path in _modules()
        if path.name not in EDGE_FILES and str(path.relative_to(REPO)) not in EDGE_KIT and _imports(path) & set(WEB)
    ]
    assert offenders == []


def test_every_domain_error_is_declared_in_the_kit():
    """One style of domain error: the kit's classes (a named rule a subclass there), raised as they are; a
    service neither subclasses them nor translates an exception of its own into them."""
    kit = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.DomainError)
    }
    declared = [
        f"{path.relative_to(REPO)}: {node.name}"
        for path in _modules()
        if path != REPO / "shared/errors.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any((base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)) in kit for base in node.bases)
    ]
    assert declared == []


# Where a transaction ends: the unit of work itself, the request's and the consumer's units of work (committed once,
# at the end of a request or of a run of events), and the job runner (a step of a job).
COMMITTERS = {"shared/uow.py", "shared/app.py", "shared/consumer.py", "shared/jobs.py"}


def test_services_never_commit():
    """No `commit(` or `rollback(` outside the unit of work and the job runner: a service function is a step of
    a request, an event handler or a job, whose owner ends the transaction."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _modules()
        if str(path.relative_to(REPO)) not in COMMITTERS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "commit(" in line or "rollback(" in line
    ]
    assert offenders == []


def test_events_reach_the_outbox_through_the_unit_of_work_that_tracks_their_aggregate():
    """An aggregate's events are collected by the unit of work that tracks it (`UnitOfWork.track`), never handed
    over by a service: no `_emit` copied into a service, no `collect_new_events()` called outside the kit."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _modules()
        if path.is_relative_to(REPO / "services")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "def _emit(" in line or "collect_new_events(" in line or ".events.clear()" in line
    ]
    assert offenders == []


def _shared_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("shared.")}
    return found


def test_the_shared_domain_core_knows_no_infrastructure():
    """shared/core/ is the domain the services share: no database, web, broker or HTTP client, and of the kit only
    its plain parts (domain errors, text validators, the event catalogue's types)."""
    infrastructure = {*WEB, "sqlalchemy", "asyncpg", "aiokafka", "httpx", "alembic"}
    plain_kit = {"shared.errors", "shared.validation", "shared.events.catalogue"}
    offenders = [
        f"{path.relative_to(REPO)}: {sorted(bad)}"
        for path in sorted((REPO / "shared" / "core").rglob("*.py"))
        if (
            bad := (_imports(path) & infrastructure)
            | {m for m in _shared_imports(path) - plain_kit if not m.startswith("shared.core")}
        )
    ]
    assert offenders == []
