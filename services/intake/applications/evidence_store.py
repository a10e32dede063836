"""Where evidence bytes live: in PostgreSQL, beside their rows, addressed by their SHA-256, in chunks.

A county's cluster then needs no shared (ReadWriteMany) volume, and the bytes commit in the same transaction as
the evidence row: no row without its file, no file without its row. Content addressing stores a file uploaded
twice once (a retried upload, or the same certificate for two applications). Chunks of CHUNK_BYTES are written in
one statement and read back one query at a time, so a download holds one chunk in memory and no connection
between chunks, however slow the client."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.intake.models import Evidence, EvidenceChunk
from shared.errors import PayloadTooLarge, UnsupportedMediaType

CHUNK_BYTES = 1024 * 1024

# Recognised by their first bytes: what the client calls the file is not trusted.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff(data: bytes) -> str | None:
    return next((content_type for magic, content_type in MAGIC if data.startswith(magic)), None)


def check_upload(data: bytes, max_bytes: int, field: str = "file") -> str:
    """The content type of an acceptable upload; 413/415 naming the field otherwise."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{field}: larger than {max_bytes} bytes",
            errors=[{"field": field, "message": f"at most {max_bytes} bytes"}],
        )
    if not data:
        raise UnsupportedMediaType(f"{field}: empty file", errors=[{"field": field, "message": "the file is empty"}])
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedMediaType(
            f"{field}: not a PDF, JPEG or PNG file",
            errors=[{"field": field, "message": "only PDF, JPEG or PNG files"}],
        )
    return content_type


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class EvidenceStore:
    """The evidence files' bytes (证明材料), by SHA-256: every query on `evidence_chunks`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, digest: str, data: bytes) -> None:
        """In the caller's transaction; a file already stored (the same bytes) is left as it is."""
        rows = [
            _row(digest, seq, data[offset : offset + CHUNK_BYTES])
            for seq, offset in enumerate(range(0, len(data), CHUNK_BYTES))
        ]
        await self.session.execute(insert(EvidenceChunk).on_conflict_do_nothing(), rows)

    async def put_chunk(self, digest: str, seq: int, data: bytes) -> None:
        await self.session.execute(insert(EvidenceChunk).on_conflict_do_nothing(), [_row(digest, seq, data)])

    async def chunk(self, digest: str, seq: int) -> bytes | None:
        return await self.session.scalar(_chunk(digest, seq))

    async def missing(self) -> list[tuple[str, int]]:
        """(SHA-256, size) of the files evidence rows name whose bytes are not stored (kept on disk before)."""
        stored = select(EvidenceChunk.sha256).where(EvidenceChunk.sha256 == Evidence.sha256)
        rows = await self.session.execute(
            select(Evidence.sha256, Evidence.size_bytes).where(~stored.exists()).distinct().order_by(Evidence.sha256)
        )
        return [tuple(row) for row in rows]


def _row(digest: str, seq: int, data: bytes) -> dict[str, object]:
    return {"sha256": digest, "seq": seq, "data": data}


def _chunk(digest: str, seq: int) -> Select[tuple[bytes]]:
    return select(EvidenceChunk.data).where(EvidenceChunk.sha256 == digest, EvidenceChunk.seq == seq)


async def stream(engine: AsyncEngine, digest: str, first: bytes) -> AsyncIterator[bytes]:
    """A stored file from its first chunk (already read, so a missing file answers 404 before the body starts)
    on: each further chunk read on a connection of its own, released before the chunk is sent."""
    yield first
    seq = 1
    while True:
        async with engine.connect() as conn:
            data = await conn.scalar(_chunk(digest, seq))
        if data is None:
            return
        yield data
        seq += 1
