"""The application kit (shared/app.py): the request guard every service has, and the problem responses it declares
on every operation of the OpenAPI."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.app import RequestGuard, UowDep, create_app, document_problems, install_error_handlers
from shared.auth import Principal
from shared.db import PlatformTables, service_metadata
from shared.deps import require
from shared.errors import PROBLEM
from shared.settings import ServiceSettings

Official = Annotated[Principal, Depends(require("clerk"))]


class Visit(BaseModel):
    findings: str
    investigators: list[str] = []
    extra: dict[str, str] = {}


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    document_problems(app)
    app.add_middleware(RequestGuard)

    @app.post("/cases/{case_id}/home-visits")
    async def visit(case_id: uuid.UUID, body: Visit, uow: UowDep, p: Official) -> dict:
        return {}

    @app.post("/echo")
    async def echo(body: Visit, q: str = "") -> dict:
        return {"findings": body.findings, "q": q}

    @app.get("/plain")
    async def plain() -> dict:
        return {}

    @app.post("/upload")
    async def upload(file: Annotated[UploadFile, File()]) -> dict:
        return {"size": len(await file.read())}

    return app


def test_control_characters_are_refused_naming_each_field():
    client = TestClient(_app())
    r = client.post(
        "/echo",
        json={
            "findings": "ok\u0000",
            "investigators": ["张强", "李\u0007娜"],
            "extra": {"k\u001b": "v", "note": "\u0085"},
        },
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == ["findings", "investigators[1]", "extra.k\u001b", "extra.note"]
    r = client.post("/echo?q=a%00b", json={"findings": "ok"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.q"
    for content_type in ("application/json", "application/merge-patch+json; charset=utf-8", None):
        headers = {"content-type": content_type} if content_type else {}
        r = client.post("/echo", content=b'{"findings": "a\\u007f"}', headers=headers)  # FastAPI reads all as JSON
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "findings", content_type


def test_free_text_keeps_tabs_and_line_breaks_and_uploads_are_not_read():
    client = TestClient(_app())
    r = client.post("/echo", json={"findings": "窑洞一孔\n\t家中无大件家电\r\n"})
    assert r.status_code == 200 and r.json()["findings"] == "窑洞一孔\n\t家中无大件家电\r\n"
    r = client.post("/upload", files={"file": ("scan.pdf", b"%PDF\x00\x01\x02")})
    assert r.status_code == 200 and r.json() == {"size": 7}
    deep = b'{"findings": "x", "extra": ' + b"[" * 5000 + b'"\\u0000"' + b"]" * 5000 + b"}"
    r = client.post("/echo", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"  # checked, or refused: never a 500
    r = client.post("/echo", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"  # not UTF-8: never a 400 or 500


def test_every_operation_declares_its_problem_responses_with_one_shared_schema():
    spec = _app().openapi()
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    step = spec["paths"]["/cases/{case_id}/home-visits"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422", "503"} <= set(step)
    assert all(step[s]["content"] == problem for s in ("401", "403", "404", "409", "422", "503"))
    echo = spec["paths"]["/echo"]["post"]["responses"]
    assert "422" in echo and "401" not in echo and "404" in echo  # no token needed; a write may refer to nothing
    assert set(spec["paths"]["/plain"]["get"]["responses"]) == {"200"}
    assert {"413", "415"} <= set(spec["paths"]["/upload"]["post"]["responses"])
    schemas = spec["components"]["schemas"]
    assert {"Problem", "FieldError"} <= set(schemas) and "HTTPValidationError" not in schemas
    assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["required"])


def test_every_service_app_has_the_guard_and_the_documented_errors():
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict:
        return {}

    app = create_app(ServiceSettings(), PlatformTables(service_metadata("test")), [router], title="t")
    assert RequestGuard in [m.cls for m in app.user_middleware]
    assert "404" in app.openapi()["paths"]["/things/{thing_id}"]["get"]["responses"]
