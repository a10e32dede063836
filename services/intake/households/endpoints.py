from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.intake.deps import Checker, Clerk, Idem, IntakeSettings, Reader
from services.intake.households import service
from services.intake.households.schemas import (
    EconomicCheckIdentity,
    EconomicFactsIn,
    HouseholdIn,
    HouseholdLookup,
    HouseholdOut,
    HouseholdPage,
    HouseholdQuery,
    HouseholdUpdate,
    MemberIn,
    MemberUpdate,
)
from shared.app import UowDep
from shared.deps import IdNumberHeader, IfMatch
from shared.errors import problems
from shared.preconditions import conditional, tagged
from shared.responses import tag_answer, versioned

router = APIRouter(prefix="/households", tags=["households"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    summary="Register a household with its members, economic facts and bank account",
    responses=tagged(201),
)
async def register_household(
    body: HouseholdIn, uow: UowDep, principal: Clerk, settings: IntakeSettings, idem: Idem
) -> Response:
    return tag_answer(
        await idem.run(uow, principal, body, lambda: service.register(uow, principal, body, settings), status_code=201)
    )


@router.get("", summary="List and search households in your region (audited)")
async def search_households(
    uow: UowDep,
    principal: Reader,
    settings: IntakeSettings,
    query: Annotated[HouseholdQuery, Query()],
    id_number: IdNumberHeader = None,
) -> HouseholdPage:
    return await service.search(uow, principal, query, id_number, settings)


@router.post(
    "/lookup",
    response_model=HouseholdOut,
    summary="Find a person's active household by resident ID",
    responses=tagged(),
)
async def lookup_household(
    body: HouseholdLookup, uow: UowDep, principal: Reader, settings: IntakeSettings, idem: Idem
) -> Response:
    # A POST so the ID number travels in the body, not in a URL that proxies and access logs keep.
    return tag_answer(
        await idem.run(
            uow, principal, body, lambda: service.lookup(uow, principal, body.id_number, settings), status_code=200
        )
    )


@router.get("/{household_id}", summary="Read a household (audited); ETag = its version", responses=tagged())
async def read_household(
    household_id: uuid.UUID, uow: UowDep, principal: Reader, settings: IntakeSettings, response: Response
) -> HouseholdOut:
    return versioned(response, await service.read(uow, principal, household_id, settings))


@router.get(
    "/{household_id}/economic-check-identities",
    summary="The members' resident ID numbers for the economic check (家庭经济状况核对; each opening audited)",
    responses=problems(409),
)
async def economic_check_identities(
    household_id: uuid.UUID, uow: UowDep, principal: Checker, settings: IntakeSettings, response: Response
) -> list[EconomicCheckIdentity]:
    response.headers["Cache-Control"] = "no-store"
    opened = await service.identities_for_economic_check(uow, principal, household_id, settings)
    return [EconomicCheckIdentity.model_validate(o) for o in opened]


@router.patch(
    "/{household_id}",
    summary="Change address, village, 户籍 type or bank account (If-Match: the ETag read)",
    responses=conditional(),
)
async def update_household(
    household_id: uuid.UUID,
    body: HouseholdUpdate,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdOut:
    return versioned(response, await service.update(uow, principal, household_id, body, settings, if_match))


@router.put(
    "/{household_id}/economic-facts",
    summary="Replace incomes, property and rigid expenditures (If-Match: the ETag read)",
    responses=conditional(),
)
async def replace_economic_facts(
    household_id: uuid.UUID,
    body: EconomicFactsIn,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdOut:
    return versioned(
        response, await service.replace_economic_facts(uow, principal, household_id, body, settings, if_match)
    )


@router.post(
    "/{household_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdOut,
    summary="Add a member (a person belongs to one active household at most; If-Match: the household's ETag)",
    responses=conditional(201),
)
async def add_member(
    household_id: uuid.UUID,
    body: MemberIn,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    idem: Idem,
    if_match: IfMatch = None,
) -> Response:
    return tag_answer(
        await idem.run(
            uow,
            principal,
            body,
            lambda: service.add_member(uow, principal, household_id, body, settings, if_match),
            status_code=201,
        )
    )


@router.patch(
    "/{household_id}/members/{member_id}",
    summary="Update a member (If-Match: the household's ETag)",
    responses=conditional(),
)
async def update_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    response: Response,
    if_match: IfMatch = None,
) -> HouseholdOut:
    return versioned(
        response, await service.update_member(uow, principal, household_id, member_id, body, settings, if_match)
    )


@router.delete(
    "/{household_id}/members/{member_id}",
    summary="Remove a member (kept in history; frees the person to join another household; If-Match: the "
    "household's ETag)",
    responses=conditional(),
)
async def remove_member(
    household_id: uuid.UUID,
    member_id: uuid.UUID,
    uow: UowDep,
    principal: Clerk,
    settings: IntakeSettings,
    reason: Annotated[str, Query(min_length=1, max_length=200, description="e.g. 死亡, 迁出")],
    response: Response,
    if_match: IfMatch = None,
    died_on: Annotated[
        date | None,
        Query(description="the date of death, when the member died: their cases stop paying for them after that month"),
    ] = None,
) -> HouseholdOut:
    return versioned(
        response,
        await service.remove_member(uow, principal, household_id, member_id, reason, settings, if_match, died_on),
    )
