"""shared.auth: a token's region claim fails closed (issue 17)."""

from __future__ import annotations

import jwt
import pytest

from shared.auth import NATIONAL_CLAIM, PARTNER_AGENCIES, Principal, decode_token, mint_token
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.settings import ServiceSettings

SECRET = "r" * 40
SETTINGS = ServiceSettings(jwt_secret=SECRET)


def _token(claims: dict) -> str:
    return jwt.encode({"sub": "x", "exp": 4102444800, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("roles", [["finance"], ["clerk"], ["admin"], ["partner:public_security"], ["auditor"]])
def test_a_token_without_a_region_claim_is_refused_whatever_its_roles(roles):
    with pytest.raises(Unauthorized, match="region claim"):
        decode_token(_token({"roles": roles}), SETTINGS)


@pytest.mark.parametrize("region", ["", None, 0, 610626, ["610626"], " 610626"])
def test_an_empty_or_non_string_region_is_refused(region):
    with pytest.raises(Unauthorized):
        decode_token(_token({"roles": ["finance"], "region": region}), SETTINGS)


@pytest.mark.parametrize("region", ["00", "0", "06", "610", "61062", "6106261", "61062610", "6106x6", "６１"])
def test_a_malformed_region_is_refused(region):
    with pytest.raises(Unauthorized, match="region"):
        decode_token(_token({"roles": ["clerk"], "region": region}), SETTINGS)


@pytest.mark.parametrize("roles", [["admin"], ["auditor"], ["admin", "auditor"]])
def test_national_scope_is_explicit_and_held_only_by_admins_and_auditors(roles):
    principal = decode_token(mint_token("n", roles, NATIONAL_CLAIM, SECRET), SETTINGS)
    assert principal.covers("610626101201") and principal.covers("320830")


@pytest.mark.parametrize(
    "roles", [["finance"], ["clerk"], ["county_approver"], ["partner:public_security"], ["admin", "finance"], []]
)
def test_national_scope_is_refused_for_every_other_role(roles):
    with pytest.raises(Unauthorized, match="national scope"):
        decode_token(mint_token("n", roles, NATIONAL_CLAIM, SECRET), SETTINGS)


def test_a_county_token_covers_its_county_only():
    principal = decode_token(mint_token("f", ["finance"], "610626", SECRET), SETTINGS)
    assert principal.covers("610626101201")
    assert not principal.covers("610625100201") and not principal.covers("")


def test_a_region_outside_the_scope_is_refused_naming_the_field_or_hidden():
    township = Principal(sub="finance-1", roles=frozenset({"finance"}), region="610626101")
    township.within("610626101201")
    township.sees_region("610626101")
    with pytest.raises(Forbidden) as refused:
        township.within("610626102", "township")
    assert refused.value.errors == [{"field": "township", "message": "outside your region"}]
    assert str(refused.value) == "township 610626102 is outside your region"
    with pytest.raises(NotFound, match="region 610626 not found"):
        township.sees_region("610626")


@pytest.mark.parametrize("role", ["partner:admin", "partner:", "partner:county_approver", "partner:Medical_Insurance"])
def test_a_partner_role_naming_no_known_agency_is_no_agency(role):
    # `admin` is what monitoring records as the poster of a feed an admin posts: a `partner:admin` token read it.
    assert Principal("x", frozenset({role}), "610626").partner_agency is None


def test_a_known_partner_agency_is_the_roles_agency():
    assert {"public_security", "medical_insurance", "rural_revitalization"} <= PARTNER_AGENCIES
    principal = Principal("x", frozenset({"partner:admin", "partner:public_security"}), "610626")
    assert principal.partner_agency == "public_security"
