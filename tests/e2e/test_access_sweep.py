"""Role × endpoint × region sweep over the four running services, generated from their OpenAPI and their roles table
(each route's `require(...)` or `require_only(...)` roles in the services' deps.py): every operation is called by
each caller who must not get in, and nothing answers outside 401 / 403 / 404.

Callers: no token (401); each role the route does not admit (403, or 404); each admitted role of another county,
志丹县 610625, aimed at 吴起县's real records and region (403 or 404; a list may answer 200 with nothing of 吴起县);
an admitted role whose token has no `region` claim, or `region: ""` (401: a missing claim must never widen access),
or `region: "national"` when the role may not hold national scope (401 or 403); a token signed with another key, or
expired (401).
Published policy values (`/parameters`) are read by anyone signed in. Writes with a JSON body are probed for region
only through their role and token checks: their body is validated
before the record's region is looked up, so a probe would measure the body, not the scope."""

from __future__ import annotations

import importlib
import inspect
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import httpx
import jwt
import pytest
from stack import SERVICES  # deploy/local/stack.py

from shared.app import _api_routes, _calls
from shared.core.period import china_today
from shared.settings import DEV_JWT_SECRET
from tests.helpers import household_body, resident_id

HOME, OTHER = "610626", "610625"
ROLES = (
    "clerk",
    "township_reviewer",
    "county_approver",
    "finance",
    "auditor",
    "partner:medical_insurance",
    "partner:public_security",
    "partner:rural_revitalization",
)
# Published reference data, read by anyone signed in, so another county's reading them is no leak: dated policy
# values (低保标准 and the like, with their legal reference) and the division tables (统计用区划代码).
PUBLISHED = ("/parameters", "/regions")
# Who may hold national scope once the claim must be explicit (`region: "national"`); everyone else is refused.
NATIONAL_ROLES = ("admin", "auditor")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _token(roles: list[str], region: str | None, secret: str = DEV_JWT_SECRET, ttl: int = 3600) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "sweep", "roles": roles, "iat": now - 7200, "exp": now + ttl}
    if region is not None:
        claims["region"] = region
    return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}


def _admitted(route) -> frozenset[str] | None:
    """The roles a route admits (admin aside), from its dependencies; None: any signed-in caller; empty: public."""
    roles: set[str] = set()
    signed_in = False
    for call in _calls(route.dependant):
        name = getattr(call, "__qualname__", "")
        if name == "_role_gate.<locals>.dependency":  # require(...) and require_only(...)
            required = inspect.getclosurevars(call).nonlocals["roles"]
            if not required:
                signed_in = True
            roles |= set(required)
        elif name == "_partner":
            roles |= {r for r in ROLES if r.startswith("partner:")}
        elif name == "current_principal":
            signed_in = True
    if roles:
        return frozenset(roles)
    return None if signed_in else frozenset()


@dataclass(frozen=True)
class Probe:
    service: str
    method: str
    path: str
    caller: str
    headers: dict[str, str]
    expected: frozenset[int]
    list_may_answer: bool = False  # another county's list: 200 with nothing of 吴起县 is fine


def _probes(service: str, spec: dict) -> list[Probe]:
    app = importlib.import_module(f"services.{service}.api").app
    admitted = {(m, r.path_format): _admitted(r) for r in _api_routes(app) for m in r.methods}
    probes: list[Probe] = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            roles = admitted[(method.upper(), path)]
            if roles == frozenset():
                continue  # public: /healthz, /readyz
            allowed = [r for r in ROLES if roles is None or r in roles]
            refused = [r for r in ROLES if r not in allowed]
            json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
            at = (service, method.upper(), path)
            probes.append(Probe(*at, "no token", {}, frozenset({401})))
            some = allowed[0] if allowed else "clerk"
            probes.append(Probe(*at, "another issuer's key", _token([some], HOME, "x" * 32), frozenset({401})))
            probes.append(Probe(*at, "an expired token", _token([some], HOME, ttl=-60), frozenset({401})))
            probes += [Probe(*at, f"{r} of {HOME}", _token([r], HOME), frozenset({403, 404})) for r in refused]
            for r in allowed:
                probes.append(Probe(*at, f"{r}, no region claim", _token([r], None), frozenset({401})))
                probes.append(Probe(*at, f'{r}, region ""', _token([r], ""), frozenset({401})))
                if r not in NATIONAL_ROLES:
                    national = _token([r], "national")
                    probes.append(Probe(*at, f"{r}, region national", national, frozenset({401, 403})))
                if not json_body and not path.startswith(PUBLISHED):
                    list_ = method == "get" and "{" not in path
                    probes.append(Probe(*at, f"{r} of {OTHER}", _token([r], OTHER), frozenset({403, 404}), list_))
    return probes


def _path_value(name: str, ids: dict[str, str], operation: dict) -> str:
    """A real record's id, or a value the parameter's schema accepts (the first of an enum), so a probe is refused
    for who is asking, never for a malformed path."""
    schema = next((p.get("schema", {}) for p in operation.get("parameters", []) if p["name"] == name), {})
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return "1"
    if name == "kind" and "documents" in operation.get("operationId", ""):
        return "approval-form"  # an enum behind a $ref
    fixed = {
        "kind": "death",
        "region": HOME,
        "county": HOME,
        "code": HOME,
        "county_code": HOME,
        "region_code": HOME + "101",
        "month": "2025-07",
        "key": "dibao.standard.urban",
    }
    return ids.get(name) or fixed.get(name) or str(uuid.uuid4())


