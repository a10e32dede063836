"""Keeping the beneficiary roll (保障名册) and its entitlement history from eligibility's decisions, the one-off
awards (临时救助 / 医疗救助) to pay, and the payees (收款账户) intake announces sealed.

Handlers are idempotent (a replayed event changes nothing) and an event that needs no effect here — an amount change
or an end for a case that never was on the roll, like a one-off case — is acknowledged without effect, never sent to
the DLQ."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from services.payments.models import HOUSEHOLD, Beneficiary, Entitlement, Owed
from services.payments.recovery import service as recovery
from services.payments.roll import domain
from services.payments.roll.repository import (
    AwardRepository,
    BeneficiaryRepository,
    OwedRepository,
    PaidElsewhereRepository,
    PayeeRepository,
)
from services.payments.roll.schemas import BeneficiaryOut, BeneficiaryPage, BeneficiaryQuery, EntitlementOut
from shared import audit
from shared.auth import Principal
from shared.consumer import Delivery
from shared.core.period import Period, china_day, china_today
from shared.events.catalogue import (
    ONE_OFF,
    PERSON_LEVEL,
    BeneficiaryEnrolled,
    CaseAmountChanged,
    CaseApproved,
    CaseScheduleChanged,
    CaseTerminated,
    GradualExitStarted,
)
from shared.events.envelope import CloudEvent
from shared.pagination import Rows, narrowed
from shared.schemas import attributes
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


Decision = CaseApproved | CaseAmountChanged | GradualExitStarted | CaseTerminated


async def apply_decisions(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A run of eligibility's decisions, set-based: one locking read of the beneficiaries concerned (with their rows in
    force) and one query for the decisions already applied; the changes in memory in event order (the roll's
    `RollRun`); then each kind of write in one statement, audit records in one per action, and each event raised
    carrying its own cause's correlation id. Same effects, idempotence and per-household order as one by one."""
    if not deliveries:
        return
    repo = BeneficiaryRepository(uow.session)
    run = domain.RollRun(
        await repo.roll_for_update({d.data.case_id for d in deliveries}),
        await repo.decisions_applied([d.event.id for d in deliveries]),
    )
    scheduled = await OwedRepository(uow.session).scheduled({d.data.case_id for d in deliveries})
    audits: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    awards: list[tuple[Delivery, dict[str, Any]]] = []
    owed: list[domain.ScheduleChange] = []
    elsewhere: list[tuple[Delivery, dict[str, Any]]] = []

    def owes(
        entry: domain.RollEntry,
        d: Delivery,
        changed_from: Period,
        reason: str,
        paid: Sequence[domain.PaidElsewhere] = (),
    ) -> None:
        """Transitional: a case eligibility sends no schedule for yet owes what its decisions derive, as before. A
        person-level case imported with months the old system paid (`paid`) owes each person what was paid them,
        keyed by the person as those months are (and as its schedule, right behind, keys it): keyed by the case,
        each month paid elsewhere looked overpaid whole until the schedule came (多发 recorded, then closed)."""
        if entry.case_id in scheduled:
            return
        if paid and entry.programme in PERSON_LEVEL:
            segments = domain.owed_as_paid(paid)
        else:
            member = entry.case_id if entry.programme in PERSON_LEVEL else HOUSEHOLD
            segments = domain.owed_from(entry, member, changed_from)
        owed.append(
            domain.ScheduleChange(
                d.event.id,
                entry.case_id,
                entry.household_id,
                entry.programme,
                entry.region_code,
                changed_from,
                segments,
                reason,
            )
        )

    def audited(
        action: str,
        resource_type: str,
        d: Delivery,
        resource_id: object,
        household_id: uuid.UUID,
        region_code: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        audits[(action, resource_type)].append(
            {
                "resource_id": resource_id,
                "household_id": household_id,
                "region_code": region_code,
                "correlation_id": d.event.correlationid,
                "details": details,
            }
        )

    for d in deliveries:
        data: Decision = d.data
        match data:
            case CaseApproved() if data.monthly_amount_fen is None:
                if data.one_off_amount_fen:
                    awards.append((d, _award_row(d.event, data)))
            case CaseApproved():
                if data.case_id in run.entries:
                    continue  # once per case
                # The decision's case, household, programme, region, amount (and 特困's arrangement) by name.
                entry = domain.RollEntry(
                    id=uuid.uuid4(),
                    **attributes(data, domain.RollEntry),
                    persons=max(len(data.member_ids), 1),
                    start_month=data.effective_month,
                )
                run.enroll(entry, d.event.id, data.effective_month)
                # 存量对象导入: the months the old system paid count as paid (the balance pays only beyond them).
                paid_elsewhere = domain.paid_elsewhere(
                    data.programme in PERSON_LEVEL,
                    data.member_ids,
                    HOUSEHOLD,
                    data.monthly_amount_fen,
                    data.effective_month,
                    data.paid_elsewhere_through,
                )
                owes(entry, d, data.effective_month, "approval", paid_elsewhere)
                elsewhere += [(d, _paid_elsewhere_row(d.event, data, paid)) for paid in paid_elsewhere]
                uow.emit(
                    BeneficiaryEnrolled(beneficiary_id=entry.id, **attributes(entry, BeneficiaryEnrolled)),
                    key=data.household_id,
                    region=data.region_code,
                    cause=d.event,
                )
                audited("beneficiary.enroll", "beneficiary", d, entry.id, data.household_id, data.region_code)
            case _ if (entry := run.on_roll(data.case_id, d.event.id)) is None:
                log.info(
                    "%s for case %s: not on the roll or already applied, nothing to change", d.event.type, data.case_id
                )
            case CaseAmountChanged():
                run.change_amount(entry, d.event.id, data.effective_month, data.monthly_amount_fen)
                owes(entry, d, data.effective_month, "review")
                audited(
                    "beneficiary.amount_change",
                    "beneficiary",
                    d,
                    entry.id,
                    entry.household_id,
                    entry.region_code,
                    {
                        "from": data.previous_monthly_amount_fen,
                        "to": data.monthly_amount_fen,
                        "effective_month": str(data.effective_month),
                    },
                )
            case GradualExitStarted() | CaseTerminated():
                reason = data.reason if isinstance(data, CaseTerminated) else None
                run.end(entry, d.event.id, data.last_month, reason)
                owes(entry, d, data.last_month.next(), reason or "gradual_exit")
                audited(
                    f"beneficiary.{entry.status}",
                    "beneficiary",
                    d,
                    entry.id,
                    entry.household_id,
                    entry.region_code,
                    {"last_month": str(data.last_month), "reason": reason or "gradual_exit"},
                )
    new = [e for e in run.entries.values() if e.new]
    await repo.write_run(new, [run.entries[c] for c in sorted(run.changed)], run.superseded, run.added)
    if new:
        log.info("%d beneficiaries enrolled", len(new))
    if await PaidElsewhereRepository(uow.session).add_many_once([row for _, row in elsewhere]):
        for d, row in elsewhere:
            audited(
                "paid_elsewhere.record",
                "household",
                d,
                row["household_id"],
                row["household_id"],
                row["region_code"],
                {
                    "case_id": str(row["case_id"]),
                    "programme": row["programme"],
                    "from_month": str(Period.of(row["from_month"])),
                    "through_month": str(Period.of(row["through_month"])),
                    "amount_fen": row["amount_fen"],
                },
            )
    recorded = await AwardRepository(uow.session).add_many_once([row for _, row in _first_per_case(awards)])
    for d, row in _first_per_case(awards):
        if row["case_id"] in recorded:
            audited(
                "award.record",
                "one_off_award",
                d,
                row["case_id"],
                row["household_id"],
                row["region_code"],
                {"amount_fen": row["amount_fen"], "programme": row["programme"]},
            )
    for (action, resource_type), entries in audits.items():
        await audit.record(uow, "payments", action, resource_type, entries)
    await _owe(uow, owed)


async def schedules_changed(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A run of `case.schedule_changed`: what each person is owed from each change's month on, set-based (one locking
    read of the households' rows in force, the changes in memory in event order, one write of each kind). From its
    first schedule on, a case's approval and amount events no longer set what it owes."""
    if not deliveries:
        return
    changes = []
    firsts: dict[uuid.UUID, uuid.UUID] = {}
    for d in deliveries:
        data: CaseScheduleChanged = d.data
        if data.programme in ONE_OFF:
            log.info("schedule of one-off case %s: paid as its award, nothing owed monthly", data.case_id)
            continue
        firsts.setdefault(data.case_id, d.event.id)
        changes.append(
            domain.ScheduleChange(
                d.event.id,
                data.case_id,
                data.household_id,
                data.programme,
                data.region_code,
                data.changed_from,
                [
                    domain.OwedSegment(
                        s.member_id or HOUSEHOLD, s.from_month, s.to_month, s.amount_fen, max(s.persons, 1)
                    )
                    for s in data.segments
                ],
                data.reason,
            )
        )
    await OwedRepository(uow.session).mark_scheduled(firsts)
    await _owe(uow, changes)
    # The roll shows the persons paid for with the amount it shows: the latest the schedule moves to.
    this_month = Period.of(china_today())
    persons = {
        c.case_id: n for c in changes if (n := c.latest_persons(this_month, c.programme in PERSON_LEVEL)) is not None
    }
    await BeneficiaryRepository(uow.session).set_persons(persons)
    await audit.record(
        uow,
        "payments",
        "owed.change",
        "household",
        [
            {
                "resource_id": d.data.household_id,
                "household_id": d.data.household_id,
                "region_code": d.data.region_code,
                "correlation_id": d.event.correlationid,
                "details": {
                    "case_id": str(d.data.case_id),
                    "programme": d.data.programme,
                    "changed_from": str(d.data.changed_from),
                    "segments": len(d.data.segments),
                    "reason": d.data.reason,
                },
            }
            for d in deliveries
        ],
    )


async def _owe(uow: UnitOfWork, changes: list[domain.ScheduleChange]) -> None:
    """Apply what a run changes in what people are owed, then let the batches not yet at the bank follow it and record
    what the bank already paid beyond it (多发)."""
    if not changes:
        return
    repo = OwedRepository(uow.session)
    run = domain.OwedRun(
        await repo.in_force_for_update({c.household_id for c in changes}),
        await repo.applied([c.event_id for c in changes]),
    )
    for change in changes:
        run.apply(change)
    await repo.write(run.superseded, run.added)
    await recovery.follow(uow, list(run.changed.values()))


def _award_row(event: CloudEvent, data: CaseApproved) -> dict[str, Any]:
    """一次性救助: paid once, in the next batch of its region (or an urgent batch the same day)."""
    return {
        "id": uuid.uuid4(),
        "case_id": data.case_id,
        "household_id": data.household_id,
        "programme": data.programme,
        "region_code": data.region_code,
        "amount_fen": data.one_off_amount_fen,
        "persons": max(len(data.member_ids), 1),
        "approved_month": Period.of(china_day(data.decided_at)).first_day,
        "event_id": event.id,
    }


def _paid_elsewhere_row(event: CloudEvent, data: CaseApproved, paid: domain.PaidElsewhere) -> dict[str, Any]:
    return {
        "household_id": data.household_id,
        "programme": data.programme,
        "member_id": paid.member_id,
        "region_code": data.region_code,
        "case_id": data.case_id,
        "from_month": paid.from_month.first_day,
        "through_month": paid.through_month.first_day,
        "amount_fen": paid.amount_fen,
        "event_id": event.id,
    }


def _first_per_case(awards: list[tuple[Delivery, dict[str, Any]]]) -> list[tuple[Delivery, dict[str, Any]]]:
    seen: set[uuid.UUID] = set()
    return [(d, row) for d, row in awards if not (row["case_id"] in seen or seen.add(row["case_id"]))]


async def payees_changed(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> None:
    """A run of payee changes: stored sealed as they came, each household's latest one current, in a few
    statements; used by batches created from now on."""
    await PayeeRepository(uow.session).record_many(
        [
            {
                "household_id": d.data.household_id,
                "key_id": d.data.key_id,
                "sealed": d.data.sealed,
                "account_last4": d.data.account_last4,
                "changed_at": d.data.changed_at,
                "event_id": d.event.id,
            }
            for d in deliveries
        ]
    )
    await audit.record(
        uow,
        "payments",
        "payee.change",
        "payee",
        [
            {
                "resource_id": d.data.household_id,
                "household_id": d.data.household_id,
                "region_code": d.data.region_code,
                "correlation_id": d.event.correlationid,
                "details": {"account_last4": d.data.account_last4},
            }
            for d in deliveries
        ],
    )


async def roll_in_region(uow: UnitOfWork, principal: Principal, query: BeneficiaryQuery) -> BeneficiaryPage:
    prefix = narrowed(principal.region, query.region)
    page = await BeneficiaryRepository(uow.session).page(prefix, query) if prefix is not None else Rows([], None, 0)
    # Each beneficiary shown is a read of its household's data.
    await audit.record(uow, principal, "beneficiary.list", "beneficiary", page.rows)
    return BeneficiaryPage(items=[to_out(b) for b in page.rows], next=page.next, total=page.total)


async def entitlement_history(uow: UnitOfWork, principal: Principal, beneficiary_id: uuid.UUID) -> list[EntitlementOut]:
    """What the beneficiary's case set as owed, month by month, superseded rows included: the rows every batch pays
    from, so the history an officer reads agrees with the lines (a 提标 re-prices a 渐退 or stopped case's months
    without an amount decision)."""
    repo = BeneficiaryRepository(uow.session)
    b = principal.sees(await repo.get(beneficiary_id), f"beneficiary {beneficiary_id}")
    await audit.record(uow, principal, "beneficiary.entitlements", "beneficiary", b)
    owed = await OwedRepository(uow.session).set_by_case(b.case_id)
    if owed:
        return [_entitlement(b, r, r.member_id, r.amount_fen, r.persons, r.reason) for r in owed]
    # Decided before payments kept what is owed, every row superseded by then: the back-fill of `owed` (migration
    # 0008_payments_balance) carried none over, so the decisions' rows are all the history there is.
    return [
        _entitlement(b, e, HOUSEHOLD, e.monthly_amount_fen, b.persons, e.event_type) for e in await repo.history(b.id)
    ]


def to_out(b: Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut.model_validate(b, from_attributes=True)


def _entitlement(
    b: Beneficiary, row: Owed | Entitlement, member_id: uuid.UUID, fen: int, persons: int, reason: str
) -> EntitlementOut:
    return EntitlementOut(
        from_month=Period.of(row.from_month),
        to_month=Period.of(row.to_month) if row.to_month else None,
        monthly_amount_fen=fen,
        event_id=row.event_id,
        event_type=reason,  # deprecated: kept for the clients that read it
        in_force=row.superseded_by is None,
        superseded_by=row.superseded_by,
        # Before its schedule a person-level case was owed as a whole, keyed by its case id: no one person's.
        member_id=None if member_id in (HOUSEHOLD, b.case_id) else member_id,
        persons=persons,
        reason=reason,
    )
