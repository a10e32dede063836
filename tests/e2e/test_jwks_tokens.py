"""The production token path (`<PREFIX>JWT_JWKS_URL`) end to end: intake's and payments' APIs run as processes and
verify RS256 tokens against a JWKS this test serves over HTTP, through a key rotation while they run — a new key id
is accepted without a restart, a removed key's tokens are refused once the key set is fetched again."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from infra import free_port
from jwt.algorithms import RSAAlgorithm
from stack import Stack

from tests.conftest import Infra, bearer

ISSUER, AUDIENCE = "https://id.example.gov.cn/realms/assistance", "social-assistance"
CACHE_SECONDS = 2.0
SERVICES = ("intake", "payments")


class Jwks:
    """A JWKS endpoint whose key set the test changes; it counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/assistance/protocol/openid-connect/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class SigningKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = {**json.loads(RSAAlgorithm.to_jwk(self.private.public_key())), "kid": kid, "use": "sig"}
        self.jwk["alg"] = "RS256"

    def token(self, sub: str, roles: list[str], region: str, *, issuer: str = ISSUER, ttl: int = 3600) -> dict:
        now = int(time.time())
        claims = {"sub": sub, "roles": roles, "region": region, "iss": issuer, "aud": AUDIENCE}
        claims |= {"iat": now, "exp": now + ttl}
        signed = jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})
        return {"Authorization": f"Bearer {signed}"}


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
async def services(infra: Infra, jwks: Jwks, tmp_path_factory: pytest.TempPathFactory):
    env = {"DATABASE_URL": infra.database_url, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap, "ENVIRONMENT": "test"}
    for service in SERVICES:
        prefix = service.upper()
        env |= {
            f"{prefix}_JWT_JWKS_URL": jwks.url,
            f"{prefix}_JWT_ISSUER": ISSUER,
            f"{prefix}_JWT_AUDIENCE": AUDIENCE,
            f"{prefix}_JWT_JWKS_CACHE_SECONDS": str(CACHE_SECONDS),
        }
    stack = Stack(env, ports={s: free_port() for s in SERVICES}, log_dir=tmp_path_factory.mktemp("jwks-service-logs"))
    for service in SERVICES:
        stack.start_api(service)
    try:
        await stack.wait_healthy()
        yield stack
    finally:
        stack.stop_all()


async def _status(client: httpx.AsyncClient, stack: Stack, headers: dict) -> tuple[int, int]:
    """The answers of intake's household list (a clerk's read) and payments' batch list (finance's)."""
    intake = await client.get(stack.url("intake") + "/households", params={"limit": 1}, headers=headers)
    payments = await client.get(stack.url("payments") + "/batches", headers=headers)
    return intake.status_code, payments.status_code


async def test_rs256_tokens_from_the_jwks_through_a_key_rotation(services, jwks):
    first, second = SigningKey("2026-12-a"), SigningKey("2026-12-b")
    jwks.keys = [first.jwk]
    roles = ["clerk", "finance"]
    async with httpx.AsyncClient(timeout=20) as client:
        by_first = first.token("desk-1", roles, "610626101")
        assert await _status(client, services, by_first) == (200, 200)

        # Not the issuer's: the development HS256 secret, a key the JWKS does not hold under a known kid, another
        # issuer, an expired token.
        impostor = SigningKey(first.kid)
        for headers in (
            bearer("desk-1", roles, "610626101"),
            impostor.token("desk-1", roles, "610626101"),
            first.token("desk-1", roles, "610626101", issuer="https://elsewhere.example"),
            first.token("desk-1", roles, "610626101", ttl=-120),
        ):
            assert await _status(client, services, headers) == (401, 401)

        # Rotation, step 1: the issuer publishes a second key and signs with it; the services fetch the key set for
        # the unknown key id (at most once per cooldown, here CACHE_SECONDS, since the last fetch) and accept it.
        jwks.keys = [first.jwk, second.jwk]
        await asyncio.sleep(CACHE_SECONDS)
        by_second = second.token("desk-2", roles, "610626101")
        assert await _status(client, services, by_second) == (200, 200)
        assert await _status(client, services, by_first) == (200, 200)  # both valid during the overlap

        # Rotation, step 2: the first key is withdrawn. Once the cached key set has expired (CACHE_SECONDS), the
        # first key's tokens are refused — one already seen and verified, and a fresh one alike; the second's work.
        jwks.keys = [second.jwk]
        fetches = jwks.fetches
        await asyncio.sleep(CACHE_SECONDS + 0.5)
        assert await _status(client, services, by_first) == (401, 401)
        assert await _status(client, services, first.token("desk-3", roles, "610626101")) == (401, 401)
        assert await _status(client, services, by_second) == (200, 200)
        assert jwks.fetches > fetches  # the services fetched the key set again, without a restart
