"""The roll import's jobs: the dry run (started by the upload, in the API process: it prices the rows with the
uploader's own bearer token, which is never stored) and the import (started by POST …/commit, and picked up by the
intake worker, whose background task resumes any import a killed process left `importing`). Both commit chunk by
chunk with their cursor, so a restart carries on from the last committed chunk. An import whose chunk fails for
what it holds ends `failed` (retried, it would fail the same way); one interrupted is retried by the worker's next
round; either way the worker goes on with the other imports. The same background task purges the staging of
imports unchanged for the retention period, one committed step per import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import httpx
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from services.intake.config import Settings
from services.intake.roll_import import service
from shared.core.assessment_contract import (
    MAX_ITEMS,
    AssessmentItem,
    AssessmentRequest,
    AssessmentResponse,
    AssessmentResult,
)
from shared.jobs import Job
from shared.transient import is_transient
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

#: The jobs started by this process, kept referenced until they finish (asyncio holds tasks only weakly).
RUNNING: set[asyncio.Task] = set()


def eligibility_pricer(
    settings: Settings, token: str, transport: httpx.AsyncBaseTransport | None = None
) -> service.Pricer:
    """Prices items with eligibility's `POST /assessments`, at most MAX_ITEMS a call, as the caller."""

    async def price(items: list[AssessmentItem]) -> list[AssessmentResult]:
        results: list[AssessmentResult] = []
        async with httpx.AsyncClient(base_url=settings.eligibility_url, transport=transport, timeout=120) as client:
            for start in range(0, len(items), MAX_ITEMS):
                body = AssessmentRequest(items=items[start : start + MAX_ITEMS]).model_dump(mode="json")
                try:
                    response = await client.post(
                        "/assessments", json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                except httpx.HTTPError as exc:
                    raise service.PricingUnavailable(f"eligibility could not be reached: {type(exc).__name__}") from exc
                if response.status_code != 200:
                    raise service.PricingUnavailable(
                        f"eligibility answered {response.status_code} to POST /assessments: {response.text[:300]}"
                    )
                try:
                    results.extend(AssessmentResponse.model_validate_json(response.content).items)
                except ValidationError as exc:
                    raise service.PricingUnavailable("eligibility's answer is not an assessment response") from exc
        return results

    return price


async def run_dry_run(
    uow_factory: Callable[[], UnitOfWork], import_id: uuid.UUID, chunk: int, price: service.Pricer
) -> None:
    """The dry run to its end, a committed step per chunk; an import whose rows cannot be priced ends `failed`
    with why (POST …/dry-run, or uploading the same file again, takes it up from its last chunk)."""
    job = Job(uow_factory)
    try:
        await job.repeat(lambda uow: service.dry_run_step(uow, import_id, chunk, price))
    except service.PricingUnavailable as exc:
        why = str(exc)
        log.warning("roll import %s: dry run stopped: %s", import_id, why)
        await job.step(lambda uow: service.dry_run_failed(uow, import_id, why))
    except Exception:
        log.exception("roll import %s: dry run failed", import_id)
        await job.step(
            lambda uow: service.dry_run_failed(
                uow, import_id, "the dry run failed unexpectedly; POST /roll-imports/{id}/dry-run takes it up again"
            )
        )


async def run_import(
    uow_factory: Callable[[], UnitOfWork],
    import_id: uuid.UUID,
    settings: Settings,
    stop: asyncio.Event | None = None,
) -> int:
    """The import to its end (or until stopped), a committed step per chunk; how many chunks were committed. A
    chunk the world interrupted (the database or the network briefly away) is left to the intake worker's next
    round, the import still `importing`; one that fails for what it holds would fail the same way every time: the
    import ends `failed` with why (POST …/commit takes it up again from that chunk)."""
    job, chunks = Job(uow_factory), 0
    try:
        while (stop is None or not stop.is_set()) and await job.step(
            lambda uow: service.commit_step(uow, import_id, settings.roll_import_chunk, settings)
        ):
            chunks += 1
    except Exception as exc:
        if is_transient(exc):
            log.warning("roll import %s: interrupted (%s); the intake worker takes it up again", import_id, exc)
        else:
            log.exception("roll import %s: a chunk failed; the import is failed", import_id)
            why = _why(exc)
            await job.step(lambda uow: service.import_failed(uow, import_id, why))
    return chunks


def _why(exc: BaseException) -> str:
    """A failure as the import's `error` says it: the database's own message (never the statement or its
    parameters), or the exception's type and first line."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig.__cause__ or exc.orig  # the driver's own error, under SQLAlchemy's adapter
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


async def commit_pending(
    uow_factory: Callable[[], UnitOfWork], settings: Settings, stop: asyncio.Event | None = None
) -> int:
    """Every import left `importing` (by a request whose process died, or still running elsewhere: each chunk is
    locked, so two runners never take the same one), one after the other: one that fails or is interrupted never
    holds up those after it. How many chunks were committed."""
    chunks = 0
    for import_id in await Job(uow_factory).step(service.pending_imports):
        if stop is not None and stop.is_set():
            break
        try:
            chunks += await run_import(uow_factory, import_id, settings, stop)
        except Exception:  # its failure could not even be recorded (the database away): the next round retries
            log.exception("roll import %s: could not be run; retrying next round", import_id)
    return chunks


async def purge_expired(
    uow_factory: Callable[[], UnitOfWork], settings: Settings, stop: asyncio.Event | None = None
) -> list[service.Purged]:
    """The staging of every import unchanged for `roll_import_retention_days` deleted, a committed step per
    import; what was purged. Nothing due: one query."""
    job = Job(uow_factory)
    days = settings.roll_import_retention_days
    purged: list[service.Purged] = []
    while stop is None or not stop.is_set():
        done = await job.step(lambda uow: service.purge_step(uow, days))
        if done is None:
            break
        purged.append(done)
        log.info(
            "roll import %s (%s, unchanged for %d days): staging purged: %d rows, %d households, %d report lines",
            done.import_id,
            done.status,
            days,
            done.counts["rows"],
            done.counts["households"],
            done.counts["issues"],
        )
    return purged


def start(coroutine) -> asyncio.Task:
    task = asyncio.get_running_loop().create_task(coroutine)
    RUNNING.add(task)
    task.add_done_callback(RUNNING.discard)
    return task


def roll_importer(settings: Settings):
    """The intake worker's background task: resumes and runs the imports waiting in `importing`, then purges the
    staging of those past their retention."""

    async def run(uow_factory: Callable[[], UnitOfWork], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await commit_pending(uow_factory, settings, stop)
            except Exception:
                log.exception("roll import round failed; retrying")
            try:
                await purge_expired(uow_factory, settings, stop)
            except Exception:
                log.exception("roll import purge failed; retrying next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.roll_import_poll_seconds)

    return run
