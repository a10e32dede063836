"""Measurement helpers shared by the benchmarks: CPU of this process and of server process trees,
percentiles, and the local infrastructure module."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def process_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _proc_ticks(pid: int, include_children: bool = True) -> int:
    # Fields 14-17 of /proc/<pid>/stat: utime, stime, cutime, cstime (after the parenthesised comm).
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if include_children else 0)


def tree_cpu(root: int | None) -> float:
    """CPU seconds of a server process and its children: the postmaster's cutime covers exited backends, live
    ones are added from /proc, so deltas across a phase include every backend that phase used."""
    if root is None:
        return 0.0
    ticks = 0
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        ticks += _proc_ticks(root)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == root:
                ticks += _proc_ticks(int(entry))
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


def infra_module() -> ModuleType:
    # deploy/local/infra.py is a script module, not a package import; put its folder on the path.
    sys.path.insert(0, str(REPO / "deploy" / "local"))
    import infra

    return infra
