"""`python -m services.intake.reseal [--chunk N] [--max-chunks N] [--announce-payees]`: re-seal intake's secrets
under the current key and crypto profile (INTAKE_SEALING_KEY_ID, INTAKE_CRYPTO_PROFILE), progress on stderr.
Run it again after an interruption: it resumes where it stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from services.intake.config import Settings
from services.intake.models import platform
from services.intake.reseal.service import reseal
from shared.db import create_engine, session_factory
from shared.uow import UnitOfWork


async def run(settings: Settings, chunk: int, max_chunks: int | None, announce_payees: bool) -> None:
    engine = create_engine(settings.database_url, 2)
    sessions = session_factory(engine)
    try:
        await reseal(
            lambda: UnitOfWork(sessions, platform, f"/services/{settings.service_name}"),
            settings,
            chunk=chunk,
            max_chunks=max_chunks,
            announce_payees=announce_payees,
        )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.intake.reseal", description=__doc__)
    parser.add_argument("--chunk", type=int, default=2000, help="households per committed chunk (default 2000)")
    parser.add_argument("--max-chunks", type=int, default=None, help="stop after this many chunks (resume later)")
    parser.add_argument(
        "--announce-payees",
        action="store_true",
        help="announce every bank account to payments again (new payee versions under the current key)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    asyncio.run(run(Settings(), args.chunk, args.max_chunks, args.announce_payees))


if __name__ == "__main__":
    main()
