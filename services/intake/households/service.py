"""Households and members: registering, reading, searching and changing them, and building the snapshot that
travels in intake's events. Every read and write of personal data leaves an audit record."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Unpack

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from services.intake.config import Settings
from services.intake.households.repository import HouseholdRepository, add_new
from services.intake.households.schemas import (
    BankAccountIn,
    BankAccountOut,
    EconomicFactsIn,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    HouseholdQuery,
    HouseholdSummary,
    HouseholdUpdate,
    MemberFactsIn,
    MemberIn,
    MemberOut,
    MemberUpdate,
)
from services.intake.models import Household, Member
from services.intake.regions.service import check_village_code
from services.intake.regions.table import region_table
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import HouseholdRegistered, HouseholdUpdated, MemberIdentity, PayeeChanged
from shared.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.identity import id_fingerprint, mask_resident_id, parse_resident_id
from shared.pagination import narrowed
from shared.schemas import attributes
from shared.uow import UnitOfWork

_PERSON_FIELDS = {"name", "id_number", "relation"}


async def _validate_region(uow: UnitOfWork, code: str, principal: Principal, settings: Settings) -> None:
    await check_village_code(uow, settings, code)
    ensure_writable(principal, code)


def ensure_writable(principal: Principal, region_code: str) -> None:
    """Clerks write only within their own township (a county-wide clerk token is not enough)."""
    if not principal.covers(region_code) or (not principal.has_any("admin") and len(principal.region) < 9):
        raise Forbidden("clerks register and apply only within their own township")


def _check_member_facts(facts: dict[str, Any], field: str) -> dict[str, Any]:
    """Rules across fields of one member; returns the facts to store."""
    if not facts.get("counted", True):
        if not facts.get("not_counted_reason"):
            raise InvalidInput(f"{field}.not_counted_reason", "say why this person does not count as a 共同生活 member")
    else:
        facts["not_counted_reason"] = None  # a reason only means something for someone not counted
    if (facts.get("disability_grade") is None) != (facts.get("disability_category") is None):
        missing = "disability_category" if facts.get("disability_category") is None else "disability_grade"
        raise InvalidInput(f"{field}.{missing}", "disability category and grade go together")
    return facts


def _fingerprint(number: str, settings: Settings) -> str:
    return id_fingerprint(number, settings.pii_hmac_key.encode())


def _new_member(household_id: uuid.UUID, m: MemberIn, fingerprint: str, field: str) -> Member:
    rid = parse_resident_id(m.id_number)
    facts = _check_member_facts(m.model_dump(exclude=_PERSON_FIELDS, mode="json"), field)
    return Member(
        id=uuid.uuid4(),
        household_id=household_id,
        name=m.name,
        id_number=rid.number,
        id_fingerprint=fingerprint,
        birth_date=rid.birth_date,
        sex=rid.sex,
        relation=m.relation,
        facts=facts,
    )


def _set_bank_account(household: Household, account: BankAccountIn | None) -> None:
    household.bank_name = account.bank_name if account else None
    household.bank_account_holder = account.account_holder if account else None
    household.bank_account_number = account.account_number if account else None


def _emit_payee(uow: UnitOfWork, household: Household, settings: Settings) -> None:
    """收款账户 to payments: the account sealed (AES-GCM, associated data = the household id), never in clear."""
    key_id = sealed = last4 = None
    if household.bank_account_number:
        plain = json.dumps(
            {
                "bank_name": household.bank_name,
                "account_holder": household.bank_account_holder,
                "account_number": household.bank_account_number,
            },
            ensure_ascii=False,
        ).encode()
        key_id, sealed = settings.keyring().seal(plain, str(household.id).encode())
        last4 = household.bank_account_number[-4:]
    uow.emit(
        PayeeChanged(
            household_id=household.id,
            region_code=household.region_code,
            key_id=key_id,
            sealed=sealed,
            account_last4=last4,
            changed_at=datetime.now(UTC),
        ),
        key=household.id,
        region=household.region_code,
    )


def _member_taken(field: str) -> Conflict:
    return Conflict(
        "a member already belongs to another active household",
        errors=[{"field": field, "message": "already in another active household"}],
    )


async def _flush_members(uow: UnitOfWork, field: str) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same person won the unique index
        raise _member_taken(field) from exc


async def register(uow: UnitOfWork, principal: Principal, body: HouseholdIn, settings: Settings) -> HouseholdOut:
    await _validate_region(uow, body.region_code, principal, settings)
    repo = HouseholdRepository(uow.session)
    numbers = [m.id_number for m in body.members]
    for i, number in enumerate(numbers):
        if numbers.index(number) != i:
            raise InvalidInput(f"members[{i}].id_number", "the same person is listed twice")
    fingerprints = [_fingerprint(n, settings) for n in numbers]
    taken = await repo.active_fingerprints(fingerprints)
    for i, fp in enumerate(fingerprints):
        if fp in taken:
            raise Conflict(
                f"members[{i}].id_number already belongs to another active household",
                errors=[{"field": f"members[{i}].id_number", "message": "already in another active household"}],
            )
    for i, income in enumerate(body.incomes):
        if income.earner is not None and income.earner >= len(body.members):
            raise InvalidInput(f"incomes[{i}].earner", "no member at this index")

    household = Household(
        id=uuid.uuid4(), region_code=body.region_code, hukou_type=body.hukou_type, address=body.address
    )
    _set_bank_account(household, body.bank_account)
    members = [
        _new_member(household.id, m, fp, f"members[{i}]")
        for i, (m, fp) in enumerate(zip(body.members, fingerprints, strict=True))
    ]
    household.incomes = [
        {
            "member_id": str(members[i.earner].id) if i.earner is not None else None,
            **i.model_dump(exclude={"earner"}, mode="json"),
        }
        for i in body.incomes
    ]
    household.properties = [p.model_dump(mode="json") for p in body.properties]
    household.rigid_expenses = [r.model_dump(mode="json") for r in body.rigid_expenses]
    # Timestamps set here rather than by the server default: no refresh round trip before answering.
    household.created_at = household.updated_at = datetime.now(UTC)
    household.active = True
    for m in members:
        m.active = True
    # Written at commit in one statement with the audit, outbox and Idempotency-Key rows; the unique index on
    # active persons still refuses a concurrent registration of the same person.
    add_new(uow, household, members)
    uow.on_conflict("uq_members_active_person", _member_taken("members"))
    if household.bank_account_number:
        _emit_payee(uow, household, settings)

    snapshot = build_snapshot(household, members)
    uow.emit(
        HouseholdRegistered(
            household_id=household.id,
            region_code=household.region_code,
            snapshot=snapshot,
            identities=identities_of(members),
        ),
        key=household.id,
        region=household.region_code,
    )
    for action in ("household.register", "household.read"):
        # The answer shows the household's personal data back: audited as a read, like any other.
        audit.defer(
            uow,
            principal,
            action,
            "household",
            household.id,
            household_id=household.id,
            region_code=household.region_code,
        )
    return to_out(household, sorted(members, key=lambda m: (m.name, m.id)), settings)


async def _audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: uuid.UUID,
    household: Household,
    **fields: Unpack[audit.Fields],
) -> None:
    """An audit record of an action on `household` or one of its members, filed under the household."""
    await audit.record(
        uow,
        principal,
        action,
        resource_type,
        resource_id,
        household_id=household.id,
        region_code=household.region_code,
        **fields,
    )


async def get_visible(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, *, for_update: bool = False
) -> Household:
    """A household in the caller's region; any other is answered as if it did not exist."""
    household = await HouseholdRepository(uow.session).get(household_id, for_update=for_update)
    if household is None or not household.active or not principal.covers(household.region_code):
        raise NotFound(f"household {household_id} not found")
    return household


