"""提标重算: recompute the monthly amounts a changed policy value affects, the same way for real and as a dry run.

A standard can be decided after the date it takes effect (domain.md: 450/330 → 490/370 from 1 July, decided in
September). Each case on the roll whose rule read the changed key (its stored trace, 计算依据) is assessed again
with the programme's pure rule on its own facts, from the new value's start (or the case's first month, if later)
and at every later value of the same key already decided. A case whose amount changes gets one `CaseAmountChanged`
per change, whose `effective_month` may be in the past; payments back-pays the months already paid. A case whose
amount does not change gets nothing, so replaying the event changes nothing.

Set-wise: the affected cases' ids are found in one scan, then the cases are read in chunks by id, assessed in
memory, and each chunk is written with one UPDATE … FROM unnest(…), one multi-row insert into the outbox, one into
case steps and one into the audit log. The what-if (`POST /parameters/what-if`) runs the same code with the
proposed value laid over the parameters and writes nothing, so its figures are what the real recompute then does.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

import orjson

from services.eligibility.cases.domain import CaseAssessment, RecomputedFor
from services.eligibility.cases.repository import stored_application
from services.eligibility.policy import ApplicationFacts, Assessment, ParameterError, ParameterSet, assess
from services.eligibility.policy.parameters import NATIONAL, SCHEMA
from services.eligibility.policy_admin.in_force import effective_parameters
from services.eligibility.policy_admin.repository import ParameterOverrideRepository
from services.eligibility.recompute.repository import RecomputeRepository, RollRow
from services.eligibility.recompute.schemas import TownshipImpactOut, WhatIfIn, WhatIfOut
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events.catalogue import CaseAmountChanged, StandardChanged
from shared.household import HouseholdSnapshot
from shared.period import Period
from shared.regions import RegionTable
from shared.schemas import attributes
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
SYSTEM = "eligibility"
CHUNK_SIZE = 2000
_NO_FACTS = ApplicationFacts()


@dataclass(frozen=True)
class ValueChange:
    """A dated value of one parameter key for a region ('national' or a 2/4/6-digit code)."""

    region: str
    key: str
    start: date
    reference: str


@dataclass(frozen=True)
class Segment:
    """From `month` on, the case's monthly amount is `monthly_amount_fen`."""

    month: Period
    monthly_amount_fen: int


@dataclass(frozen=True)
class Recomputed:
    """One case's recompute: the changes of its amount (none = unchanged) and the last assessment."""

    row: RollRow
    segments: tuple[Segment, ...]
    assessment: Assessment
    assessed_on: date

    @property
    def monthly_amount_fen(self) -> int:
        return self.segments[-1].monthly_amount_fen if self.segments else self.row.monthly_amount_fen

    @property
    def persons(self) -> int:
        return len(self.assessment.covered_member_ids)

    def back_pay_fen(self, paid_through: Period) -> int:
        """What the months up to `paid_through`, paid at the old amount, are owed (never negative per month:
        an over-payment is not recovered by a recompute)."""
        total = 0
        for i, segment in enumerate(self.segments):
            last = self.segments[i + 1].month.plus(-1) if i + 1 < len(self.segments) else paid_through
            months = segment.month.months_until(min(last, paid_through)) + 1
            total += max(0, segment.monthly_amount_fen - self.row.monthly_amount_fen) * max(0, months)
        return total


def evaluation_dates(params: ParameterSet, change: ValueChange, today: date) -> list[date]:
    """The new value's start and the start of every later value of the key for the region already decided."""
    later = [v.start for v in params.history(change.key, change.region) if change.start < v.start <= today]
    return sorted({change.start, *later})


def _facts(programme: str, details: str) -> ApplicationFacts:
    """The facts the case's own rule read (applicant, recognitions, request), as the case's repository maps them."""
    if details in ("{}", "null"):
        return _NO_FACTS
    return ApplicationFacts.of_application(*stored_application(programme, orjson.loads(details)))


