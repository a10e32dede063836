"""`make run` stops everything it started, driven from a real terminal (a pseudo-terminal that is the controlling
terminal of its own session), exactly as a developer's shell runs it: Ctrl-C is the terminal driver signalling the
whole foreground process group (make, the stack, `tee`), and closing the terminal is a hangup.

Each run gets its own state folder, free ports and a marker in its environment, so the processes it leaves (if any)
are found by the marker, never by name, and the runs never touch another checkout's `make run`."""

from __future__ import annotations

import contextlib
import io
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openpyxl
import pytest
from infra import free_port, kafka_libs, port_open  # deploy/local/infra.py
from stack import SERVICES

from shared.core.period import Period, china_today
from tests.conftest import bearer

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@dataclass
class Terminal:
    """`sh -c <command>` in a fresh session whose controlling terminal is a new pty; the output is drained."""

    command: str
    env: dict[str, str]
    master: int = -1
    proc: subprocess.Popen | None = None
    output: bytearray = field(default_factory=bytearray)

    def start(self) -> None:
        self.master, slave = os.openpty()
        # setsid --ctty: a new session led by sh, with the pty as its controlling terminal, so sh's process group
        # (make, the stack, tee: a non-interactive sh runs the pipeline in its own group) is the foreground group.
        # A terminal's processes start with SIGHUP at its default, whatever this runner was started with: under
        # `nohup` (SIGHUP ignored, and inherited as ignored) make and tee would shrug off every hangup.
        hangup = signal.signal(signal.SIGHUP, signal.SIG_DFL)
        try:
            self.proc = subprocess.Popen(
                ["setsid", "--ctty", "sh", "-c", self.command],
                cwd=REPO,
                env=self.env,
                stdin=slave,
                stdout=slave,
                stderr=slave,
            )
        finally:
            signal.signal(signal.SIGHUP, hangup)
        os.close(slave)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                if ready:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        return
                    self.output += chunk
            except (OSError, ValueError):  # EIO once every slave is closed; EBADF after hangup()
                return

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert self.proc is not None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {needle!r}; terminal showed:\n{self.text()[-3000:]}")
            time.sleep(0.2)

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")  # the line discipline turns ^C into SIGINT for the foreground group

    def hangup(self) -> None:
        os.close(self.master)  # the terminal goes away: SIGHUP to the session leader and the foreground group


@dataclass
class MakeRun:
    marker: str
    state: Path
    ports: dict[str, int]

    def processes(self) -> dict[int, str]:
        """pid → command line of every live process carrying this run's marker in its environment."""
        found = {}
        needle = f"MAKE_RUN_TEST={self.marker}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if status != "Z":
                        found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        return found

    def open_ports(self) -> list[str]:
        return [name for name, port in self.ports.items() if port_open(port)]

    def wait_until_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (self.processes() or self.open_ports()) and time.monotonic() < deadline:
            time.sleep(0.5)

    def stack_pid(self) -> int:
        return next(pid for pid, cmd in self.processes().items() if "deploy/local/stack.py run" in cmd)


@pytest.fixture
def make_run() -> Iterator[tuple[MakeRun, dict[str, str]]]:
    tmp_path = Path(tempfile.mkdtemp(prefix="make-run-test-"))
    tmp_path.chmod(0o755)  # as root, the cluster runs as `postgres`, which must reach its data folder
    ports = {
        "postgres": free_port(),
        "kafka": free_port(),
        "kafka-controller": free_port(),
        **{service: free_port() for service in SERVICES},
    }
    run = MakeRun(uuid.uuid4().hex, tmp_path / "state", ports)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "ENVIRONMENT", "KEEP_INFRA"}
    }
    env.update(
        {
            "MAKE_RUN_TEST": run.marker,
            "LOCAL_STATE": str(run.state),
            "KAFKA_LIBS": str(kafka_libs()),
            "LOCAL_PG_PORT": str(ports["postgres"]),
            "LOCAL_KAFKA_PORT": str(ports["kafka"]),
            "LOCAL_KAFKA_CONTROLLER_PORT": str(ports["kafka-controller"]),
            "LOCAL_SERVICE_PORTS": ",".join(str(ports[s]) for s in SERVICES),
        }
    )
    yield run, env
    # Whatever a failed run left is removed here, found by its marker (never by name).
    for pid in run.processes():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM to the process group, twice"])