async def visible_with_members(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID
) -> tuple[Household, list[Member]]:
    """`get_visible` and the active members in one round trip."""
    household, members = await HouseholdRepository(uow.session).with_members(household_id)
    if household is None or not household.active or not principal.covers(household.region_code):
        raise NotFound(f"household {household_id} not found")
    return household, members


async def _writable(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID) -> Household:
    household = await get_visible(uow, principal, household_id, for_update=True)
    ensure_writable(principal, household.region_code)
    return household


def mask_account(number: str) -> str:
    """Only the last four digits, as on a bank slip: enough to confirm with the household, no more."""
    return "*" * max(len(number) - 4, 0) + number[-4:]


def to_out(household: Household, members: list[Member], settings: Settings) -> HouseholdOut:
    table = region_table(settings)
    region = table.regions.get(household.region_code) or table.regions.get(household.region_code[:9])
    bank = None
    if household.bank_account_number:
        bank = BankAccountOut(
            bank_name=household.bank_name or "",
            account_holder=household.bank_account_holder or "",
            account_number_masked=mask_account(household.bank_account_number),
        )
    members_out = [
        MemberOut(**attributes(m, MemberOut), id_number_masked=mask_resident_id(m.id_number)) for m in members
    ]
    return HouseholdOut(
        **attributes(household, HouseholdOut),
        region_name=region.name if region else None,
        members=members_out,
        bank_account=bank,
    )


