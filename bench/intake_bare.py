"""Intake's two POSTs doing the same database work with no kit: FastAPI + asyncpg, one transaction each.

The same-work baseline of `bench/intake_load.py`: what a hand-written endpoint costs on this machine for the
rows intake writes, so intake / bare is the kit's and the service's own overhead.

* `POST /households` - claim the Idempotency-Key, check the members' ID fingerprints are in no active
  household, insert the household, its members, two audit rows (`household.register`, `household.read`), the
  `HouseholdRegistered` outbox row (CloudEvent with the household snapshot), store the response under the key.
* `POST /applications` - claim the key, read the household and its members (the snapshot), insert the
  application (the partial unique index refuses a second open one: 409), the audit row, the
  `ApplicationSubmitted` outbox row, store the response under the key.

Same request validation as intake (its own pydantic request models), same bearer token check (HS256 JWT, clerk
role, the clerk's township), same resident-ID parsing and HMAC fingerprints, same tables (the database is
migrated with intake's migrations). Not done here: the region table lookup (only the clerk's prefix is
checked), the evidence document lists in the application's answer, correlation-id middleware and metrics.

Served by `bench/intake_load.py` as `intake_bare:app` (uvicorn, `--app-dir bench`) with `BARE_DATABASE_URL`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
import jwt
import orjson
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import Response

from services.intake.applications.schemas import ApplicationIn
from services.intake.config import Settings
from services.intake.households.schemas import HouseholdIn
from services.intake.sealed import seal_account, seal_id_number
from shared.core.identity import id_fingerprint, mask_resident_id, parse_resident_id
from shared.events.catalogue import ApplicationSubmitted, HouseholdRegistered, event_type, spec_for
from shared.settings import DEV_JWT_SECRET

SOURCE = "/services/intake"
JWT_SECRET = os.environ.get("INTAKE_JWT_SECRET", DEV_JWT_SECRET)
PII_KEY = os.environ.get("INTAKE_PII_HMAC_KEY", "dev-only-pii-key-0123456789").encode()
# The same sealing at rest as the service (ID numbers and accounts never in clear columns).
KEYRING = Settings().keyring()
HOUSEHOLD_REGISTERED = event_type(HouseholdRegistered)
APPLICATION_SUBMITTED = event_type(ApplicationSubmitted)
TOPIC = {t: str(spec_for(t).topic) for t in (HOUSEHOLD_REGISTERED, APPLICATION_SUBMITTED)}

CLAIM = (
    "INSERT INTO intake.idempotency_keys (principal, key, method, path, fingerprint, status_code, "
    "response_body) VALUES ($1, $2, $3, $4, $5, 0, '') ON CONFLICT (principal, key) DO NOTHING RETURNING key"
)
STORE = "UPDATE intake.idempotency_keys SET status_code = $3, response_body = $4 WHERE principal = $1 AND key = $2"
STORED = "SELECT fingerprint, status_code, response_body FROM intake.idempotency_keys WHERE principal = $1 AND key = $2"
TAKEN = "SELECT 1 FROM intake.members WHERE active AND id_fingerprint = ANY($1::text[]) LIMIT 1"
INSERT_HOUSEHOLD = (
    "INSERT INTO intake.households (id, region_code, hukou_type, address, incomes, properties, rigid_expenses, "
    "active, bank_name, bank_account_holder, bank_account_sealed, bank_account_key_id, bank_account_last4, "
    "bank_account_changed_at, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, $9, $10, $11, $12, $13, $13, $13)"
)
INSERT_MEMBER = (
    "INSERT INTO intake.members (id, household_id, name, id_number_sealed, id_number_key_id, id_number_masked, "
    "id_fingerprint, active, birth_date, sex, relation, facts) VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, $9, "
    "$10, $11)"
)
HOUSEHOLD = (
    "SELECT region_code, hukou_type, incomes::text, properties::text, rigid_expenses::text "
    "FROM intake.households WHERE id = $1 AND active"
)
MEMBERS = (
    "SELECT id, name, birth_date, sex, relation, facts::text FROM intake.members "
    "WHERE household_id = $1 AND active ORDER BY name, id"
)
INSERT_APPLICATION = (
    "INSERT INTO intake.applications (id, household_id, region_code, programme, status, submitted_on, "
    "consent_signed, applicant_member_id, separate_register, separate_register_name, details, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9, $10, $11, $11)"
)
INSERT_AUDIT = (
    "INSERT INTO intake.audit_log (actor, roles, action, resource_type, resource_id, household_id, region_code, "
    "correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
INSERT_OUTBOX = "INSERT INTO intake.outbox (event_id, topic, key, type, payload) VALUES ($1, $2, $3, $4, $5)"
MEANS_TESTED = frozenset({"dibao", "tekun", "marginal", "rigid_expense"})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["BARE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)
    # The kit's engine pool: 10 connections plus 10 overflow.
    app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=20)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


class Clerk:
    def __init__(self, authorization: str) -> None:
        try:
            claims = jwt.decode(
                authorization.removeprefix("Bearer "),
                JWT_SECRET,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise HTTPException(401, f"invalid bearer token: {exc}") from exc
        self.sub, self.roles, self.region = str(claims["sub"]), sorted(claims.get("roles") or []), claims["region"]
        if "clerk" not in self.roles and "admin" not in self.roles:
            raise HTTPException(403, "requires one of the roles: clerk")

    def writable(self, region_code: str) -> None:
        if not region_code.startswith(self.region) or len(self.region) < 9:
            raise HTTPException(403, "clerks register and apply only within their own township")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _digest(method: str, path: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        orjson.dumps({"method": method, "path": path, "payload": payload}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def _cloudevent(
    event_id: uuid.UUID, etype: str, key: str, region: str, correlation_id: str, data: dict[str, Any]
) -> str:
    return _json(
        {
            "specversion": "1.0",
            "id": str(event_id),
            "source": SOURCE,
            "type": etype,
            "subject": key,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "dataschema": f"urn:cn.gov.mca.assistance:schema:{etype}",
            "region": region,
            "correlationid": correlation_id,
            "data": data,
        }
    )


async def _replay(conn: asyncpg.Connection, clerk: Clerk, key: str, digest: str) -> Response:
    row = await conn.fetchrow(STORED, clerk.sub, key)
    if row["fingerprint"] != digest:
        raise HTTPException(422, "this key was already used for a different request; use a new key")
    return Response(
        row["response_body"].encode(),
        status_code=row["status_code"],
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


Auth = Annotated[str, Header()]
Key = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


@app.post("/households", status_code=201)
async def register(body: HouseholdIn, request: Request, authorization: Auth, idempotency_key: Key) -> Response:
    clerk = Clerk(authorization)
    clerk.writable(body.region_code)
    digest = _digest("POST", request.url.path, body.model_dump(mode="json"))
    numbers = [parse_resident_id(m.id_number) for m in body.members]
    fingerprints = [id_fingerprint(rid.number, PII_KEY) for rid in numbers]
    household_id, now, correlation_id = uuid.uuid4(), datetime.now(UTC), uuid.uuid4().hex
    members = []
    for m, rid, fp in zip(body.members, numbers, fingerprints, strict=True):
        facts = m.model_dump(exclude={"name", "id_number", "relation"}, mode="json")
        if facts["counted"]:
            facts["not_counted_reason"] = None
        members.append(
            {"id": uuid.uuid4(), "name": m.name, "rid": rid, "fingerprint": fp, "relation": m.relation, "facts": facts}
        )
    incomes = [
        {
            "member_id": str(members[i.earner]["id"]) if i.earner is not None else None,
            **i.model_dump(exclude={"earner"}, mode="json"),
        }
        for i in body.incomes
    ]
    properties = [p.model_dump(mode="json") for p in body.properties]
    rigid = [r.model_dump(mode="json") for r in body.rigid_expenses]
    bank = body.bank_account
    snapshot = {
        "household_id": str(household_id),
        "region_code": body.region_code,
        "hukou_type": body.hukou_type,
        "members": [
            {
                "member_id": str(m["id"]),
                "name": m["name"],
                "birth_date": m["rid"].birth_date.isoformat(),
                "sex": m["rid"].sex,
                "relation": m["relation"],
                **m["facts"],
            }
            for m in members
        ],
        "incomes": incomes,
        "properties": properties,
        "rigid_expenses": rigid,
    }
    answer = orjson.dumps(
        {
            "id": str(household_id),
            "region_code": body.region_code,
            "region_name": None,
            "hukou_type": body.hukou_type,
            "address": body.address,
            "members": [
                {
                    "id": str(m["id"]),
                    "name": m["name"],
                    "id_number_masked": mask_resident_id(m["rid"].number),
                    "birth_date": m["rid"].birth_date.isoformat(),
                    "sex": m["rid"].sex,
                    "relation": m["relation"],
                    "facts": m["facts"],
                }
                for m in sorted(members, key=lambda m: (m["name"], m["id"]))
            ],
            "incomes": incomes,
            "properties": properties,
            "rigid_expenses": rigid,
            "bank_account": None
            if bank is None
            else {
                "bank_name": bank.bank_name,
                "account_holder": bank.account_holder,
                "account_number_masked": "*" * max(len(bank.account_number) - 4, 0) + bank.account_number[-4:],
            },
            "updated_at": now.isoformat(),
        }
    )
    account = dict.fromkeys(("bank_account_sealed", "bank_account_key_id", "bank_account_last4"))
    if bank is not None:
        account = seal_account(KEYRING, household_id, now, bank.account_number)
    sealed = {m["id"]: seal_id_number(KEYRING, m["id"], m["rid"].number) for m in members}
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(CLAIM, clerk.sub, idempotency_key, "POST", request.url.path, digest) is None:
            return await _replay(conn, clerk, idempotency_key, digest)
        if await conn.fetchval(TAKEN, fingerprints):
            raise HTTPException(409, "a member already belongs to another active household")
        await conn.execute(
            INSERT_HOUSEHOLD,
            household_id,
            body.region_code,
            body.hukou_type,
            body.address,
            _json(incomes),
            _json(properties),
            _json(rigid),
            bank and bank.bank_name,
            bank and bank.account_holder,
            account["bank_account_sealed"],
            account["bank_account_key_id"],
            account["bank_account_last4"],
            now,
        )
        try:
            await conn.executemany(
                INSERT_MEMBER,
                [
                    (
                        m["id"],
                        household_id,
                        m["name"],
                        sealed[m["id"]]["id_number_sealed"],
                        sealed[m["id"]]["id_number_key_id"],
                        sealed[m["id"]]["id_number_masked"],
                        m["fingerprint"],
                        m["rid"].birth_date,
                        m["rid"].sex,
                        m["relation"],
                        _json(m["facts"]),
                    )
                    for m in members
                ],
            )
        except asyncpg.UniqueViolationError as exc:  # a concurrent registration of the same person won
            raise HTTPException(409, "a member already belongs to another active household") from exc
        await conn.executemany(
            INSERT_AUDIT,
            [
                (
                    clerk.sub,
                    clerk.roles,
                    action,
                    "household",
                    str(household_id),
                    household_id,
                    body.region_code,
                    correlation_id,
                )
                for action in ("household.register", "household.read")
            ],
        )
        event_id = uuid.uuid4()
        await conn.execute(
            INSERT_OUTBOX,
            event_id,
            TOPIC[HOUSEHOLD_REGISTERED],
            str(household_id),
            HOUSEHOLD_REGISTERED,
            _cloudevent(
                event_id,
                HOUSEHOLD_REGISTERED,
                str(household_id),
                body.region_code,
                correlation_id,
                {
                    "household_id": str(household_id),
                    "region_code": body.region_code,
                    "snapshot": snapshot,
                    "household_version": 1,  # the household's first version, as intake's register gives it
                },
            ),
        )
        await conn.execute(STORE, clerk.sub, idempotency_key, 201, answer.decode())
    return Response(answer, status_code=201, media_type="application/json")


@app.post("/applications", status_code=201)
async def submit(body: ApplicationIn, request: Request, authorization: Auth, idempotency_key: Key) -> Response:
    clerk = Clerk(authorization)
    if body.programme in MEANS_TESTED and not body.consent_signed:
        raise HTTPException(422, f"{body.programme} needs the signed consent to the economic check")
    digest = _digest("POST", request.url.path, body.model_dump(mode="json"))
    application_id, now, correlation_id = uuid.uuid4(), datetime.now(UTC), uuid.uuid4().hex
    received_on = body.received_on or date.today()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(CLAIM, clerk.sub, idempotency_key, "POST", request.url.path, digest) is None:
            return await _replay(conn, clerk, idempotency_key, digest)
        household = await conn.fetchrow(HOUSEHOLD, body.household_id)
        if household is None or not household["region_code"].startswith(clerk.region):
            raise HTTPException(404, f"household {body.household_id} not found")
        region = household["region_code"]
        clerk.writable(region)
        members = await conn.fetch(MEMBERS, body.household_id)
        snapshot = {
            "household_id": str(body.household_id),
            "region_code": region,
            "hukou_type": household["hukou_type"],
            "members": [
                {
                    "member_id": str(m["id"]),
                    "name": m["name"],
                    "birth_date": m["birth_date"].isoformat(),
                    "sex": m["sex"],
                    "relation": m["relation"],
                    **orjson.loads(m["facts"]),
                }
                for m in members
            ],
            "incomes": orjson.loads(household["incomes"]),
            "properties": orjson.loads(household["properties"]),
            "rigid_expenses": orjson.loads(household["rigid_expenses"]),
        }
        try:
            await conn.execute(
                INSERT_APPLICATION,
                application_id,
                body.household_id,
                region,
                body.programme,
                received_on,
                body.consent_signed,
                body.applicant_member_id,
                body.separate_register,
                body.separate_register_name,
                "{}",
                now,
            )
        except asyncpg.UniqueViolationError as exc:
            raise HTTPException(409, f"household already has an open {body.programme} application") from exc
        await conn.execute(
            INSERT_AUDIT,
            clerk.sub,
            clerk.roles,
            "application.submit",
            "application",
            str(application_id),
            body.household_id,
            region,
            correlation_id,
        )
        data = {
            "application_id": str(application_id),
            "household_id": str(body.household_id),
            "programme": body.programme,
            "region_code": region,
            "submitted_on": received_on.isoformat(),
            "applicant_member_id": body.applicant_member_id and str(body.applicant_member_id),
            "consent_signed": body.consent_signed,
            "separate_register": body.separate_register,
            "details": {},
            "snapshot": snapshot,
        }
        event_id = uuid.uuid4()
        await conn.execute(
            INSERT_OUTBOX,
            event_id,
            TOPIC[APPLICATION_SUBMITTED],
            str(body.household_id),
            APPLICATION_SUBMITTED,
            _cloudevent(event_id, APPLICATION_SUBMITTED, str(body.household_id), region, correlation_id, data),
        )
        answer = orjson.dumps(
            {
                "id": str(application_id),
                "household_id": str(body.household_id),
                "region_code": region,
                "programme": body.programme,
                "status": "submitted",
                "submitted_on": received_on.isoformat(),
                "applicant_member_id": data["applicant_member_id"],
                "consent_signed": body.consent_signed,
                "separate_register": body.separate_register,
                "separate_register_name": body.separate_register_name,
                "details": {},
                "required_documents": [],
                "missing_documents": [],
                "case_id": None,
                "case_status": None,
                "next_deadline": None,
                "decision": None,
                "withdrawn_reason": None,
                "updated_at": now.isoformat(),
            }
        )
        await conn.execute(STORE, clerk.sub, idempotency_key, 201, answer.decode())
    return Response(answer, status_code=201, media_type="application/json")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
