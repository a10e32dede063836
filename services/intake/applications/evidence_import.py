"""Evidence files kept on disk by the releases before evidence moved into PostgreSQL (INTAKE_EVIDENCE_DIR; under
`make run`, `.local/evidence`), brought into the database once, after the upgrade:

    python -m services.intake.applications.evidence_import .local/evidence

Each file an evidence row names whose bytes the database lacks is read a chunk at a time from
`<dir>/<sha256[:2]>/<sha256>` (the old store's layout), checked against its SHA-256 and size, and committed in
one transaction of its own; a missing or altered file is reported and left out. Running it again does nothing
more (and a file already imported is skipped)."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.applications.evidence_store import CHUNK_BYTES, EvidenceStore
from services.intake.config import Settings
from shared.db import create_engine, session_factory


class _Altered(Exception):
    pass


async def import_directory(engine: AsyncEngine, directory: Path) -> tuple[int, list[str]]:
    """How many files were imported, and what was wrong with the others (by SHA-256)."""
    sessions = session_factory(engine)
    async with sessions() as session:
        missing = await EvidenceStore(session).missing()
    imported, problems = 0, []
    for digest, size in missing:
        path = directory / digest[:2] / digest
        if not path.is_file():
            problems.append(f"{digest}: not in {directory}")
            continue
        try:
            async with sessions() as session, session.begin():  # rolled back on _Altered
                store, hasher, length = EvidenceStore(session), hashlib.sha256(), 0
                with path.open("rb") as file:
                    for seq, data in enumerate(iter(lambda f=file: f.read(CHUNK_BYTES), b"")):
                        hasher.update(data)
                        length += len(data)
                        await store.put_chunk(digest, seq, data)
                if (hasher.hexdigest(), length) != (digest, size):
                    raise _Altered
        except _Altered:
            problems.append(f"{digest}: the file's bytes are not those uploaded ({length} bytes)")
            continue
        imported += 1
    return imported, problems


async def main(directory: Path) -> int:
    engine = create_engine(Settings().database_url, 2)
    try:
        imported, problems = await import_directory(engine, directory)
    finally:
        await engine.dispose()
    print(f"imported {imported} evidence files from {directory}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