async def read(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    settings: Settings,
    *,
    action: str = "household.read",
) -> HouseholdOut:
    household = await get_visible(uow, principal, household_id)
    members = await HouseholdRepository(uow.session).members(household.id)
    if action:
        await _audit(uow, principal, action, "household", household.id, household)
    return to_out(household, members, settings)


async def current(uow: UnitOfWork, household: Household, settings: Settings) -> HouseholdOut:
    """The state after a write in this transaction (the write's own audit record covers showing it)."""
    await uow.session.flush()
    await uow.session.refresh(household)
    return to_out(household, await HouseholdRepository(uow.session).members(household.id), settings)


async def search(
    uow: UnitOfWork, principal: Principal, query: HouseholdQuery, id_number: str | None, settings: Settings
) -> HouseholdPage:
    """Households under the caller's region (optionally narrowed to a township or village), a page at a time."""
    prefix = narrowed(principal.region, query.region or query.region_code)
    if prefix is None:
        # Another region: nothing to see, not an error (its households "do not exist" for this caller).
        return HouseholdPage(items=[], next=None, total=0)
    repo = HouseholdRepository(uow.session)
    page = await repo.page(prefix, query, _fingerprint(id_number, settings) if id_number else None)
    overview = await repo.member_overview([h.id for h in page.rows])
    items = []
    for h in page.rows:
        head, count = overview.get(h.id, (None, 0))
        items.append(HouseholdSummary(**attributes(h, HouseholdSummary), head_name=head, member_count=count))
    # A list shows names and addresses: each household shown is a read of its personal data.
    await audit.record_many(
        uow,
        principal,
        "household.list",
        "household",
        [{"resource_id": h.id, "household_id": h.id, "region_code": h.region_code} for h in page.rows],
    )
    return HouseholdPage(items=items, next=page.next, total=page.total)


async def lookup(uow: UnitOfWork, principal: Principal, id_number: str, settings: Settings) -> HouseholdOut:
    """The active household a person belongs to, if it is in the caller's region."""
    household = await HouseholdRepository(uow.session).household_of_person(_fingerprint(id_number, settings))
    if household is None or not principal.covers(household.region_code):
        raise NotFound("no active household with this person in your region")
    return await read(uow, principal, household.id, settings, action="household.lookup")


async def _emit_updated(uow: UnitOfWork, household: Household) -> None:
    household.updated_at = func.now()
    await uow.session.flush()
    await uow.session.refresh(household)
    members = await HouseholdRepository(uow.session).members(household.id)
    uow.emit(
        HouseholdUpdated(
            household_id=household.id,
            region_code=household.region_code,
            snapshot=build_snapshot(household, members),
            identities=identities_of(members),
        ),
        key=household.id,
        region=household.region_code,
    )


async def update(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, body: HouseholdUpdate, settings: Settings
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id)
    changed = sorted(body.model_fields_set)
    if body.region_code is not None:
        await _validate_region(uow, body.region_code, principal, settings)
        household.region_code = body.region_code
    if body.hukou_type is not None:
        household.hukou_type = body.hukou_type
    if body.address is not None:
        household.address = body.address
    if "bank_account" in body.model_fields_set:
        _set_bank_account(household, body.bank_account)
        _emit_payee(uow, household, settings)
    await _emit_updated(uow, household)
    # Field names only: the values (an account number) never go into the audit details.
    await _audit(uow, principal, "household.update", "household", household.id, household, details={"fields": changed})
    return await current(uow, household, settings)


