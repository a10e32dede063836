"""Where evidence bytes live: outside the database row, addressed by their SHA-256.

Content addressing makes writes idempotent (a retried upload rewrites the same file) and means a crash between
writing the file and committing the row leaves only an unreferenced copy, never a row without its
file. Development uses a directory (INTAKE_EVIDENCE_DIR); an S3-compatible store implements the same
two methods."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from shared.errors import PayloadTooLarge, UnsupportedMediaType

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


class EvidenceStore(Protocol):
    async def put(self, digest: str, data: bytes) -> None: ...

    def path(self, digest: str) -> Path: ...


class LocalEvidenceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, digest: str) -> Path:
        return self.directory / digest[:2] / digest

    async def put(self, digest: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, digest, data)

    def _write(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
