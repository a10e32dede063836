"""The four services as separate processes: an API (uvicorn) and a worker (relay + consumers) each.

`make run` uses `python deploy/local/stack.py run`; the end-to-end tests use `Stack` to start, kill and restart
single processes against their own throwaway PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"intake": 8001, "eligibility": 8002, "payments": 8003, "monitoring": 8004}


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    log_dir: Path = REPO / ".local" / "logs"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def _spawn(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, **(extra_env or {}), "PYTHONPATH": str(REPO)}
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_api(self, service: str) -> None:
        # API_WORKERS=N runs N uvicorn worker processes behind the one port (make run keeps one).
        self._spawn(f"{service}-api", [
            sys.executable, "-m", "uvicorn", f"services.{service}.api:app", "--host", "127.0.0.1",
            "--port", str(self.ports[service]), "--no-access-log", "--timeout-graceful-shutdown", "10",
            "--workers", str(self.env.get("API_WORKERS", os.environ.get("API_WORKERS", "1"))),
        ])

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
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def _demo_env() -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from infra import LocalInfra

    return LocalInfra().up()


def run() -> int:
    """`make run`: infrastructure, migrations, the eight processes, demo data; Ctrl-C stops what it started."""
    env = _demo_env()
    os.environ.update(env)
    subprocess.run([sys.executable, "-m", "shared.migrations"], cwd=REPO, check=True, env={**os.environ})
    stack = Stack(env)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start_all()
        asyncio.run(stack.wait_healthy())
        subprocess.run([sys.executable, "-m", "deploy.local.demo", *[stack.url(s) for s in SERVICES]],
                       cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        token = subprocess.run([sys.executable, "-m", "shared.auth", "--sub", "dev-admin", "--roles", "admin",
                                "--region", "610626"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.strip()
        print("\nServices are up (logs in .local/logs/):")
        for service in SERVICES:
            print(f"  {service:<12} {stack.url(service)}/docs")
        print(f"\nDevelopment token (admin, 吴起县 610626):\n  {token}\n")
        print("More tokens: .venv/bin/python -m shared.auth --sub clerk-1 --roles clerk --region 610626101")
        print("Press Ctrl-C to stop.")
        while not stop:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see .local/logs/{name}.log", file=sys.stderr)
                    stop = True
            time.sleep(0.5)
    finally:
        print("Stopping services...")
        stack.stop_all()
        if os.environ.get("KEEP_INFRA") != "1":
            subprocess.run([sys.executable, str(Path(__file__).parent / "infra.py"), "down"], cwd=REPO)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["run"]:
        sys.exit(run())
    print("usage: stack.py run", file=sys.stderr)
    sys.exit(2)