def recompute_case(row: RollRow, params: ParameterSet, dates: list[date]) -> Recomputed | None:
    """Pure: the case's amounts at each date from its first month on; None when the rule no longer finds it
    eligible or cannot run (a review decides that, not a standard change)."""
    first = row.effective_month or dates[0]
    snapshot = HouseholdSnapshot.model_validate_json(row.snapshot)
    facts = _facts(row.programme, row.details)
    segments: list[Segment] = []
    amount = row.monthly_amount_fen
    result: Assessment | None = None
    on = first
    for on in sorted({max(d, first) for d in dates}):
        try:
            result = assess(row.programme, snapshot, on, row.region_code, params, facts)
        # Missing facts, no value for the region or date, or a proposed value the rule cannot work with (a
        # what-if may try anything the parameter schema accepts): the case is left to a review.
        except (ValueError, KeyError, LookupError, ArithmeticError, TypeError):
            return None
        if not result.eligible or result.monthly_amount_fen is None:
            return None
        if result.monthly_amount_fen != amount:
            amount = result.monthly_amount_fen
            segments.append(Segment(Period.of(on), amount))
    assert result is not None
    return Recomputed(row, tuple(segments), result, on)


@dataclass
class _Township:
    households: set[uuid.UUID] = field(default_factory=set)
    persons: int = 0
    monthly_before_fen: int = 0
    monthly_after_fen: int = 0
    back_pay_fen: int = 0


@dataclass
class Impact:
    """What a recompute changes, per township (乡镇: the first 9 digits of the case's region code)."""

    paid_through: Period
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    needs_review: int = 0
    townships: dict[str, _Township] = field(default_factory=dict)

    def add(self, r: Recomputed) -> None:
        self.changed += 1
        t = self.townships.setdefault(r.row.region_code[:9], _Township())
        t.households.add(r.row.household_id)
        t.persons += r.persons
        t.monthly_before_fen += r.row.monthly_amount_fen
        t.monthly_after_fen += r.monthly_amount_fen
        t.back_pay_fen += r.back_pay_fen(self.paid_through)

    def counts(self) -> dict[str, int]:
        """The case counts as the API answers them."""
        return {
            "cases_examined": self.examined,
            "cases_changed": self.changed,
            "cases_unchanged": self.unchanged,
            "cases_needing_review": self.needs_review,
        }

    def rows(self) -> tuple[TownshipImpactOut, list[TownshipImpactOut]]:
        """(total, per township) as the API answers them."""
        regions = RegionTable.load()

        def out(code: str, name: str | None, ts: list[_Township]) -> TownshipImpactOut:
            before, after = sum(t.monthly_before_fen for t in ts), sum(t.monthly_after_fen for t in ts)
            return TownshipImpactOut(
                township=code,
                name=name,
                households=len(set().union(*(t.households for t in ts))),
                persons=sum(t.persons for t in ts),
                monthly_before_fen=before,
                monthly_after_fen=after,
                monthly_increase_fen=after - before,
                back_pay_fen=sum(t.back_pay_fen for t in ts),
            )

        def name(code: str) -> str | None:
            try:
                return regions.name(code)
            except (LookupError, ValueError):
                return None

        per = [out(code, name(code), [t]) for code, t in sorted(self.townships.items())]
        return out("total", None, list(self.townships.values())), per


