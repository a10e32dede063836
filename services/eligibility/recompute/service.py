"""提标重算: re-price the schedules a changed policy value affects, the same way for real and as a dry run.

A standard can be decided after the date it takes effect (domain.md: 450/330 → 490/370 from 1 July, decided in
September). Every case whose schedule has a segment priced with the changed key (its basis, 计算依据) and owed
from the value's month on — on the roll or not: a case that died, stopped or exited is owed the rise for the months
it was owed — is re-priced by the `Case` itself (`Case.reprice`): each segment with *its own* facts and the values in
force in each of its months. A case whose months move raises `case.schedule_changed` (and, on the roll,
`case.amount_changed` per run of months, for the roll kept from amounts); a case whose months do not move gets
nothing, so replaying the event changes nothing.

A job, not a handler's transaction: `policy.standard_changed` queues a `StandardRecompute` (one per dated value;
a replay queues nothing) and the worker's runner (`run_recompute`, `jobs.py`) takes its work list in one statement
(the cases priced with the key, in household order), then reads chunks of whole households, re-prices them in
memory (a worker thread prices a chunk while PostgreSQL writes the one before and reads the one after) and writes
each with the cases' repository (`save_many`: one statement updating the cases and inserting their steps), one
multi-row insert into the outbox and one into the audit log — each chunk committed with the recompute's progress
and per-township figures (`GET /recomputes/{id}`), so a province's rise locks no case for long and a stopped worker
carries on from the last chunk written. The what-if (`POST /parameters/what-if`) runs the same pricing with the
proposed value laid over the parameters and writes nothing, so its months and fen are what the recompute then
does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from services.eligibility.cases import schedule as sched
from services.eligibility.cases.domain import Case, RecomputedFor
from services.eligibility.cases.repository import CaseRepository, SavedRow, SavedRows, roll_case, saved_row
from services.eligibility.models import StandardRecompute
from services.eligibility.policy import ParameterError, ParameterSet
from services.eligibility.policy.parameters import NATIONAL, SCHEMA
from services.eligibility.policy_admin.in_force import effective_parameters, parameters_as_added
from services.eligibility.policy_admin.repository import ParameterOverrideRepository
from services.eligibility.recompute.payments import HeldLookup
from services.eligibility.recompute.repository import Place, RecomputeRepository, recompute_id
from services.eligibility.recompute.schemas import (
    CaseImpactOut,
    MonthBalanceOut,
    RecomputeOut,
    RecomputePage,
    RecomputeQuery,
    TownshipImpactOut,
    WhatIfIn,
    WhatIfOut,
)
from shared import audit
from shared.auth import Principal
from shared.context import correlation_id as current_correlation
from shared.core.period import Period, china_today
from shared.core.regions import RegionTable
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import PERSON_LEVEL, StandardChanged
from shared.jobs import Job
from shared.schemas import attributes
from shared.uow import UnitOfWork, prepared_events

log = logging.getLogger(__name__)
SYSTEM = "eligibility"
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ValueChange:
    """A dated value of one parameter key for a region ('national' or a 2/4/6-digit code)."""

    region: str
    key: str
    start: date
    reference: str

    @property
    def recomputed_for(self) -> RecomputedFor:
        return RecomputedFor(region=self.region, key=self.key, start=self.start)


@dataclass(frozen=True)
class Repriced:
    """One case's re-pricing: the months whose fen moved, and what it owed this month before and after."""

    case_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    programme: str
    persons: int
    monthly_before_fen: int
    monthly_after_fen: int
    changes: tuple[sched.Delta, ...]

    @classmethod
    def of(cls, case: Case, before: list[sched.Segment], changes: list[sched.Delta], month: Period) -> Repriced:
        persons = {s.member_id for s in case.schedule if s.member_id} or {None}
        largest = max((s.persons for s in case.schedule if s.covers(month)), default=0)
        return cls(
            case.id,
            case.household_id,
            case.region_code,
            case.programme,
            len(persons) if case.programme in PERSON_LEVEL else largest,
            sched.total(before, month),
            sched.total(case.schedule, month),
            tuple(changes),
        )

    def person(self, member_id: uuid.UUID | None) -> tuple[uuid.UUID, str, uuid.UUID]:
        """The person as payments keys what is owed: a person-level programme's member (its case, for a schedule
        that names none), else the household (nil member)."""
        if self.programme in PERSON_LEVEL:
            return self.household_id, self.programme, member_id or self.case_id
        return self.household_id, self.programme, uuid.UUID(int=0)

    def owed_after(self, through: Period) -> dict[tuple[uuid.UUID | None, Period], int]:
        """(member, month) → fen owed under the value, for the months it changes up to `through`."""
        out: dict[tuple[uuid.UUID | None, Period], int] = {}
        for d in self.changes:
            month, end = d.from_month, through if d.to_month is None else min(d.to_month, through)
            while month <= end:
                out[(d.member_id, month)] = out.get((d.member_id, month), 0) + d.after_fen
                month = month.next()
        return out

    def owed_change_fen(self, through: Period) -> int:
        """What the months up to `through` are owed more (or less) than before."""
        return sum(d.fen_through(through) for d in self.changes)