def test_ctrl_c_in_a_terminal_stops_everything_even_through_tee(
    make_run: tuple[MakeRun, dict[str, str]], how: str
) -> None:
    """Everything up, then stopped as a developer does (Ctrl-C) or as systemd, tmux and CI runners do (SIGTERM to
    the whole process group, and again: the stack gets it from the group and from make, then the repeat)."""
    run, env = make_run
    terminal = Terminal(f"trap : INT; make -s run 2>&1 | tee {run.state.parent / 'run.log'}", env)
    terminal.start()
    terminal.wait_for("Press Ctrl-C to stop.", timeout=300)
    assert "demo: loaded 3 villages" in terminal.text()  # the demo load ran as part of `make run`
    assert "demo: first case approved" in terminal.text()
    running = run.processes()
    assert any("kafka.Kafka" in cmd for cmd in running.values()), running
    assert any("postgres" in cmd for cmd in running.values()), running
    assert sum("uvicorn" in cmd for cmd in running.values()) == 4, running
    assert not set(run.ports) - set(run.open_ports())
    if how == "Ctrl-C":
        _the_demo_pays_its_approved_household(run.ports["payments"])
        _monitoring_names_the_demo_village(run.ports["monitoring"])

    assert terminal.proc is not None
    if how == "Ctrl-C":
        terminal.ctrl_c()
        terminal.proc.wait(timeout=120)  # sh returns once make has, and make waits for the stack's cleanup
    else:
        group = os.getpgid(_make_pid(run))
        for _ in range(2):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            time.sleep(0.3)
        run.wait_until_gone(timeout=120)

    assert run.processes() == {}
    assert run.open_ports() == []


def _the_demo_pays_its_approved_household(port: int) -> None:
    """The demo's approved household (刘志明, 铁边城镇张湾村) has its account on file: its township's batch pays
    every line to it, and the 花名册 names the village as the demo's village list does."""
    base, first = f"http://127.0.0.1:{port}", bearer("finance-1", ["finance"], "610626")
    with httpx.Client(base_url=base, timeout=30) as http:
        deadline = time.monotonic() + 60  # the approval reaches payments' roll through Kafka
        while not http.get("/beneficiaries", params={"region": "610626101"}, headers=first).json()["items"]:
            assert time.monotonic() < deadline, "the demo's approval did not reach the roll within a minute"
            time.sleep(0.5)
        month = str(Period.of(china_today()))
        r = http.post("/batches", json={"region_code": "610626101", "period": month}, headers=first)
        assert r.status_code in (200, 202), r.text
        batch = r.json()["id"]
        deadline = time.monotonic() + 60
        while http.get(f"/batches/{batch}", headers=first).json()["status"] == "building":
            assert time.monotonic() < deadline, "the demo's batch was not built within a minute"
            time.sleep(0.5)
        lines = http.get(f"/batches/{batch}/lines", headers=first).json()["items"]
        assert lines and {(x["status"], x["account_last4"]) for x in lines} == {("pending", "1111")}, lines
        assert http.post(f"/batches/{batch}/approve", headers=bearer("finance-2", ["finance"], "610626")).is_success
        assert http.post(f"/batches/{batch}/export", headers=first).is_success
        roster = http.get(f"/batches/{batch}/roster", params={"township": "610626101"}, headers=first)
        assert roster.status_code == 200, roster.text
    rows = openpyxl.load_workbook(io.BytesIO(roster.content), read_only=True).active.iter_rows(values_only=True)
    assert {r[1:4] for r in rows if isinstance(r[0], int)} == {("610626101201", "张湾村", "刘志明")}


