"""Registering households and building the snapshot that travels in intake's events."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from services.intake.households.repository import HouseholdRepository
from services.intake.households.schemas import HouseholdIn, HouseholdOut, MemberOut
from services.intake.models import Household, Member
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import HouseholdRegistered
from shared.household import HouseholdSnapshot, IncomeItem, MemberFacts
from shared.identity import id_fingerprint, mask_resident_id, parse_resident_id
from shared.regions import InvalidRegionCode, RegionTable, UnknownRegionCode
from shared.uow import UnitOfWork

WRITERS = ("clerk",)


def _validate_region(code: str, principal: Principal) -> None:
    try:
        RegionTable.load().validate_village_code(code)
    except (InvalidRegionCode, UnknownRegionCode) as exc:
        raise InvalidInput("region_code", str(exc)) from exc
    ensure_writable(principal, code)


def ensure_writable(principal: Principal, region_code: str) -> None:
    """Clerks write only within their own township."""
    if not principal.covers(region_code) or (not principal.has_any("admin") and len(principal.region) < 9):
        raise Forbidden("clerks register and apply only within their own township")


async def register(uow: UnitOfWork, principal: Principal, body: HouseholdIn, pii_key: bytes) -> Household:
    _validate_region(body.region_code, principal)
    repo = HouseholdRepository(uow.session)
    numbers = [m.id_number for m in body.members]
    for i, number in enumerate(numbers):
        if numbers.index(number) != i:
            raise InvalidInput(f"members[{i}].id_number", "the same person is listed twice")
    fingerprints = [id_fingerprint(n, pii_key) for n in numbers]
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

    household = Household(id=uuid.uuid4(), region_code=body.region_code, hukou_type=body.hukou_type,
                          address=body.address)
    members = []
    for m, fp in zip(body.members, fingerprints, strict=True):
        rid = parse_resident_id(m.id_number)
        facts = m.model_dump(exclude={"name", "id_number", "relation"}, mode="json")
        members.append(Member(id=uuid.uuid4(), household_id=household.id, name=m.name, id_number=rid.number,
                              id_fingerprint=fp, birth_date=rid.birth_date, sex=rid.sex, relation=m.relation,
                              facts=facts))
    household.incomes = [
        {"member_id": str(members[i.earner].id) if i.earner is not None else None,
         **i.model_dump(exclude={"earner"}, mode="json")}
        for i in body.incomes
    ]
    household.properties = [p.model_dump(mode="json") for p in body.properties]
    household.rigid_expenses = [r.model_dump(mode="json") for r in body.rigid_expenses]
    repo.add(household, members)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same person
        raise Conflict("a member already belongs to another active household") from exc

    snapshot = build_snapshot(household, members)
    uow.emit(HouseholdRegistered(household_id=household.id, region_code=household.region_code, snapshot=snapshot),
             key=household.id, region=household.region_code)
    await audit.record(uow, principal, "household.register", "household", household.id,
                       household_id=household.id, region_code=household.region_code)
    return household


async def get_visible(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID) -> Household:
    """A household in the caller's region; any other is answered as if it did not exist."""
    household = await HouseholdRepository(uow.session).get(household_id)
    if household is None or not principal.covers(household.region_code):
        raise NotFound(f"household {household_id} not found")
    return household


async def read(uow: UnitOfWork, principal: Principal, household_id: uuid.UUID) -> HouseholdOut:
    household = await get_visible(uow, principal, household_id)
    members = await HouseholdRepository(uow.session).members(household.id)
    await audit.record(uow, principal, "household.read", "household", household.id,
                       household_id=household.id, region_code=household.region_code)
    return HouseholdOut(
        id=household.id, region_code=household.region_code, hukou_type=household.hukou_type,
        address=household.address,
        members=[MemberOut(id=m.id, name=m.name, id_number_masked=mask_resident_id(m.id_number),
                           birth_date=m.birth_date, sex=m.sex, relation=m.relation, facts=m.facts)
                 for m in members],
        incomes=household.incomes, properties=household.properties, rigid_expenses=household.rigid_expenses,
    )


def build_snapshot(household: Household, members: list[Member]) -> HouseholdSnapshot:
    return HouseholdSnapshot(
        household_id=household.id,
        region_code=household.region_code,
        hukou_type=household.hukou_type,  # type: ignore[arg-type]
        members=[
            MemberFacts(member_id=m.id, name=m.name, birth_date=m.birth_date, sex=m.sex,  # type: ignore[arg-type]
                        relation=m.relation, **m.facts)
            for m in members
        ],
        incomes=[IncomeItem.model_validate(i) for i in household.incomes],
        properties=household.properties,  # type: ignore[arg-type]
        rigid_expenses=household.rigid_expenses,  # type: ignore[arg-type]
    )


async def snapshot_of(uow: UnitOfWork, household: Household) -> HouseholdSnapshot:
    return build_snapshot(household, await HouseholdRepository(uow.session).members(household.id))