@dataclass
class _Township:
    households: set[uuid.UUID] = field(default_factory=set)
    persons: int = 0
    monthly_before_fen: int = 0
    monthly_after_fen: int = 0
    back_pay_fen: int = 0


@dataclass
class Impact:
    """What a recompute changes, per case and per township (乡镇: the first 9 digits of the case's region code)."""

    paid_through: Period
    month: Period  # the month whose cost is compared (this month)
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    needs_review: int = 0
    townships: dict[str, _Township] = field(default_factory=dict)
    cases: list[Repriced] = field(default_factory=list)
    keep_cases: bool = False

    def add(self, r: Repriced) -> None:
        self.changed += 1
        if self.keep_cases:
            self.cases.append(r)
        t = self.townships.setdefault(r.region_code[:9], _Township())
        t.households.add(r.household_id)
        t.persons += r.persons
        t.monthly_before_fen += r.monthly_before_fen
        t.monthly_after_fen += r.monthly_after_fen
        t.back_pay_fen += r.owed_change_fen(self.paid_through)

    def count(self, chunk: _PricedChunk, written: set[uuid.UUID] | None = None) -> None:
        """A priced chunk's cases counted (once written: the changed ones written only)."""
        self.examined += chunk.examined
        self.unchanged += chunk.unchanged
        self.needs_review += chunk.needs_review
        for c in chunk.changed:
            if written is None or c.repriced.case_id in written:
                self.add(c.repriced)

    def counts(self) -> dict[str, int]:
        """The case counts as the API answers them."""
        return {
            "cases_examined": self.examined,
            "cases_changed": self.changed,
            "cases_unchanged": self.unchanged,
            "cases_needing_review": self.needs_review,
        }

    def figures(self) -> dict[str, dict[str, int]]:
        """Per township, its figures as integers (households counted): what a recompute's job adds up chunk by
        chunk (a chunk holds whole households, so its counts add)."""
        return {
            code: {
                "households": len(t.households),
                "persons": t.persons,
                "monthly_before_fen": t.monthly_before_fen,
                "monthly_after_fen": t.monthly_after_fen,
                "back_pay_fen": t.back_pay_fen,
            }
            for code, t in self.townships.items()
        }

    def rows(self) -> tuple[TownshipImpactOut, list[TownshipImpactOut]]:
        """(total, per township) as the API answers them."""
        return township_rows(self.figures())


