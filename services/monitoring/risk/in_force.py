"""The risk parameters in force: the shipped YAML tree with the 低保 standards eligibility's admins added since
(`policy.standard_changed`, kept in `decided_standards`), cached briefly as eligibility caches its own."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from services.monitoring.models import DecidedStandard
from services.monitoring.risk.parameters import SCHEMA, RiskParameters, risk_parameters
from shared.dated_parameters import ParameterError
from shared.events.catalogue import StandardChanged
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# The API and the worker are separate processes: a standard the worker recorded is seen by the API within this.
CACHE_SECONDS = 5.0
_cache: tuple[float, RiskParameters] | None = None


async def effective_risk_parameters(uow: UnitOfWork, *, fresh: bool = False) -> RiskParameters:
    global _cache
    if not fresh and _cache is not None and time.monotonic() - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    params = risk_parameters()
    rows = await uow.session.scalars(select(DecidedStandard).order_by(DecidedStandard.start))
    for row in rows:
        try:
            params = params.with_value(row.region, row.key, row.start, row.value["v"], row.reference)
        except ParameterError as exc:  # a value the shipped tree already holds for the same start: the tree's
            log.warning(
                "decided standard %s %s from %s not laid over the tree: %s", row.region, row.key, row.start, exc
            )
    _cache = (time.monotonic(), params)
    return params


async def record_standard(uow: UnitOfWork, data: StandardChanged) -> None:
    """`policy.standard_changed.v1`: a 低保 standard (a key the risk rules read) kept to lay over the tree; other
    keys are eligibility's own. A replay changes nothing."""
    if data.key not in SCHEMA:
        return
    try:
        RiskParameters.parse_value(data.key, data.value)
    except ValueError as exc:
        log.warning(
            "standard change %s %s from %s: value not understood, ignored: %s", data.region, data.key, data.start, exc
        )
        return
    if await uow.session.get(DecidedStandard, (data.region, data.key, data.start)) is None:
        uow.session.add(
            DecidedStandard(
                region=data.region, key=data.key, start=data.start, value={"v": data.value}, reference=data.reference
            )
        )
    global _cache
    _cache = None  # this process rules with it from its next run
