"""Every service's real app fails closed on a token's region claim (issue 17): a correctly signed token whose
`region` is missing, empty or "national" for a role that may not hold it gets 401 on lists that would otherwise
span every county; the same caller with a county's code gets its county only."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.settings import DEV_JWT_SECRET
from tests.conftest import bearer

pytestmark = pytest.mark.integration

LISTS = [
    ("intake", "/households", ["clerk"]),
    ("intake", "/applications", ["clerk"]),
    ("eligibility", "/cases", ["county_approver"]),
    ("payments", "/batches", ["finance"]),
    ("payments", "/beneficiaries", ["finance"]),
    ("monitoring", "/alerts", ["county_approver"]),
]
MISSING = object()


def _signed(roles: list[str], region: object) -> dict[str, str]:
    claims = {"sub": "probe", "roles": roles, "exp": int(time.time()) + 600}
    if region is not MISSING:
        claims["region"] = region
    return {"Authorization": "Bearer " + jwt.encode(claims, DEV_JWT_SECRET, "HS256")}


@pytest.mark.parametrize(("service", "path", "roles"), LISTS)
@pytest.mark.parametrize("region", [MISSING, "", None, "national", "00"], ids=["missing", "empty", "null", "nat", "00"])
async def test_a_token_without_a_real_region_is_refused(api, service, path, roles, region):
    r = await api(service).get(path, headers=_signed(roles, region))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("service", "path", "roles"), LISTS)
async def test_the_same_roles_with_a_county_code_are_let_in(api, service, path, roles):
    assert (await api(service).get(path, headers=bearer("probe", roles, "610626"))).status_code == 200
