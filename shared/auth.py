"""Bearer JWT auth: `sub`, `roles` and a GB/T 2260 `region` prefix that scopes everything a user sees.

Development signs tokens with a local secret (HS256); production verifies an OIDC issuer's keys (JWKS).
The request's side (the bearer token as a FastAPI dependency, `require(...)`) is in `shared/deps.py`.
Mint a development token:  python -m shared.auth --sub clerk-1 --roles clerk --region 610626101
"""

from __future__ import annotations

import argparse
import functools
import time
from dataclasses import dataclass
from typing import Protocol, TypeVar

import jwt

from shared.core.regions import NATIONAL_SCOPE, InvalidRegionCode, check_format
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.settings import DEV_JWT_SECRET, ServiceSettings

#: The `region` claim that grants the whole country. Never implied: a token without the claim, or with an empty one,
#: is refused, and only these roles may carry it (the ministry's platform admins and national auditors); a clerk,
#: official, finance officer or partner agency always works within a real GB/T 2260 code.
NATIONAL_CLAIM = "national"
NATIONAL_ROLES = frozenset({"admin", "auditor"})
#: The agencies a `partner:<agency>` role may name: the sources of monitoring's feeds (which kinds each posts:
#: services/monitoring/feeds/kinds.py, AGENCY_KINDS, held to this set by its tests). A partner role naming anything
#: else — `partner:admin` above all, the poster monitoring records for a feed an admin posts — is no agency: it
#: passes no partner check (403) and reads no agency's feed.
PARTNER_AGENCIES = frozenset(
    {
        "rural_revitalization",
        "medical_insurance",
        "disabled_persons_federation",
        "public_security",
        "funeral",
        "market_regulation",
        "natural_resources",
        "vehicle_administration",
        "bank",
    }
)


class _InRegion(Protocol):
    @property
    def region_code(self) -> str: ...


R = TypeVar("R", bound=_InRegion)


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[str]
    region: str  # GB/T 2260 prefix; NATIONAL_SCOPE ("") only for a token whose claim is explicitly "national"

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def covers(self, region_code: str) -> bool:
        """Whether a record in `region_code` is within this user's scope."""
        return region_code.startswith(self.region)

    def within(self, region_code: str, field: str = "region") -> None:
        """Refuse (403 naming `field`) a region this user asked for outside its scope."""
        if not self.covers(region_code):
            raise Forbidden(
                f"{field} {region_code} is outside your region",
                errors=[{"field": field, "message": "outside your region"}],
            )

    def sees_region(self, region_code: str) -> None:
        """A region this user asked to read: another region is answered as if it did not exist (404), as `sees`
        answers a record of it."""
        if not self.covers(region_code):
            raise NotFound(f"region {region_code} not found")

    def sees(self, found: R | None, what: str) -> R:
        """`found` if it is within this user's scope; a record of another region is answered as if it did not
        exist (404 "`what` not found"), so its id tells the caller nothing."""
        if found is None or not self.covers(found.region_code):
            raise NotFound(f"{what} not found")
        return found

    @property
    def partner_agency(self) -> str | None:
        """The known agency (PARTNER_AGENCIES) this user acts for, or None: a `partner:` role naming no known
        agency grants nothing."""
        agencies = (r.removeprefix("partner:") for r in sorted(self.roles) if r.startswith("partner:"))
        return next((agency for agency in agencies if agency in PARTNER_AGENCIES), None)


def mint_token(
    sub: str,
    roles: list[str],
    region: str,
    secret: str = DEV_JWT_SECRET,
    ttl: int = 12 * 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict = {"sub": sub, "roles": roles, "region": region, "iat": now, "exp": now + ttl}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str, lifespan: float = 300.0) -> jwt.PyJWKClient:
    # The issuer's key set is fetched again every `lifespan` seconds, and at once for a key id not in it (a new key;
    # at most once per 5 s, so unknown key ids cannot flood the issuer): a rotated-in key verifies without a
    # restart, a removed one stops verifying at the next fetch. No per-key cache (`cache_keys`): it would keep a
    # removed key for the life of the process.
    return jwt.PyJWKClient(url, cache_keys=False, lifespan=lifespan, cooldown_duration=min(5.0, lifespan))


# Tokens already verified, until they expire: a front desk sends the same token with every request, so its
# signature need not be checked again each time. Keyed by the whole token (signature included) and the
# settings that verified it, so a forged or altered token is never found here; bounded, oldest dropped first.
_VERIFIED: dict[tuple[str, str, str | None, str | None, str | None], tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def decode_token(token: str, settings: ServiceSettings) -> Principal:
    key = (token, settings.jwt_secret, settings.jwt_jwks_url, settings.jwt_issuer, settings.jwt_audience)
    if (known := _VERIFIED.get(key)) is not None:
        if time.time() < known[1]:
            return known[0]
        del _VERIFIED[key]
    principal, expires = _verify(token, settings)
    if settings.jwt_jwks_url:
        # Remembered no longer than the key set is: a token of a key the issuer removed is refused after that.
        expires = min(expires, time.time() + settings.jwt_jwks_cache_seconds)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[next(iter(_VERIFIED))]
    _VERIFIED[key] = (principal, expires)
    return principal


def _verify(token: str, settings: ServiceSettings) -> tuple[Principal, float]:
    options = {"require": ["sub", "exp"]}
    try:
        if settings.jwt_jwks_url:
            client = _jwks_client(settings.jwt_jwks_url, settings.jwt_jwks_cache_seconds)
            key = client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "ES256"],
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                options=options,
            )
        else:
            claims = jwt.decode(
                token,
                settings.jwt_secret,
                algorithms=["HS256"],
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                options=options,
            )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid bearer token: {exc}") from exc
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("invalid bearer token: roles must be a list of strings")
    region = region_scope(claims.get("region"), frozenset(roles))
    return Principal(sub=str(claims["sub"]), roles=frozenset(roles), region=region), float(claims["exp"])


def region_scope(claim: object, roles: frozenset[str]) -> str:
    """The scope a token's `region` claim grants, failing closed: the claim must be a well-formed GB/T 2260 prefix
    (2, 4, 6, 9 or 12 digits, no leading 0) or the explicit "national", which only NATIONAL_ROLES may hold."""
    if claim == NATIONAL_CLAIM:
        if not roles or not roles <= NATIONAL_ROLES:
            raise Unauthorized(
                f"invalid bearer token: only {', '.join(sorted(NATIONAL_ROLES))} may have national scope"
            )
        return NATIONAL_SCOPE
    if not isinstance(claim, str) or not claim:
        raise Unauthorized('invalid bearer token: a region claim (GB/T 2260 code prefix, or "national") is required')
    try:
        check_format(claim)
    except InvalidRegionCode as exc:
        raise Unauthorized(f"invalid bearer token: region {exc}") from exc
    return claim


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mint a development JWT")
    parser.add_argument("--sub", default="dev-admin")
    parser.add_argument("--roles", default="admin", help="comma-separated")
    parser.add_argument("--region", default="610626")
    parser.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    print(mint_token(args.sub, [r for r in args.roles.split(",") if r], args.region, settings.jwt_secret, args.ttl))


if __name__ == "__main__":
    main()