def added(figures: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per-township figures summed (a new dict)."""
    out = {code: dict(row) for code, row in figures.items()}
    for code, row in more.items():
        mine = out.setdefault(code, dict.fromkeys(row, 0))
        for name, value in row.items():
            mine[name] = mine.get(name, 0) + value
    return out


def township_rows(figures: dict[str, dict[str, int]]) -> tuple[TownshipImpactOut, list[TownshipImpactOut]]:
    """(total, per township) of per-township figures, as the API answers them."""
    regions = RegionTable.load()

    def out(code: str, name: str | None, rows: list[dict[str, int]]) -> TownshipImpactOut:
        total = {k: sum(r.get(k, 0) for r in rows) for k in _FIGURES}
        return TownshipImpactOut(
            township=code,
            name=name,
            **total,
            monthly_increase_fen=total["monthly_after_fen"] - total["monthly_before_fen"],
        )

    def name(code: str) -> str | None:
        try:
            return regions.name(code)
        except (LookupError, ValueError):
            return None

    per = [out(code, name(code), [row]) for code, row in sorted(figures.items())]
    return out("total", None, list(figures.values())), per


_FIGURES = ("households", "persons", "monthly_before_fen", "monthly_after_fen", "back_pay_fen")


@dataclass(frozen=True)
class _Changed:
    """A re-priced case as its chunk keeps it until written: its figures, and (applied) its audit rows and its
    events as the outbox's rows. The Case itself is let go as soon as it is priced, so a chunk of thousands holds
    text, not object graphs the garbage collector would walk again at every collection."""

    repriced: Repriced
    audits: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass
class _PricedChunk:
    """One chunk of cases read and re-priced, waiting to be written (with `apply`) and counted."""

    examined: int = 0
    unchanged: int = 0
    needs_review: int = 0
    changed: list[_Changed] = field(default_factory=list)
    rows: SavedRows | None = None


def _price_chunk(
    rows: list[Any],
    params: ParameterSet,
    change: ValueChange,
    today: date,
    month: Period,
    apply: bool,
    source: str,
    correlation_id: str | None,
) -> _PricedChunk:
    """The chunk's cases re-priced (pure domain work: no session, no event loop), with what `save_many` writes."""
    chunk = _PricedChunk(examined=len(rows))
    saved: list[SavedRow] = []
    for row in rows:
        case, version = roll_case(row)
        before = case.schedule
        changes = case.reprice(params, change.recomputed_for, change.reference, today, announce=apply)
        if changes is None:
            chunk.needs_review += 1
        elif not changes:
            chunk.unchanged += 1
        elif not apply:
            chunk.changed.append(_Changed(Repriced.of(case, before, changes, month), [], []))
        else:
            steps = case.collect_steps()
            saved.append(saved_row(case, version, steps))
            audits = [
                {
                    "resource_id": case.id,
                    "household_id": case.household_id,
                    "region_code": case.region_code,
                    "reason": s.opinion,
                    "details": s.data,
                }
                for s in steps
            ]
            events = prepared_events(case, source, correlation_id)
            chunk.changed.append(_Changed(Repriced.of(case, before, changes, month), audits, events))
    if apply:
        chunk.rows = SavedRows.of(saved)
    return chunk


async def _write(uow: UnitOfWork, repo: CaseRepository, chunk: _PricedChunk, change: ValueChange) -> set[uuid.UUID]:
    """Save the chunk's re-priced cases, audit their steps and send their events: the ids written (a case changed
    meanwhile is left to its own review: its events go nowhere, as its changes)."""
    written = await repo.save_many(chunk.rows) if chunk.rows else set()
    if len(written) < len(chunk.changed):
        log.warning(
            "recompute %s: %d cases changed meanwhile, left to their own review",
            change.key,
            len(chunk.changed) - len(written),
        )
    audits = []
    for c in chunk.changed:
        if c.repriced.case_id in written:
            audits += c.audits
            uow.add_prepared(c.events)
    await audit.record(uow, SYSTEM, "case.standard_recompute", "case", audits)
    await uow.flush_events()
    return written


async def recompute(
    uow: UnitOfWork,
    params: ParameterSet,
    change: ValueChange,
    *,
    paid_through: Period,
    today: date,
    scope: str | None = None,
    chunk_size: int | None = None,
    keep_cases: bool = False,
) -> Impact:
    """The what-if's re-pricing: every case under `scope` (default: the change's region) whose schedule read the
    key, counted and written nowhere. (The recompute itself is `run_recompute`: the same chunks, committed.)"""
    chunk_size = chunk_size or CHUNK_SIZE
    repo = CaseRepository(uow.session)
    impact = Impact(paid_through, Period.of(today), keep_cases=keep_cases)
    ids = await repo.priced_with(scope if scope is not None else _prefix(change.region), change.key)
    price = functools.partial(
        _price_chunk,
        params=params,
        change=change,
        today=today,
        month=impact.month,
        apply=False,
        source=uow.source,
        correlation_id=None,
    )
    # A chunk is priced in a worker thread while the session reads the one after.
    rows = await repo.roll_rows(ids[:chunk_size]) if ids else []
    for at in range(0, len(ids), chunk_size):
        following = ids[at + chunk_size : at + 2 * chunk_size]
        async with asyncio.TaskGroup() as both:
            pricing = both.create_task(asyncio.to_thread(price, rows))
            reading = both.create_task(repo.roll_rows(following)) if following else None
        impact.count(pricing.result())
        rows = reading.result() if reading is not None else []
    return impact


def _prefix(region: str) -> str:
    return "" if region == NATIONAL else region


# --- the recompute as a job: queued by the event, run by the worker chunk by chunk ---------------------------------


class Overtaken(Exception):
    """Another runner moved the recompute on since this one last wrote: this one stops (its chunk is not written)."""


@dataclass
class _Running:
    """A recompute as its runner holds it between committed steps."""

    id: uuid.UUID
    change: ValueChange
    paid_through: Period
    month: Period
    today: date
    params: ParameterSet
    place: Place | None  # the last case written (committed)
    source: str
    correlation_id: str | None

    def price(self, rows: list[Any]) -> _PricedChunk:
        return _price_chunk(
            rows,
            self.params,
            self.change,
            self.today,
            self.month,
            apply=True,
            source=self.source,
            correlation_id=self.correlation_id,
        )


async def _begin(uow: UnitOfWork, recompute_id: uuid.UUID, params: ParameterSet | None) -> _Running | None:
    """Start (or resume) a recompute: a queued one gets its work list and its total; None if there is nothing to
    run (done, or another runner holds it)."""
    repo = RecomputeRepository(uow.session)
    row = await repo.get(recompute_id, for_update=True)
    if row is None or row.status == "done":
        return None
    if row.status == "queued":
        row.cases_total = await repo.snapshot(row.id, row.scope, row.key)
        row.status, row.started_at = "running", datetime.now(UTC)
    today = china_today()
    return _Running(
        id=row.id,
        change=ValueChange(row.region, row.key, row.start, row.reference),
        paid_through=Period.of(row.paid_through),
        month=Period.of(today),
        today=today,
        params=params or await parameters_as_added(uow, row.region, row.key, row.start),
        place=Place.reached(row),
        source=uow.source,
        correlation_id=row.correlation_id,
    )


async def _settle_then_read(
    uow: UnitOfWork, running: _Running, chunk: tuple[list[Place], _PricedChunk] | None, after: Place | None, size: int
) -> tuple[list[Place], list[Any]]:
    """One committed step: write the chunk priced (its cases, steps, audit rows, events and the job's figures and
    place), then read the next `size` cases after `after` (read ahead: `after` may be past what is written)."""
    repo = RecomputeRepository(uow.session)
    row = await repo.get(running.id, for_update=True)
    if row is None or row.status != "running" or Place.reached(row) != running.place:
        raise Overtaken(str(running.id))
    cases = CaseRepository(uow.session)
    if chunk is not None:
        places, priced = chunk
        written = await _write(uow, cases, priced, running.change)
        impact = Impact(running.paid_through, running.month)
        impact.count(priced, written)
        await repo.advance(
            running.id,
            places[-1],
            {
                "cases_examined": row.cases_examined + impact.examined,
                "cases_changed": row.cases_changed + impact.changed,
                "cases_unchanged": row.cases_unchanged + impact.unchanged,
                "cases_needing_review": row.cases_needing_review + impact.needs_review,
                "townships": added(row.townships, impact.figures()),
            },
        )
        running.place = places[-1]
        log.info(
            "recompute %s %s from %s: %d of %d cases examined, %d changed",
            running.change.region,
            running.change.key,
            running.change.start,
            row.cases_examined + impact.examined,
            row.cases_total or 0,
            row.cases_changed + impact.changed,
        )
    following = await repo.next_cases(running.id, after, size) if size else []
    return following, await cases.roll_rows([p.case_id for p in following]) if following else []


async def _finish(uow: UnitOfWork, running: _Running) -> None:
    repo = RecomputeRepository(uow.session)
    row = await repo.get(running.id, for_update=True)
    if row is None or row.status != "running":
        raise Overtaken(str(running.id))
    row.status, row.finished_at = "done", datetime.now(UTC)
    await repo.finish(row.id)
    total, _ = township_rows(row.townships)
    log.info(
        "standard change %s %s from %s: %d cases examined, %d changed (%d households, %d persons), %d unchanged, "
        "%d need a review; monthly +%d fen, back-pay %d fen",
        row.region,
        row.key,
        row.start,
        row.cases_examined,
        row.cases_changed,
        total.households,
        total.persons,
        row.cases_unchanged,
        row.cases_needing_review,
        total.monthly_increase_fen,
        total.back_pay_fen,
    )


async def run_recompute(
    job: Job,
    recompute_id: uuid.UUID,
    chunk_size: int | None = None,
    stop: asyncio.Event | None = None,
    params: ParameterSet | None = None,
) -> bool:
    """Run a recompute to its end (or until stopped), a chunk per committed step: each step writes the chunk priced
    before it and reads the one after while a worker thread prices the current one, so the domain work and the
    database's overlap. A runner killed at any point resumes from the last chunk written; a case changed between
    its chunk's read and write is left to its own review (`CaseRepository.save_many`). True when it finished.
    `params`: the parameters it prices with (default: those in force, read fresh)."""
    running = await job.step(lambda uow: _begin(uow, recompute_id, params))
    if running is None:
        return False
    finished, token = False, current_correlation.set(running.correlation_id)
    try:
        finished = await _chunks(job, running, chunk_size or CHUNK_SIZE, stop)
    except* Overtaken:
        log.info("recompute %s: another runner carries it on", recompute_id)
    finally:
        current_correlation.reset(token)
    return finished


async def _chunks(job: Job, running: _Running, size: int, stop: asyncio.Event | None) -> bool:
    places, rows = await job.step(lambda uow: _settle_then_read(uow, running, None, running.place, size))
    waiting: tuple[list[Place], _PricedChunk] | None = None
    while places:
        if stop is not None and stop.is_set():
            return False  # the next round carries on from the last chunk written
        ahead, current = places[-1], places
        async with asyncio.TaskGroup() as both:
            pricing = both.create_task(asyncio.to_thread(running.price, rows))
            reading = both.create_task(
                job.step(lambda uow, w=waiting, a=ahead: _settle_then_read(uow, running, w, a, size))
            )
        waiting, (places, rows) = (current, pricing.result()), reading.result()
    if waiting is not None:
        await job.step(lambda uow: _settle_then_read(uow, running, waiting, None, 0))
    await job.step(lambda uow: _finish(uow, running))
    return True


async def run_recomputes(job: Job, stop: asyncio.Event | None = None, chunk_size: int | None = None) -> int:
    """Every recompute queued or unfinished, in the order asked for; how many finished."""
    finished = 0
    for queued in await job.step(lambda uow: RecomputeRepository(uow.session).unfinished()):
        if stop is not None and stop.is_set():
            break
        finished += await run_recompute(job, queued, chunk_size, stop)
    return finished


# --- the event handler and the what-if -----------------------------------------------------------------------


async def on_standard_changed(uow: UnitOfWork, data: StandardChanged) -> StandardRecompute | None:
    """`policy.standard_changed.v1`: queue the recompute of the cases the value affects (the worker's
    `recompute_runner` runs it chunk by chunk, each committed with its progress, `GET /recomputes/{id}`); a
    replayed event queues nothing more. Back-pay counts the months up to last month, as of now."""
    params = await effective_parameters(uow, fresh=True)  # the API that added the value may be another process
    if not any(v.start == data.start for v in params.history(data.key, data.region)):
        log.warning(
            "standard change %s %s from %s is not among the parameters; nothing recomputed",
            data.region,
            data.key,
            data.start,
        )
        return None
    row = StandardRecompute(
        id=recompute_id(data.region, data.key, data.start),
        region=data.region,
        scope=_prefix(data.region),
        key=data.key,
        start=data.start,
        reference=data.reference,
        correlation_id=current_correlation.get(),
        status="queued",
        paid_through=Period.of(china_today()).plus(-1).first_day,
    )
    if not await RecomputeRepository(uow.session).queue(row):
        return None
    log.info("standard change %s %s from %s: recompute queued", data.region, data.key, data.start)
    return row


def _covering(scope: str) -> list[str]:
    """The value regions whose recomputes reach a caller in `scope`: national and each larger code of its own."""
    return ["national", *(scope[:n] for n in (2, 4, 6) if len(scope) >= n)]


def _visible(principal: Principal, row: StandardRecompute) -> bool:
    return row.region in _covering(principal.region) or _prefix(row.region).startswith(principal.region)


def _out(principal: Principal, row: StandardRecompute) -> RecomputeOut:
    """A recompute as the caller sees it: every count, and the townships within its own region only."""
    # Per township: a caller within a township (a village's) sees none, its figures counting other villages.
    mine = {code: figures for code, figures in row.townships.items() if code.startswith(principal.region)}
    total, townships = township_rows(mine)
    return RecomputeOut.model_validate(
        {
            **attributes(row, RecomputeOut),
            "progress": {"done": row.cases_examined, "total": row.cases_total},
            "total": total,
            "townships": townships,
        }
    )


async def get_recompute(uow: UnitOfWork, principal: Principal, recompute_id: uuid.UUID) -> RecomputeOut:
    row = await RecomputeRepository(uow.session).get(recompute_id)
    if row is None or not _visible(principal, row):
        raise NotFound(f"recompute {recompute_id} not found")
    return _out(principal, row)


async def list_recomputes(uow: UnitOfWork, principal: Principal, query: RecomputeQuery) -> RecomputePage:
    page = await RecomputeRepository(uow.session).page(
        _covering(principal.region), principal.region, query, query.key, query.start
    )
    return RecomputePage(items=[_out(principal, r) for r in page.rows], next=page.next, total=page.total)


def _scope(principal: Principal, region: str) -> str:
    """The cases a caller's what-if counts: the change's region, narrowed to the caller's own."""
    prefix = "" if region == NATIONAL else region
    if principal.covers(prefix):
        return prefix
    if principal.region.startswith(prefix):
        return principal.region
    message = f"{region} is outside your region {principal.region}"
    raise Forbidden(message, errors=[{"field": "region", "message": message}])


async def _balances(
    impact: Impact, held: HeldLookup, start: Period, through: Period
) -> dict[uuid.UUID, list[MonthBalanceOut]]:
    """Per case, its persons' months the value changes up to `through`, settled against what payments holds for
    them: the next batch pays owed − held where positive (as a 提标补发 or regular batch computes it); held − owed
    beyond is recorded to recover."""
    owed = {r.case_id: r.owed_after(through) for r in impact.cases}
    persons = sorted({r.person(m) for r in impact.cases for m, _ in owed[r.case_id]})
    money = await held(persons, start, through) if persons and start <= through else {}
    out: dict[uuid.UUID, list[MonthBalanceOut]] = {}
    for r in impact.cases:
        rows = []
        for (member, month), fen in sorted(owed[r.case_id].items(), key=lambda x: (str(x[0][0]), x[0][1])):
            h = money.get(r.person(member), {}).get(month, 0)
            rows.append(
                MonthBalanceOut(
                    member_id=member,
                    period=month,
                    owed_fen=fen,
                    held_fen=h,
                    balance_fen=max(fen - h, 0),
                    overpaid_fen=max(h - fen, 0),
                )
            )
        out[r.case_id] = rows
    return out


async def what_if(uow: UnitOfWork, principal: Principal, body: WhatIfIn, held: HeldLookup | None = None) -> WhatIfOut:
    """试算: what a proposed dated value would change, per township, without changing anything; with `held` (what
    payments holds for persons' months), the balances the next batch would pay."""
    if body.key not in SCHEMA:
        raise InvalidInput("key", "unknown parameter key")
    if body.region != NATIONAL and not RegionTable.load().is_known(body.region):
        raise InvalidInput("region", "unknown GB/T 2260 code")
    scope = _scope(principal, body.region)
    if await ParameterOverrideRepository(uow.session).exists(body.region, body.key, body.start):
        raise Conflict(f"{body.key} already has a value from {body.start} for {body.region}")
    try:
        params = (await effective_parameters(uow)).with_value(
            body.region, body.key, body.start, body.value, body.reference
        )
    except ParameterError as exc:
        raise InvalidInput("value", str(exc)) from exc
    today = china_today()
    paid_through = body.paid_through or Period.of(today).plus(-1)
    change = ValueChange(body.region, body.key, body.start, body.reference)
    impact = await recompute(uow, params, change, paid_through=paid_through, today=today, scope=scope, keep_cases=True)
    total, townships = impact.rows()
    balances = await _balances(impact, held, Period.of(body.start), paid_through) if held is not None else None
    await audit.record(
        uow,
        principal,
        "parameter.what_if",
        "parameter",
        f"{body.region}:{body.key}:{body.start}",
        region_code=scope or None,
        reason=body.reference,
        details={"cases": impact.changed, "back_pay_fen": total.back_pay_fen},
    )
    return WhatIfOut.model_validate(
        {
            **attributes(body, WhatIfOut),
            **impact.counts(),
            "paid_through": paid_through,
            "total": total,
            "townships": townships,
            "cases": [
                CaseImpactOut(
                    case_id=r.case_id,
                    household_id=r.household_id,
                    township=r.region_code[:9],
                    owed_change_fen=r.owed_change_fen(paid_through),
                    months=[d.to_json() for d in r.changes],
                    balances=balances[r.case_id] if balances is not None else None,
                )
                for r in impact.cases
            ],
            "balances_from_payments": balances is not None,
            "next_batch_fen": sum(b.balance_fen for bs in balances.values() for b in bs) if balances else None,
            "overpaid_fen": sum(b.overpaid_fen for bs in balances.values() for b in bs) if balances else None,
        }
    )