def _monitoring_names_the_demo_village(port: int) -> None:
    """The demo's village list reaches monitoring's worker through Kafka (villages.loaded): its monthly report of
    the village names it as the county loaded it."""
    rural = bearer("xczx-1", ["partner:rural_revitalization"], "610626")
    path = f"/reports/monthly/610626101201/{Period.of(china_today())}"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        deadline = time.monotonic() + 60
        while (name := http.get(path, headers=rural).json()["region_name"]) != "铁边城镇张湾村":
            assert time.monotonic() < deadline, f"monitoring still names the village {name}"
            time.sleep(0.5)


def _make_pid(run: MakeRun) -> int:
    return next(pid for pid, cmd in run.processes().items() if cmd.startswith("make "))


def _wait_for_kafka(run: MakeRun, terminal: Terminal) -> None:
    deadline = time.monotonic() + 120
    while not (run.state / "kafka" / "kafka.pid").exists():
        assert time.monotonic() < deadline, terminal.text()
        time.sleep(0.1)
    assert any("kafka.Kafka" in cmd for cmd in run.processes().values())


@pytest.mark.parametrize("how", ["SIGTERM to the stack", "terminal closed"])
def test_a_stop_signal_while_starting_stops_what_was_started(
    make_run: tuple[MakeRun, dict[str, str]], how: str
) -> None:
    """Half-way through the start (the broker launched, the services not yet up) is where a signal used to leave
    PostgreSQL and Kafka behind: the handler was not installed yet, or the cleanup forgot what was started."""
    run, env = make_run
    terminal = Terminal("make -s run 2>&1 | tee /dev/null", env)
    terminal.start()
    _wait_for_kafka(run, terminal)

    if how == "SIGTERM to the stack":
        os.kill(run.stack_pid(), signal.SIGTERM)
    else:
        terminal.hangup()
    run.wait_until_gone(timeout=90)

    assert run.processes() == {}
    assert run.open_ports() == []


# How supervisors deliver a stop: systemd, tmux and CI runners signal the whole process group (make, the stack,
# the shell and tee each get it, the stack a second time when make forwards SIGTERM); `kill <pid>` signals make
# alone, which forwards SIGTERM to its recipe but only waits for it on SIGINT and SIGHUP; an impatient one repeats.
DELIVERIES = {
    "SIGTERM to the process group": (signal.SIGTERM, "group", 1),
    "SIGTERM to the process group, three times": (signal.SIGTERM, "group", 3),
    "SIGINT to the process group, three times": (signal.SIGINT, "group", 3),
    "SIGTERM to make alone": (signal.SIGTERM, "make", 1),
    "SIGINT to make alone": (signal.SIGINT, "make", 1),
    "SIGHUP to make alone": (signal.SIGHUP, "make", 1),
    "SIGTERM to make alone, three times": (signal.SIGTERM, "make", 3),
}


@pytest.mark.parametrize("how", DELIVERIES)
def test_a_supervisors_stop_signal_stops_everything(make_run: tuple[MakeRun, dict[str, str]], how: str) -> None:
    """Each way a supervisor stops `make run`, half-way through the start (PostgreSQL and Kafka running, the
    services about to start: the start-up's every later step unwinds through the same cleanup as the running
    stack's, so this is where the most can be left behind and the cheapest point to test each way)."""
    signum, target, times = DELIVERIES[how]
    run, env = make_run
    terminal = Terminal("make -s run 2>&1 | tee /dev/null", env)
    terminal.start()
    _wait_for_kafka(run, terminal)
    make = _make_pid(run)
    group = os.getpgid(make)

    for _ in range(times):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signum) if target == "group" else os.kill(make, signum)
        time.sleep(0.3)
    run.wait_until_gone(timeout=90)

    assert run.processes() == {}, terminal.text()[-3000:]
    assert run.open_ports() == []
    assert "Stopped." in terminal.text() or target == "group"  # tee died with the group: the rest went unseen