async def recompute(
    uow: UnitOfWork,
    params: ParameterSet,
    change: ValueChange,
    *,
    apply: bool,
    paid_through: Period,
    today: date,
    scope: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Impact:
    """Recompute every approved case under `scope` (default: the change's region) whose rule read the key.
    With `apply`, write the new amounts and emit the events; without, only count (the what-if)."""
    repo = RecomputeRepository(uow.session, uow.tables)
    prefix = scope if scope is not None else ("" if change.region == NATIONAL else change.region)
    dates = evaluation_dates(params, change, today)
    impact = Impact(paid_through)
    ids, started = await repo.affected(prefix, change.key), time.monotonic()
    for at in range(0, len(ids), chunk_size):
        rows = await repo.roll_chunk(ids[at : at + chunk_size])
        changed: list[Recomputed] = []
        for row in rows:
            result = recompute_case(row, params, dates)
            if result is None:
                impact.needs_review += 1
            elif result.segments:
                changed.append(result)
            else:
                impact.unchanged += 1
        impact.examined += len(rows)
        if apply and changed:
            applied = await repo.apply(
                [
                    (r.row.id, r.row.monthly_amount_fen, r.monthly_amount_fen, _assessment_json(r, change))
                    for r in changed
                ]
            )
            if len(applied) < len(changed):
                log.warning(
                    "recompute %s: %d cases changed meanwhile, left to their own review",
                    change.key,
                    len(changed) - len(applied),
                )
            changed = [r for r in changed if r.row.id in applied]
            await _announce(uow, repo, changed, change, today)
        for r in changed:
            impact.add(r)
        log.info(
            "recompute %s %s from %s%s: %d of %d cases examined, %d changed (%.0f cases/s)",
            change.region,
            change.key,
            change.start,
            "" if apply else " (what-if)",
            impact.examined,
            len(ids),
            impact.changed,
            impact.examined / max(time.monotonic() - started, 1e-6),
        )
    return impact


def _assessment_json(r: Recomputed, change: ValueChange) -> str:
    """The assessment as a case keeps it (the same model the case's repository reads back)."""
    return CaseAssessment.of(
        r.assessment, r.assessed_on, RecomputedFor(region=change.region, key=change.key, start=change.start)
    ).model_dump_json()


async def _announce(
    uow: UnitOfWork, repo: RecomputeRepository, changed: list[Recomputed], change: ValueChange, today: date
) -> None:
    """Events, case steps and audit rows of one chunk, each written as one multi-row insert."""
    steps, audits = [], []
    for r in changed:
        row, previous = r.row, r.row.monthly_amount_fen
        for segment in r.segments:
            uow.emit(
                CaseAmountChanged(
                    case_id=row.id,
                    household_id=row.household_id,
                    programme=row.programme,  # type: ignore[arg-type]
                    region_code=row.region_code,
                    previous_monthly_amount_fen=previous,
                    monthly_amount_fen=segment.monthly_amount_fen,
                    effective_month=segment.month,
                ),
                key=row.household_id,
                region=row.region_code,
            )
            previous = segment.monthly_amount_fen
        data = {
            "key": change.key,
            "region": change.region,
            "start": str(change.start),
            "previous_monthly_amount_fen": row.monthly_amount_fen,
            "changes": [{"month": str(s.month), "monthly_amount_fen": s.monthly_amount_fen} for s in r.segments],
        }
        steps.append(
            {
                "case_id": row.id,
                "step": "standard_recompute",
                "from_status": "approved",
                "to_status": "approved",
                "actor": SYSTEM,
                "roles": ["system"],
                "on": today,
                "opinion": change.reference,
                "data": data,
            }
        )
        audits.append(
            {
                "actor": SYSTEM,
                "roles": ["system"],
                "action": "case.standard_recompute",
                "resource_type": "case",
                "resource_id": str(row.id),
                "household_id": row.household_id,
                "region_code": row.region_code,
                "reason": change.reference,
                "details": data,
            }
        )
    await repo.record(steps, audits)
    await uow.flush_events()


# --- the event handler and the what-if -----------------------------------------------------------------------


async def on_standard_changed(uow: UnitOfWork, data: StandardChanged) -> Impact | None:
    """`policy.standard_changed.v1`: recompute the cases the value affects, in the consumer's transaction (so
    the inbox row and every change commit together)."""
    params = await effective_parameters(uow, fresh=True)  # the API that added the value may be another process
    if not any(v.start == data.start for v in params.history(data.key, data.region)):
        log.warning(
            "standard change %s %s from %s is not among the parameters; nothing recomputed",
            data.region,
            data.key,
            data.start,
        )
        return None
    today = date.today()
    change = ValueChange(data.region, data.key, data.start, data.reference)
    impact = await recompute(uow, params, change, apply=True, paid_through=Period.of(today).plus(-1), today=today)
    total, _ = impact.rows()
    log.info(
        "standard change %s %s from %s: %d cases examined, %d changed (%d households, %d persons), "
        "%d unchanged, %d need a review; monthly +%d fen, back-pay %d fen",
        data.region,
        data.key,
        data.start,
        impact.examined,
        impact.changed,
        total.households,
        total.persons,
        impact.unchanged,
        impact.needs_review,
        total.monthly_increase_fen,
        total.back_pay_fen,
    )
    return impact


def _scope(principal: Principal, region: str) -> str:
    """The cases a caller's what-if counts: the change's region, narrowed to the caller's own."""
    prefix = "" if region == NATIONAL else region
    if principal.covers(prefix):
        return prefix
    if principal.region.startswith(prefix):
        return principal.region
    message = f"{region} is outside your region {principal.region}"
    raise Forbidden(message, errors=[{"field": "region", "message": message}])


async def what_if(uow: UnitOfWork, principal: Principal, body: WhatIfIn) -> WhatIfOut:
    """试算: what a proposed dated value would change, per township, without changing anything."""
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
    today = date.today()
    paid_through = body.paid_through or Period.of(today).plus(-1)
    change = ValueChange(body.region, body.key, body.start, body.reference)
    impact = await recompute(uow, params, change, apply=False, paid_through=paid_through, today=today, scope=scope)
    total, townships = impact.rows()
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
        }
    )
