"""The four services as separate processes: an API (uvicorn) and a worker (relay + consumers) each.

`make run` uses `python deploy/local/stack.py run`; the end-to-end tests use `Stack` to start, kill and restart
single processes against their own throwaway PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from infra import STOP_SIGNALS, LocalInfra, uninterrupted

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"intake": 8001, "eligibility": 8002, "payments": 8003, "monitoring": 8004}
# As the image sets it (Dockerfile): one malloc arena per process. A thread that builds a chunk's rows (the 提标
# recompute prices in one) otherwise gets an arena of its own that glibc keeps after the chunk is freed.
PROCESS_ENV = {"MALLOC_ARENA_MAX": "1"}


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    log_dir: Path = REPO / ".local" / "logs"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def _spawn(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**PROCESS_ENV, **os.environ, **self.env, **(extra_env or {}), "PYTHONPATH": str(REPO)}
        with open(self.log_dir / f"{name}.log", "ab") as log, uninterrupted():  # started and recorded as one
            proc = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.procs[name] = proc
        return proc

    def start_api(self, service: str) -> None:
        # Services this one calls over REST, in this stack: intake's roll import prices rows at eligibility's
        # POST /assessments; eligibility's what-if (试算) asks payments what holds money for the months it changes,
        # and a review (定期核查) asks intake the household's current version.
        calls = {}
        if service == "intake" and "eligibility" in self.ports:
            calls["INTAKE_ELIGIBILITY_URL"] = self.url("eligibility")
        if service == "eligibility" and "payments" in self.ports:
            calls["ELIGIBILITY_PAYMENTS_URL"] = self.url("payments")
        if service == "eligibility" and "intake" in self.ports:
            calls["ELIGIBILITY_INTAKE_URL"] = self.url("intake")
        # API_WORKERS=N runs N uvicorn worker processes behind the one port (make run keeps one).
        self._spawn(
            f"{service}-api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"services.{service}.api:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports[service]),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "10",
                "--workers",
                str(self.env.get("API_WORKERS", os.environ.get("API_WORKERS", "1"))),
            ],
            {k: v for k, v in calls.items() if k not in self.env and k not in os.environ},
        )

    def start_worker(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        self._spawn(f"{service}-worker", [sys.executable, "-m", f"services.{service}.worker"], extra_env)

    def start_all(self) -> None:
        for service in self.ports:
            self.start_api(service)
            self.start_worker(service)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            for service in self.ports:
                if f"{service}-api" not in self.procs:
                    continue
                while True:
                    proc = self.procs[f"{service}-api"]
                    if proc.poll() is not None:
                        raise RuntimeError(f"{service} API exited with {proc.returncode}; see {self.log_dir}")
                    try:
                        if (await client.get(self.url(service) + "/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{service} API not healthy after {timeout}s")
                    await asyncio.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to finish anything, as in a node crash."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop(self, name: str, timeout: float = 20.0) -> None:
        self.stop_all(timeout, only=[name])

    def stop_all(self, timeout: float = 20.0, only: list[str] | None = None) -> None:
        """SIGTERM to each process group at once, then wait for all; SIGKILL whatever outlives `timeout`."""
        names = list(self.procs) if only is None else only
        procs = [self.procs.pop(name) for name in names]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # its own session: pid is the group id
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived: unwind whatever `make run` is doing and stop what it started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_stopping: list[int] = []  # the stop signal being handled, once one arrived


def _interrupt(signum: int, _frame: object) -> None:
    """Unwind on the first stop signal only. A supervisor signalling the process group reaches the stack twice
    (directly, and forwarded by make), and an impatient one repeats: a second raise would land in the middle of
    the cleanup the first one started and cut it short."""
    if _stopping:
        return
    _stopping.append(signum)
    raise Interrupted(signum)


# The signals make blocks while it runs its handler for them: the handler waits for the recipe to finish.
_PARENT_STOPPING = {signal.SIGINT: 1 << 1, signal.SIGHUP: 1 << 0, signal.SIGTERM: 1 << 14}


def _parent_stop_signal(parent: int) -> int | None:
    """The stop signal make (our parent) is handling, or SIGHUP if it is gone; None while it runs as usual.

    A signal sent to make's PID alone never reaches the stack: on SIGINT and SIGHUP make only waits for its recipe
    to end (GNU make's fatal_error_signal), which it never would. Make blocks that signal while its handler waits,
    so the parent's blocked-signal mask in /proc tells the stack to stop."""
    if os.getppid() != parent:
        return signal.SIGHUP  # reparented: whoever started us died
    try:
        status = Path(f"/proc/{parent}/status").read_text()
    except OSError:
        return signal.SIGHUP
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if fields.get("Name", "").strip() not in ("make", "gmake"):
        return None  # started by hand: a shell blocks signals for its own reasons
    blocked = int(fields.get("SigBlk", "0"), 16)
    return next((signum for signum, bit in _PARENT_STOPPING.items() if blocked & bit), None)


def _watch_parent(parent: int) -> None:
    """Runs in a daemon thread: turns make's stop (or death) into the same signal to the stack itself."""
    while not _stopping:
        if (signum := _parent_stop_signal(parent)) is not None:
            os.kill(os.getpid(), signum)
            return
        time.sleep(0.2)


def _say(*lines: str, err: bool = False) -> None:
    """Print, surviving a reader that went away: piped through `tee`, Ctrl-C kills tee too, and a closed
    terminal answers EIO. A failed print must never cut the cleanup short, so output then goes to /dev/null."""
    stream = sys.stderr if err else sys.stdout
    try:
        print(*lines, sep="\n", file=stream, flush=True)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _service_ports() -> dict[str, int]:
    """LOCAL_SERVICE_PORTS=9001,9002,9003,9004 moves the four APIs (in SERVICES' order) off the defaults."""
    if configured := os.environ.get("LOCAL_SERVICE_PORTS"):
        return dict(zip(SERVICES, (int(p) for p in configured.split(",")), strict=True))
    return dict(SERVICES)


def run() -> int:
    """`make run`: infrastructure, migrations, the eight processes, demo data; Ctrl-C stops what it started.

    Every stop signal (Ctrl-C reaches the whole foreground process group; SIGTERM from a supervisor, to the group
    or to make alone; SIGHUP when the terminal closes) unwinds to one cleanup, which itself ignores further signals
    so an impatient second Ctrl-C cannot leave half of it undone; a stop signal to make alone, or make's death,
    reaches the stack through `_watch_parent`."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="watch-parent").start()
    infra = LocalInfra()
    state = infra.state
    stack = Stack({}, ports=_service_ports(), log_dir=state / "logs")
    code = 0
    try:
        _say("Starting PostgreSQL and Kafka...")
        env = infra.up()
        stack.env = env
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "shared.migrations"], cwd=REPO, check=True, env={**os.environ})
        stack.start_all()
        asyncio.run(stack.wait_healthy())
        subprocess.run(
            [sys.executable, "-m", "deploy.local.demo", *[stack.url(s) for s in SERVICES]],
            cwd=REPO,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        token = subprocess.run(
            [sys.executable, "-m", "shared.auth", "--sub", "dev-admin", "--roles", "admin", "--region", "610626"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        _say(
            "",
            f"Services are up (logs in {state / 'logs'}):",
            *[f"  {service:<12} {stack.url(service)}/docs" for service in SERVICES],
            "",
            "Development token (admin, 吴起县 610626):",
            f"  {token}",
            "",
            "More tokens: .venv/bin/python -m shared.auth --sub clerk-1 --roles clerk --region 610626101",
            "Press Ctrl-C to stop.",
        )
        while True:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {state / 'logs'}/{name}.log")
            time.sleep(0.5)
    except Interrupted as stop:
        code = 128 + stop.signum
    except Exception as exc:
        _say(f"make run failed: {exc}", err=True)
        code = 1
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        _say("Stopping services...")
        stack.stop_all()
        if os.environ.get("KEEP_INFRA") != "1":
            _say("Stopping PostgreSQL and Kafka...")
            infra.down()
        _say("Stopped.")
    return code


if __name__ == "__main__":
    if sys.argv[1:] == ["run"]:
        sys.exit(run())
    print("usage: stack.py run", file=sys.stderr)
    sys.exit(2)
