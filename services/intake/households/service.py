"""Households and members: registering, reading, searching and changing them, and building the snapshot that
travels in intake's events. Every read and write of personal data leaves an audit record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

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
from services.intake.sealed import open_account, open_id_number, seal_account, seal_id_number, seal_payee
from shared import audit
from shared.auth import Principal
from shared.core.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.core.identity import id_fingerprint, parse_resident_id
from shared.core.period import china_today
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import (
    HouseholdRegistered,
    HouseholdUpdated,
    MemberDeparture,
    MemberIdentity,
    PayeeChanged,
)
from shared.pagination import narrowed
from shared.preconditions import check_if_match
from shared.schemas import attributes
from shared.sealing import Keyring
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
    return id_fingerprint(number, settings.pii_hmac_key.encode(), settings.crypto_profile)


def _new_member(
    household_id: uuid.UUID, m: MemberIn, fingerprint: str, field: str, ring: Keyring, settings: Settings
) -> Member:
    rid = parse_resident_id(m.id_number)
    facts = _check_member_facts(m.model_dump(exclude=_PERSON_FIELDS, mode="json"), field)
    member_id = uuid.uuid4()
    return Member(
        id=member_id,
        household_id=household_id,
        name=m.name,
        **seal_id_number(ring, member_id, rid.number),
        id_fingerprint=fingerprint,
        fingerprint_profile=settings.crypto_profile,
        birth_date=rid.birth_date,
        sex=rid.sex,
        relation=m.relation,
        facts=facts,
    )


def _set_bank_account(household: Household, account: BankAccountIn | None, ring: Keyring) -> None:
    """The account stored sealed; each change is a new version (`bank_account_changed_at`) its seal is bound to."""
    household.bank_name = account.bank_name if account else None
    household.bank_account_holder = account.account_holder if account else None
    columns = dict.fromkeys(("bank_account_sealed", "bank_account_key_id", "bank_account_last4"))
    changed_at = datetime.now(UTC)
    if account:
        columns = seal_account(ring, household.id, changed_at, account.account_number)
    for column, value in columns.items():
        setattr(household, column, value)
    household.bank_account_changed_at = changed_at


def emit_payee(
    uow: UnitOfWork,
    household_id: uuid.UUID,
    region_code: str,
    changed_at: datetime,
    account: dict[str, str] | None,
    ring: Keyring,
) -> None:
    """收款账户 to payments: the account (`bank_name`, `account_holder`, `account_number`) sealed, bound to the
    household and this version's `changed_at` (so an older account cannot be replayed as the current one), never
    in clear; None when the account was removed."""
    key_id = sealed = last4 = None
    if account:
        key_id, sealed = seal_payee(ring, household_id, changed_at, account)
        last4 = account["account_number"][-4:]
    uow.emit(
        PayeeChanged(
            household_id=household_id,
            region_code=region_code,
            key_id=key_id,
            sealed=sealed,
            account_last4=last4,
            changed_at=changed_at,
        ),
        key=household_id,
        region=region_code,
    )


def _emit_payee(uow: UnitOfWork, household: Household, account: BankAccountIn | None, ring: Keyring) -> None:
    """The request's own account announced (intake does not open its stored copy for this)."""
    changed_at = household.bank_account_changed_at or datetime.now(UTC)
    plain = account.model_dump(include={"bank_name", "account_holder", "account_number"}) if account else None
    emit_payee(uow, household.id, household.region_code, changed_at, plain, ring)


async def announce_unannounced_payees(uow: UnitOfWork, settings: Settings, limit: int) -> int:
    """收款账户 back-fill: up to `limit` households whose bank account was put on file before intake announced
    accounts to payments each get their payee.changed now (opened from its sealed copy and sealed for payments
    like any other), audited as read by intake. How many were announced (0: none left)."""
    repository = HouseholdRepository(uow.session)
    households = await repository.payee_backfill(limit)
    ring = settings.keyring()
    for h in households:
        account = None
        if h.bank_account_sealed and h.bank_account_changed_at and h.bank_account_key_id:
            number = open_account(ring, h.id, h.bank_account_changed_at, h.bank_account_key_id, h.bank_account_sealed)
            account = {"bank_name": h.bank_name, "account_holder": h.bank_account_holder, "account_number": number}
        emit_payee(uow, h.id, h.region_code, h.bank_account_changed_at or datetime.now(UTC), account, ring)
    await repository.payees_announced([h.id for h in households])
    await audit.record(uow, "intake", "payee.backfill", "household", households)
    return len(households)


