"""Clients generated from each running service's OpenAPI (openapi-python-client, as a partner agency or a township
app would) carry every operation, the binary ones included: the feed upload (text/csv), evidence files, the bank
file, the 花名册 and the other .xlsx / .docx downloads. A body the OpenAPI left undeclared, or declared in a way the
generator cannot use, shows up here as a missing operation, a generator warning or a body that is not a `File`.

The generator understands JSON, forms, multipart and `application/octet-stream`; every other media type the OpenAPI
declares is mapped onto octet-stream (its `content_type_overrides`), which is how its users generate such clients."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from stack import SERVICES  # deploy/local/stack.py

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
JSON_MEDIA = ("application/json", "application/problem+json", "multipart/form-data")
_CALL = re.compile(r'"method": "(\w+)",\s*"url": (?:f?"([^"]+)")')


def _bodies(operation: dict) -> dict[str, dict]:
    """Media type → schema of the operation's request body and of every response."""
    contents = [operation.get("requestBody", {}).get("content", {})]
    contents += [response.get("content", {}) for response in operation.get("responses", {}).values()]
    return {media: body.get("schema", {}) for content in contents for media, body in content.items()}


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_generated_client_has_every_operation_binary_bodies_as_files(stack, service, tmp_path):
    spec = httpx.get(stack.url(service) + "/openapi.json").json()
    operations = {
        (method, path): operation for path, methods in spec["paths"].items() for method, operation in methods.items()
    }
    binary = {media for op in operations.values() for media in _bodies(op) if media not in JSON_MEDIA}
    (tmp_path / "openapi.json").write_text(httpx.get(stack.url(service) + "/openapi.json").text)
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"content_type_overrides": dict.fromkeys(sorted(binary), "application/octet-stream")})
    )
    shutil.rmtree(tmp_path / "client", ignore_errors=True)
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            "client",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ['PATH']}"},  # its post-hooks run our ruff
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stdout + run.stderr, run.stdout + run.stderr  # nothing dropped or left out

    generated = {
        (method, url): module
        for module in (tmp_path / "client" / "api").rglob("*.py")
        for method, url in _CALL.findall(module.read_text())
    }
    assert set(generated) == set(operations), set(operations) ^ set(generated)
    files = 0
    for (method, path), operation in operations.items():
        media = set(_bodies(operation)) - set(JSON_MEDIA)
        if not media:
            continue
        # Every binary body is declared as bytes, so the generated call sends or returns them as a File.
        assert all(_bodies(operation)[m] == {"type": "string", "format": "binary"} for m in media), (path, media)
        code = generated[(method, path)].read_text()
        upload = set(operation.get("requestBody", {}).get("content", {}))
        if upload and upload <= media:
            assert re.search(r"body:\s+File\b", code), (path, code[:2000])
            files += 1
        answers = [set(r.get("content", {})) for r in operation["responses"].values()]
        if any(answer and answer <= media for answer in answers):  # a download only ever binary
            assert "File(payload=BytesIO(response.content))" in code, (path, code[:2000])
            files += 1
        # A 200 that is JSON or, with `format=xlsx`, a spreadsheet is generated as the JSON model: the generator
        # keeps one media type per status (README); the binary one is still declared, as checked above.
    assert binary, "no binary body at all: the test would prove nothing"
    assert files or service == "eligibility", "no binary-only body found"  # eligibility's are JSON or .xlsx
