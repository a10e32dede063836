"""The parameters in force: the shipped YAML tree (policy/parameters) with the values admins added, cached briefly."""

from __future__ import annotations

import time
from datetime import date

from services.eligibility.policy import ParameterSet, default_parameters
from services.eligibility.policy_admin.repository import ParameterOverrideRepository
from shared.uow import UnitOfWork

# Workers and APIs are separate processes: a value added through one API is seen by the others within this.
CACHE_SECONDS = 5.0
_cache: tuple[float, ParameterSet] | None = None


async def effective_parameters(uow: UnitOfWork, *, fresh: bool = False) -> ParameterSet:
    """The shipped tree with the admins' values; `fresh` skips the cache (a recompute must see the value just
    added by another process)."""
    if not fresh and _cache is not None and time.monotonic() - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    overrides = await ParameterOverrideRepository(uow.session).all()
    params = default_parameters()
    for o in overrides:
        params = params.with_value(o.region, o.key, o.start, o.value["v"], o.reference)
    remember(params)
    return params


async def parameters_as_added(uow: UnitOfWork, region: str, key: str, start: date) -> ParameterSet:
    """The shipped tree with the admins' values as they stood once (region, key, start) was added: what that value's
    提标 recompute prices with, so its figures are its own (a value added after it is its own recompute's). All of
    them if that value is not among them."""
    overrides = await ParameterOverrideRepository(uow.session).all()
    params = default_parameters()
    for o in overrides:
        params = params.with_value(o.region, o.key, o.start, o.value["v"], o.reference)
        if (o.region, o.key, o.start) == (region, key, start):
            break
    return params


def remember(params: ParameterSet) -> None:
    """This process's parameters now (a value it just added is seen by its next request at once)."""
    global _cache
    _cache = (time.monotonic(), params)