# As the roll import says it (存量对象导入 refuses a household's second 户主 row the same way).
_ONE_HEAD = "a household has exactly one 户主 (relation head)"


async def _no_other_head(
    repo: HouseholdRepository, household_id: uuid.UUID, member_id: uuid.UUID | None = None
) -> None:
    """Refuse (422 on `relation`) making a member 户主 while another active member is: a new 户主 (the old one died,
    分户) is recorded by changing the old one's relation first."""
    head = next((m for m in await repo.members(household_id) if m.relation == "head" and m.id != member_id), None)
    if head is not None:
        raise InvalidInput("relation", f"{_ONE_HEAD}: member {head.id} is; change that member's relation first")


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
    heads = [i for i, m in enumerate(body.members) if m.relation == "head"]
    if len(heads) != 1:
        raise InvalidInput(f"members[{heads[1]}].relation" if heads else "members", _ONE_HEAD)
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
        id=uuid.uuid4(), region_code=body.region_code, hukou_type=body.hukou_type, address=body.address, version=1
    )
    ring = settings.keyring()
    _set_bank_account(household, body.bank_account, ring)
    members = [
        _new_member(household.id, m, fp, f"members[{i}]", ring, settings)
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
    if body.bank_account:
        _emit_payee(uow, household, body.bank_account, ring)

    snapshot = build_snapshot(household, members)
    uow.emit(
        HouseholdRegistered(
            household_id=household.id,
            region_code=household.region_code,
            snapshot=snapshot,
            identities=identities_of(members),
            household_version=household.version,
        ),
        key=household.id,
        region=household.region_code,
    )
    # The answer shows the household's personal data back: audited as a read as well, like any other.
    entry = {"resource_id": household.id, "household_id": household.id, "region_code": household.region_code}
    await audit.record(
        uow, principal, "household.register", "household", [entry, {**entry, "action": "household.read"}]
    )
    return to_out(household, sorted(members, key=lambda m: (m.name, m.id)), settings)


async def get_visible(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, *, for_update: bool = False
) -> Household:
    """A household in the caller's region; any other is answered as if it did not exist."""
    household = await HouseholdRepository(uow.session).get(household_id, for_update=for_update)
    return principal.sees(_active(household), f"household {household_id}")


async def visible_with_members(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID
) -> tuple[Household, list[Member]]:
    """`get_visible` and the active members in one round trip."""
    household, members = await HouseholdRepository(uow.session).with_members(household_id)
    return principal.sees(_active(household), f"household {household_id}"), members


def _active(household: Household | None) -> Household | None:
    """An inactive household is not found, as one of another region is not."""
    return household if household is not None and household.active else None


async def _writable(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, if_match: str | None) -> Household:
    """The household locked for this write (FOR UPDATE), if the caller may write it and, when it sent If-Match,
    it is still the version the caller read (412 otherwise: someone else changed it since)."""
    household = await get_visible(uow, principal, household_id, for_update=True)
    ensure_writable(principal, household.region_code)
    check_if_match(if_match, household.version, f"household {household_id}")
    return household


def mask_account(last4: str) -> str:
    """Only the last four digits, as on a bank slip: enough to confirm with the household, no more (the rest is
    sealed, so its length is not shown either)."""
    return "****" + last4


def to_out(household: Household, members: list[Member], settings: Settings) -> HouseholdOut:
    table = region_table(settings)
    region = table.regions.get(household.region_code) or table.regions.get(household.region_code[:9])
    bank = None
    if household.bank_account_sealed:
        bank = BankAccountOut(
            bank_name=household.bank_name or "",
            account_holder=household.bank_account_holder or "",
            account_number_masked=mask_account(household.bank_account_last4 or ""),
        )
    members_out = [MemberOut(**attributes(m, MemberOut)) for m in members]
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
        await audit.record(uow, principal, action, "household", household)
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
    await audit.record(
        uow,
        principal,
        "household.list",
        "household",
        page.rows,
    )
    return HouseholdPage(items=items, next=page.next, total=page.total)


async def lookup(uow: UnitOfWork, principal: Principal, id_number: str, settings: Settings) -> HouseholdOut:
    """The active household a person belongs to, if it is in the caller's region."""
    household = await HouseholdRepository(uow.session).household_of_person(_fingerprint(id_number, settings))
    if household is None or not principal.covers(household.region_code):
        raise NotFound("no active household with this person in your region")
    return await read(uow, principal, household.id, settings, action="household.lookup")


async def _emit_updated(uow: UnitOfWork, household: Household, departures: Sequence[MemberDeparture] = ()) -> None:
    household.updated_at = func.now()
    await uow.session.flush()
    await uow.session.refresh(household)
    announce_updated(uow, household, await HouseholdRepository(uow.session).members(household.id), departures)


def announce_updated(
    uow: UnitOfWork, household: Household, members: list[Member], departures: Sequence[MemberDeparture] = ()
) -> None:
    """household.updated.v1: the household's facts and its members' identities as they are now, of its version as
    written (the household flushed: the ETag the write answers with), and the members this change took out
    (`departures`)."""
    uow.emit(
        HouseholdUpdated(
            household_id=household.id,
            region_code=household.region_code,
            snapshot=build_snapshot(household, members),
            identities=identities_of(members),
            household_version=household.version,
            departures=list(departures),
        ),
        key=household.id,
        region=household.region_code,
    )


async def update(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    settings: Settings,
    if_match: str | None = None,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id, if_match)
    changed = sorted(body.model_fields_set)
    if body.region_code is not None:
        await _validate_region(uow, body.region_code, principal, settings)
        household.region_code = body.region_code
    if body.hukou_type is not None:
        household.hukou_type = body.hukou_type
    if body.address is not None:
        household.address = body.address
    if "bank_account" in body.model_fields_set:
        ring = settings.keyring()
        _set_bank_account(household, body.bank_account, ring)
        _emit_payee(uow, household, body.bank_account, ring)
    await _emit_updated(uow, household)
    # Field names only: the values (an account number) never go into the audit details.
    await audit.record(
        uow,
        principal,
        "household.update",
        "household",
        household,
        details={"fields": changed},
    )
    return await current(uow, household, settings)


async def replace_economic_facts(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    body: EconomicFactsIn,
    settings: Settings,
    if_match: str | None = None,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id, if_match)
    member_ids = {m.id for m in await HouseholdRepository(uow.session).members(household.id)}
    for i, income in enumerate(body.incomes):
        if income.member_id is not None and income.member_id not in member_ids:
            raise InvalidInput(f"incomes[{i}].member_id", "not an active member of this household")
    household.incomes = [i.model_dump(mode="json") for i in body.incomes]
    household.properties = [p.model_dump(mode="json") for p in body.properties]
    household.rigid_expenses = [r.model_dump(mode="json") for r in body.rigid_expenses]
    await _emit_updated(uow, household)
    await audit.record(
        uow,
        principal,
        "household.economic_facts",
        "household",
        household,
        details={
            "incomes": len(body.incomes),
            "properties": len(body.properties),
            "rigid_expenses": len(body.rigid_expenses),
        },
    )
    return await current(uow, household, settings)


async def add_member(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    body: MemberIn,
    settings: Settings,
    if_match: str | None = None,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id, if_match)
    repo = HouseholdRepository(uow.session)
    if body.relation == "head":
        await _no_other_head(repo, household.id)
    fingerprint = _fingerprint(body.id_number, settings)
    if await repo.active_fingerprints([fingerprint]):
        raise Conflict(
            "this person already belongs to an active household",
            errors=[{"field": "id_number", "message": "already in an active household"}],
        )
    member = _new_member(household.id, body, fingerprint, "body", settings.keyring(), settings)
    repo.add_member(member)
    await _flush_members(uow, "id_number")
    await _emit_updated(uow, household)
    await audit.record(
        uow, principal, "member.add", "member", member.id, household_id=household.id, region_code=household.region_code
    )
    return await current(uow, household, settings)


async def update_member(
    uow: UnitOfWork,
    principal: Principal,
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    settings: Settings,
    if_match: str | None = None,
) -> HouseholdOut:
    household = await _writable(uow, principal, household_id, if_match)
    repo = HouseholdRepository(uow.session)
    member = await repo.member(household.id, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found in this household")
    sent = body.model_dump(mode="json", include=body.model_fields_set)
    if "name" in sent:
        member.name = sent.pop("name")
    if "relation" in sent:
        if sent["relation"] == "head":
            await _no_other_head(repo, household.id, member.id)
        member.relation = sent.pop("relation")
    # Validate the merged facts as a whole: counted=false without a reason is caught however it arises.
    try:
        merged = MemberFactsIn.model_validate({**member.facts, **sent}).model_dump(mode="json")
    except ValidationError as exc:  # e.g. an explicit null for a fact that must have a value
        error = exc.errors()[0]
        raise InvalidInput(".".join(str(p) for p in error["loc"]) or "body", error["msg"]) from None
    member.facts = _check_member_facts(merged, "body")
    await _emit_updated(uow, household)
    await audit.record(
        uow,
        principal,
        "member.update",
        "member",
        member.id,
        household_id=household.id,
        region_code=household.region_code,
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
    if_match: str | None = None,
    died_on: date | None = None,
) -> HouseholdOut:
    """A member taken out of the household (kept as history): left, or died on `died_on`."""
    today = china_today()
    if died_on is not None and died_on > today:
        raise InvalidInput("query.died_on", "a date of death cannot be in the future")
    household = await _writable(uow, principal, household_id, if_match)
    repo = HouseholdRepository(uow.session)
    members = await repo.members(household.id)
    member = next((m for m in members if m.id == member_id), None)
    if member is None:
        raise NotFound(f"member {member_id} not found in this household")
    if died_on is not None and died_on < member.birth_date:
        raise InvalidInput("query.died_on", "a date of death before the member's birth")
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
    gone = MemberDeparture(member_id=member.id, reason="died" if died_on else "left", on=died_on or today)
    await _emit_updated(uow, household, [gone])
    await audit.record(
        uow,
        principal,
        "member.remove",
        "member",
        member.id,
        household_id=household.id,
        region_code=household.region_code,
        reason=reason,
        details={"incomes_removed": removed_incomes, "died_on": str(died_on) if died_on else None},
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


async def identities_for_economic_check(
    uow: UnitOfWork, principal: Principal, household_id: uuid.UUID, settings: Settings
) -> list[dict[str, object]]:
    """家庭经济状况核对: the members' resident ID numbers, opened for the county's economic check (the one place
    intake opens them), each opening audited under the member; the household must have signed the consent on an
    application first."""
    household, members = await visible_with_members(uow, principal, household_id)
    if not await HouseholdRepository(uow.session).has_consent(household.id):
        raise Conflict(
            "no application of this household carries the signed consent to the economic check",
            errors=[{"field": "consent_signed", "message": "家庭经济状况核对授权书 not signed"}],
        )
    ring = settings.keyring()
    opened = [
        {
            "member_id": m.id,
            "name": m.name,
            "relation": m.relation,
            "id_number": open_id_number(ring, m.id, m.id_number_key_id, m.id_number_sealed),
        }
        for m in members
    ]
    await audit.record(
        uow,
        principal,
        "member.id_number.open",
        "member",
        [
            {
                "resource_id": m.id,
                "household_id": household.id,
                "region_code": household.region_code,
                "details": {"purpose": "economic_check", "key_id": m.id_number_key_id},
            }
            for m in members
        ],
    )
    return opened