async def replace_economic_facts(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, body: EconomicFactsIn, settings: Settings
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id)
    member_ids = {m.id for m in await HouseholdRepository(uow.session).members(household.id)}
    for i, income in enumerate(body.incomes):
        if income.member_id is not None and income.member_id not in member_ids:
            raise InvalidInput(f"incomes[{i}].member_id", "not an active member of this household")
    household.incomes = [i.model_dump(mode="json") for i in body.incomes]
    household.properties = [p.model_dump(mode="json") for p in body.properties]
    household.rigid_expenses = [r.model_dump(mode="json") for r in body.rigid_expenses]
    await _emit_updated(uow, household)
    await _audit(
        uow,
        principal,
        "household.economic_facts",
        "household",
        household.id,
        household,
        details={
            "incomes": len(body.incomes),
            "properties": len(body.properties),
            "rigid_expenses": len(body.rigid_expenses),
        },
    )
    return await current(uow, household, settings)


async def add_member(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, body: MemberIn, settings: Settings
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id)
    repo = HouseholdRepository(uow.session)
    fingerprint = _fingerprint(body.id_number, settings)
    if await repo.active_fingerprints([fingerprint]):
        raise Conflict(
            "this person already belongs to an active household",
            errors=[{"field": "id_number", "message": "already in an active household"}],
        )
    member = _new_member(household.id, body, fingerprint, "body")
    repo.add_member(member)
    await _flush_members(uow, "id_number")
    await _emit_updated(uow, household)
    await _audit(uow, principal, "member.add", "member", member.id, household)
    return await current(uow, household, settings)


async def update_member(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    settings: Settings,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id)
    member = await HouseholdRepository(uow.session).member(household.id, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found in this household")
    sent = body.model_dump(mode="json", include=body.model_fields_set)
    if "name" in sent:
        member.name = sent.pop("name")
    if "relation" in sent:
        member.relation = sent.pop("relation")
    # Validate the merged facts as a whole: counted=false without a reason is caught however it arises.
    try:
        merged = MemberFactsIn.model_validate({**member.facts, **sent}).model_dump(mode="json")
    except ValidationError as exc:  # e.g. an explicit null for a fact that must have a value
        error = exc.errors()[0]
        raise InvalidInput(".".join(str(p) for p in error["loc"]) or "body", error["msg"]) from None
    member.facts = _check_member_facts(merged, "body")
    await _emit_updated(uow, household)
    await _audit(
        uow,
        principal,
        "member.update",
        "member",
        member.id,
        household,
        details={"fields": sorted(body.model_fields_set)},
    )
    return await current(uow, household, settings)


async def remove_member(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    reason: str,
    settings: Settings,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id)
    repo = HouseholdRepository(uow.session)
    members = await repo.members(household.id)
    member = next((m for m in members if m.id == member_id), None)
    if member is None:
        raise NotFound(f"member {member_id} not found in this household")
    if len(members) == 1:
        raise Conflict(
            "a household keeps at least one member",
            errors=[{"field": "member_id", "message": "the last member cannot be removed"}],
        )
    # Kept as an inactive row (history, audit), which frees the person to join another household.
    member.active = False
    # Their own income leaves with them (a deceased member's pension ends too); shown in the audit details.
    kept = [i for i in household.incomes if i.get("member_id") != str(member.id)]
    removed_incomes = len(household.incomes) - len(kept)
    household.incomes = kept
    await _emit_updated(uow, household)
    await _audit(
        uow,
        principal,
        "member.remove",
        "member",
        member.id,
        household,
        reason=reason,
        details={"incomes_removed": removed_incomes},
    )
    return await current(uow, household, settings)


def build_snapshot(household: Household, members: list[Member]) -> HouseholdSnapshot:
    return HouseholdSnapshot(
        household_id=household.id,
        region_code=household.region_code,
        hukou_type=household.hukou_type,  # type: ignore[arg-type]
        members=[
            MemberFacts(
                member_id=m.id,
                name=m.name,
                birth_date=m.birth_date,
                sex=m.sex,  # type: ignore[arg-type]
                relation=m.relation,
                **m.facts,
            )
            for m in members
        ],
        incomes=[IncomeItem.model_validate(i) for i in household.incomes],
        properties=household.properties,  # type: ignore[arg-type]
        rigid_expenses=household.rigid_expenses,  # type: ignore[arg-type]
    )


def identities_of(members: list[Member]) -> list[MemberIdentity]:
    """The members' fingerprints for partner-data matching (monitoring); the ID number never leaves intake."""
    return [MemberIdentity(member_id=m.id, id_fingerprint=m.id_fingerprint) for m in members]


async def snapshot_of(uow: UnitOfWork, household: Household) -> HouseholdSnapshot:
    return build_snapshot(household, await HouseholdRepository(uow.session).members(household.id))
