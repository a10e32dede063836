"""Policy administration: the dated values admins add over the shipped YAML tree (e.g. a standard rise, 提标),
read back by key, region and date; a loaded holiday schedule counts provisional case deadlines again."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.eligibility.cases.deadlines import CALENDAR_KEY
from services.eligibility.cases.service import recount_provisional_deadlines
from services.eligibility.models import ParameterOverride
from services.eligibility.policy import ParameterError, ParameterNotFound, ParameterValue
from services.eligibility.policy.parameters import SCHEMA
from services.eligibility.policy_admin.in_force import effective_parameters, remember
from services.eligibility.policy_admin.repository import ParameterOverrideRepository
from services.eligibility.policy_admin.schemas import ParameterAddedOut, ParameterValueIn, ParameterValueOut
from services.eligibility.recompute.repository import recompute_id
from shared import audit
from shared.auth import Principal
from shared.core.regions import RegionTable
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.catalogue import StandardChanged
from shared.schemas import attributes
from shared.uow import UnitOfWork


def _to_jsonable(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if to_json:
        return to_json()
    if isinstance(value, (tuple, list, frozenset)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    return value if isinstance(value, (int, str, bool, type(None))) else str(value)


def _lookup_region(region: str) -> str:
    """Parameters are looked up by a household's village code; a county-level query uses the county code."""
    return "00" if region == "national" else region  # "00" matches no region file: national values apply


async def read(uow: UnitOfWork, key: str, region: str, on: date) -> ParameterValueOut:
    params = await effective_parameters(uow)
    if key not in SCHEMA:
        raise NotFound(f"unknown parameter key {key!r}")
    try:
        pv = params.at(key, on, _lookup_region(region))
    except ParameterError as exc:  # ParameterNotFound included: no value in force then
        raise NotFound(str(exc)) from exc
    return _value_out(key, region, on, pv)


def _value_out(key: str, region: str, on: date, pv: ParameterValue) -> ParameterValueOut:
    """The value in force for `region` on `on` (its start, reference and the region it comes from), as asked."""
    return ParameterValueOut(
        key=key,
        region=region,
        on=on,
        value=_to_jsonable(pv.value),
        start=pv.start,
        reference=pv.reference,
        source_region=pv.source_region,
    )


async def add_value(uow: UnitOfWork, principal: Principal, body: ParameterValueIn) -> ParameterAddedOut:
    """Add a dated value for the admin's own region (emits policy.standard_changed: the worker queues and runs the
    recompute the answer names, whose re-priced schedules bring payments' back-pay); a holiday schedule
    (calendar.holidays) also counts provisional deadlines again."""
    # Separation of duties: an admin sets its own region's policy (a county admin, its county's); the national
    # level and other regions belong to their own admins. Checked first, so nothing else is said about them.
    if not principal.covers("" if body.region == "national" else body.region):
        raise Forbidden(f"an admin of {principal.region or 'national'} cannot change parameters of {body.region}")
    if body.key not in SCHEMA:
        raise InvalidInput("key", "unknown parameter key")
    if body.region != "national" and not RegionTable.load().is_known(body.region):
        raise InvalidInput("region", "unknown GB/T 2260 code")
    repo = ParameterOverrideRepository(uow.session)
    if await repo.exists(body.region, body.key, body.start):
        raise Conflict(f"{body.key} already has a value from {body.start} for {body.region}")
    params = await effective_parameters(uow)
    try:
        updated = params.with_value(body.region, body.key, body.start, body.value, body.reference)
    except ParameterError as exc:
        raise InvalidInput("value", str(exc)) from exc
    try:
        previous = _to_jsonable(params.at(body.key, body.start - timedelta(days=1), _lookup_region(body.region)).value)
    except ParameterNotFound:
        previous = None
    repo.add(
        ParameterOverride(
            region=body.region,
            key=body.key,
            start=body.start,
            value={"v": body.value},
            reference=body.reference,
            created_by=principal.sub,
        )
    )
    new = updated.at(body.key, body.start, _lookup_region(body.region))
    # The body's region, key, start and reference; the value as the parameters now hold it.
    uow.emit(
        StandardChanged.model_validate(
            {**attributes(body, StandardChanged), "value": _to_jsonable(new.value), "previous_value": previous}
        ),
        key=f"{body.region}:{body.key}",
        region=None if body.region == "national" else body.region,
    )
    await audit.record(
        uow,
        principal,
        "parameter.add",
        "parameter",
        f"{body.region}:{body.key}:{body.start}",
        region_code=None if body.region == "national" else body.region,
        reason=body.reference,
        details={"value": _to_jsonable(new.value), "previous": previous},
    )
    remember(updated)
    if body.key == CALENDAR_KEY:
        await recount_provisional_deadlines(uow, principal, body.region)
    added = _value_out(body.key, body.region, body.start, new)
    rid = recompute_id(body.region, body.key, body.start)
    return ParameterAddedOut(**added.model_dump(), recompute=f"/recomputes/{rid}")