def _query(operation: dict) -> dict[str, str]:
    values = {"region": HOME, "period": "2025-07", "township": HOME + "101", "year": "2025", "region_code": HOME}
    names = {p["name"] for p in operation.get("parameters", [])}
    query = {}
    for p in operation.get("parameters", []):
        if p["in"] != "query" or (p["name"] == "year" and "period" in names):  # one of period or year
            continue
        schema = p.get("schema", {})
        if p["name"] in values:
            query[p["name"]] = values[p["name"]]
        elif p.get("required"):
            query[p["name"]] = str(schema.get("enum", [schema.get("default", "1")])[0])
    return query


async def _call(client: httpx.AsyncClient, probe: Probe, operation: dict, ids: dict[str, str]) -> httpx.Response:
    url = re.sub(r"{(\w+)}", lambda m: _path_value(m.group(1), ids, operation), probe.path)
    content = operation.get("requestBody", {}).get("content", {})
    kwargs: dict = {"params": _query(operation)}
    if "application/json" in content:
        kwargs["json"] = {}
    elif "multipart/form-data" in content:
        kwargs["files"] = {"file": ("sweep.png", PNG, "image/png")}
        kwargs["data"] = {"kind": "other"}
    elif "text/csv" in content:
        kwargs["content"] = b"id_number,region_code,date_of_death\n"
        kwargs["headers"] = {"Content-Type": "text/csv"}
    kwargs["headers"] = {**kwargs.get("headers", {}), **probe.headers}
    return await client.request(probe.method, url, **kwargs)


@pytest.fixture(scope="module")
async def home_records(stack, tokens) -> dict[str, str]:
    """Real records of 吴起县 for the path parameters: a household and member, an application and its evidence,
    a batch, a partner's feed."""
    async with httpx.AsyncClient(timeout=30) as http:
        intake = stack.url("intake")
        household = (await http.post(intake + "/households", json=household_body(), headers=tokens["clerk"])).json()
        application = (
            await http.post(
                intake + "/applications",
                json={"household_id": household["id"], "programme": "dibao", "consent_signed": True},
                headers=tokens["clerk"],
            )
        ).json()
        evidence = (
            await http.post(
                f"{intake}/applications/{application['id']}/evidence",
                files={"file": ("id.png", PNG, "image/png")},
                data={"kind": "id_card"},
                headers=tokens["clerk"],
            )
        ).json()
        batch = (
            await http.post(
                stack.url("payments") + "/batches",
                # 庙沟镇, where no other test pays anyone: a batch not yet at the bank follows every decision about
                # the people it holds, so one left built in another test's township may hold that test's arrears
                # (and a month long past: a batch is asked for at most the coming month).
                json={"region_code": HOME + "108", "period": "2018-01", "kind": "regular"},
                headers=tokens["finance"],
            )
        ).json()
        feed = (
            await http.post(
                stack.url("monitoring") + "/feeds/medical",
                content=(  # one row: a file without rows is refused
                    "id_number,region_code,settled_on,out_of_pocket_fen,serious_illness\n"
                    f"{resident_id()},{HOME}101,{china_today() - timedelta(days=30)},100,0\n"
                ).encode(),
                headers={**_token(["partner:medical_insurance"], HOME), "Content-Type": "text/csv"},
            )
        ).json()
    records = {
        "household_id": household.get("id"),
        "member_id": household.get("members", [{}])[0].get("id"),
        "application_id": application.get("id"),
        "evidence_id": evidence.get("id"),
        "batch_id": batch.get("id"),
        "feed_id": feed.get("id"),
    }
    return {name: value for name, value in records.items() if value}


async def _sweep(stack, home_records, only: set[str] | None) -> tuple[Counter, list[str]]:
    counts: Counter = Counter()
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for service in SERVICES:
            spec = (await client.get(stack.url(service) + "/openapi.json")).json()
            probes = _probes(service, spec)
            for probe in probes:
                no_region = probe.caller.endswith(("no region claim", 'region ""', "region national"))
                if only is not None and no_region != ("region" in only):
                    continue
                operation = spec["paths"][probe.path][probe.method.lower()]
                client.base_url = httpx.URL(stack.url(service))
                r = await _call(client, probe, operation, home_records)
                counts[service] += 1
                fine = r.status_code in probe.expected or (
                    probe.list_may_answer and r.status_code == 200 and HOME not in r.text
                )
                if not fine:
                    wrong.append(
                        f"{probe.method} {service}{probe.path} as {probe.caller}: {r.status_code} {r.text[:200]}"
                    )
    return counts, wrong


async def test_no_token_wrong_role_or_other_county_gets_nothing(stack, home_records):
    counts, wrong = await _sweep(stack, home_records, only={"role"})
    assert sum(counts.values()) >= 500 and set(counts) == set(SERVICES), counts
    assert {"household_id", "application_id", "batch_id", "feed_id"} <= set(home_records), home_records
    assert not wrong, f"{len(wrong)} of {sum(counts.values())} probes got in:\n" + "\n".join(wrong[:40])


async def test_a_token_without_a_region_or_with_an_empty_one_gets_nothing(stack, home_records):
    """Fails closed: the token is refused (401) before anything is read, whatever the role."""
    counts, wrong = await _sweep(stack, home_records, only={"region"})
    assert sum(counts.values()) >= 500, counts
    assert not wrong, f"{len(wrong)} of {sum(counts.values())} probes got in:\n" + "\n".join(wrong[:40])
