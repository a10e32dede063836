"""Evidence files (证明材料) kept in PostgreSQL in chunks, on the real database: a file larger than a chunk goes
in and comes back byte for byte, streamed a chunk at a time; the same file is stored once; a refused upload
stores nothing."""

from __future__ import annotations

import hashlib
import os
from urllib.parse import quote

import pytest
from sqlalchemy import delete, func, select

from services.intake.applications.evidence_import import import_directory
from services.intake.applications.evidence_store import CHUNK_BYTES, EvidenceStore, stream
from services.intake.models import EvidenceChunk, platform
from shared.db import session_factory
from shared.uow import UnitOfWork
from tests.helpers import household_body


@pytest.fixture(scope="module", autouse=True)
def evidence_limit(api):
    """Room for a file of several chunks."""
    from services.intake.api import app

    settings = app.state.settings
    saved = settings.evidence_max_bytes
    settings.evidence_max_bytes = 8 * CHUNK_BYTES
    yield
    settings.evidence_max_bytes = saved


async def _application(api, tokens) -> str:
    household = await api("intake").post("/households", json=household_body(), headers=tokens["clerk"])
    assert household.status_code == 201, household.text
    body = {"household_id": household.json()["id"], "programme": "dibao", "consent_signed": True}
    application = await api("intake").post("/applications", json=body, headers=tokens["clerk"])
    assert application.status_code == 201, application.text
    return application.json()["id"]


async def _upload(api, tokens, application_id: str, data: bytes, name: str):
    return await api("intake").post(
        f"/applications/{application_id}/evidence",
        data={"kind": "income_proof"},
        files={"file": (name, data, "application/octet-stream")},
        headers=tokens["clerk"],
    )


async def _chunks(db, digest: str | None = None) -> list[tuple[int, int]]:
    """(seq, length) of the stored chunks of one file, or of all files."""
    query = select(EvidenceChunk.seq, func.length(EvidenceChunk.data)).order_by(EvidenceChunk.seq)
    if digest is not None:
        query = query.where(EvidenceChunk.sha256 == digest)
    async with db.connect() as conn:
        return [tuple(row) for row in await conn.execute(query)]


async def test_a_file_of_several_chunks_is_stored_once_and_streamed_back_byte_for_byte(api, tokens, db) -> None:
    # 3.5 chunks of a scanned PDF: random bytes, so nothing about it compresses or repeats.
    scan = b"%PDF-1.7\n" + os.urandom(3 * CHUNK_BYTES + CHUNK_BYTES // 2)
    digest = hashlib.sha256(scan).hexdigest()
    application_id = await _application(api, tokens)
    r = await _upload(api, tokens, application_id, scan, "收入证明.pdf")
    assert r.status_code == 201, r.text
    evidence = r.json()
    assert (evidence["sha256"], evidence["size_bytes"]) == (digest, len(scan))
    # Four chunks: three full ones and the half left over.
    assert await _chunks(db, digest) == [
        (0, CHUNK_BYTES),
        (1, CHUNK_BYTES),
        (2, CHUNK_BYTES),
        (3, CHUNK_BYTES // 2 + 9),
    ]

    url = f"/applications/{application_id}/evidence/{evidence['id']}"
    download = await api("intake").get(url, headers=tokens["reviewer"])
    assert download.status_code == 200
    assert download.content == scan
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(scan))
    assert download.headers["content-disposition"] == f"attachment; filename*=utf-8''{quote('收入证明.pdf')}"
    # What the response streams (the in-process client buffers it whole): the file a chunk at a time.
    pieces = [piece async for piece in stream(db, digest, scan[:CHUNK_BYTES])]
    assert b"".join(pieces) == scan
    assert [len(p) for p in pieces] == [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES // 2 + 9]

    # The same scan for another application of another household: a second row, no second copy of the bytes.
    other = await _application(api, tokens)
    before = await _chunks(db)
    again = await _upload(api, tokens, other, scan, "copy.pdf")
    assert again.status_code == 201 and again.json()["id"] != evidence["id"]
    assert await _chunks(db) == before
    second = await api("intake").get(f"/applications/{other}/evidence/{again.json()['id']}", headers=tokens["reviewer"])
    assert second.content == scan
    assert second.headers["content-disposition"] == 'attachment; filename="copy.pdf"'


async def test_the_bytes_commit_with_the_unit_of_work_or_not_at_all(db) -> None:
    """What a failed request leaves: its unit of work rolls back, and the bytes it stored go with its rows."""
    scan = b"%PDF-1.7\n" + os.urandom(CHUNK_BYTES + 1)
    digest = hashlib.sha256(scan).hexdigest()
    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        store = EvidenceStore(uow.session)
        await store.put(digest, scan)
        assert await store.chunk(digest, 1) == scan[CHUNK_BYTES:]  # there, inside the transaction
    assert await _chunks(db, digest) == []
    async with UnitOfWork(session_factory(db), platform, "/test") as uow:
        await EvidenceStore(uow.session).put(digest, scan)
        await uow.commit()
    assert await _chunks(db, digest) == [(0, CHUNK_BYTES), (1, 10)]


async def test_files_kept_on_disk_by_the_old_store_are_imported_once_checked(api, tokens, db, tmp_path) -> None:
    """An upgraded installation's evidence rows name files of the old directory store: they come into the
    database as they were uploaded; a missing or altered file is reported and not stored."""
    application_id = await _application(api, tokens)
    scans = [b"%PDF-1.7\n" + os.urandom(n) for n in (CHUNK_BYTES + 5, 300, 400)]
    digests = [hashlib.sha256(scan).hexdigest() for scan in scans]
    ids = []
    for n, scan in enumerate(scans):
        r = await _upload(api, tokens, application_id, scan, f"old-{n}.pdf")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # As the old release left them: the rows, the bytes on disk (but the third's lost, the second's altered).
    async with db.begin() as conn:
        await conn.execute(delete(EvidenceChunk).where(EvidenceChunk.sha256.in_(digests)))
    for digest, scan in zip(digests[:2], scans[:2], strict=True):
        (tmp_path / digest[:2]).mkdir(exist_ok=True)
        (tmp_path / digest[:2] / digest).write_bytes(scan)
    (tmp_path / digests[1][:2] / digests[1]).write_bytes(scans[1][:-1] + b"!")

    imported, problems = await import_directory(db, tmp_path)
    assert imported == 1
    assert sorted(p.split(":")[0] for p in problems if p.split(":")[0] in digests) == sorted(digests[1:])
    assert [length for _, length in await _chunks(db, digests[0])] == [CHUNK_BYTES, 14]
    assert await _chunks(db, digests[1]) == [] and await _chunks(db, digests[2]) == []
    r = await api("intake").get(f"/applications/{application_id}/evidence/{ids[0]}", headers=tokens["reviewer"])
    assert r.status_code == 200 and r.content == scans[0]
    r = await api("intake").get(f"/applications/{application_id}/evidence/{ids[2]}", headers=tokens["reviewer"])
    assert r.status_code == 404

    assert (await import_directory(db, tmp_path))[0] == 0  # again: nothing more
