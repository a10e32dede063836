"""uvicorn for `--profile` runs (bench/roll_import.py): run under `python -m cProfile -o FILE bench/serve_profiled.py
<uvicorn arguments>`. uvicorn re-raises the SIGTERM it stopped on once shut down; with the default handler that
kills the process before cProfile writes its profile, so the signal exits normally here instead."""

from __future__ import annotations

import signal
import sys

import uvicorn


def _exit(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit)
    sys.argv = ["uvicorn", *sys.argv[1:]]
    uvicorn.main()
