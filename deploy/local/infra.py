"""Throwaway local infrastructure: a PostgreSQL 15 cluster and a single-node Apache Kafka (KRaft).

Used by `make run` (state under `.local/`, fixed ports, reused while running) and by the test suite
(state under a temporary folder, free ports, torn down afterwards), so the two never collide.

    python deploy/local/infra.py up      # start (or reuse) both, print the environment to use
    python deploy/local/infra.py down    # stop both cleanly
    python deploy/local/infra.py env     # print the environment of the running pair

Nothing here is for production: there, Kubernetes runs CloudNativePG and Strimzi (see deploy/k8s/).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAFKA_POM = REPO / "deploy" / "local" / "kafka" / "pom.xml"
DEFAULT_STATE = REPO / ".local"
DATABASE = "assistance"

# Every topic is created explicitly (auto-create is off on the broker) so a typo in a producer fails loudly.
TOPICS = (
    "intake.applications",
    "eligibility.decisions",
    "payments.disbursements",
    "monitoring.alerts",
)
PARTITIONS = 6
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below the kernel's ephemeral range and never handed out before by this process.
    A port the kernel picked (bind to 0) is an ephemeral one, which any outgoing connection may take before the
    server that was given it binds it: a broker started seconds later then failed to start."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randint(min(20000, low - 1000), low - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP while a process is started and recorded, then deliver them.

    A signal handler that unwinds (as `make run`'s does) could otherwise fire between starting a server and
    writing down its pid, and the cleanup would not know the server exists. The signal mask is left alone on
    purpose: children inherit it, and a broker or postmaster that blocks SIGTERM could not be stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda s, _f: held.append(s)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)


def _pg_bindir() -> Path:
    if configured := os.environ.get("PG_BINDIR"):
        return Path(configured)
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
    bindir = Path(out.strip())
    # Debian's client-only pg_config may point at /usr/bin; the server binaries live with the versioned install.
    if not (bindir / "initdb").exists():
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not candidates:
            raise RuntimeError("PostgreSQL server binaries (initdb) not found; install postgresql-15")
        bindir = candidates[-1].parent
    return bindir


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root, so root runs the cluster as the `postgres` system user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster in `root`, listening on 127.0.0.1:`port` only."""

    root: Path
    port: int
    durable: bool = True

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _pg(self, tool: str) -> str:
        return str(_pg_bindir() / tool)

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        r = subprocess.run(_as_postgres([self._pg("pg_ctl"), "status", "-D", str(self.data)]), capture_output=True)
        return r.returncode == 0

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            _chown_to_postgres(self.root)
            subprocess.run(
                _as_postgres(
                    [
                        self._pg("initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                capture_output=True,
                start_new_session=True,
            )
        if self.running():
            return
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.data}",
            "-c max_connections=300",
        ]
        if not self.durable:
            # Test clusters are thrown away; skipping fsync makes migrations and suites several times faster.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        # Started in its own session and not interrupted half-way, so a Ctrl-C in the terminal cannot leave a
        # postmaster that came up after its pg_ctl was killed; the caller's cleanup then stops a known cluster.
        with uninterrupted():
            subprocess.run(
                _as_postgres(
                    [
                        self._pg("pg_ctl"),
                        "start",
                        "-D",
                        str(self.data),
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        str(self.data / "server.log"),
                        "-o",
                        " ".join(options),
                    ]
                ),
                check=True,
                capture_output=True,
                start_new_session=True,
            )
        exists = subprocess.run(
            [
                self._pg("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [self._pg("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE],
                check=True,
                capture_output=True,
            )

    def stop(self) -> None:
        if self.running():
            subprocess.run(
                _as_postgres([self._pg("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]),
                capture_output=True,
            )


def kafka_libs(state: Path = DEFAULT_STATE) -> Path:
    """Broker jars from Maven Central, fetched once with `mvn` and reused afterwards."""
    libs = Path(os.environ.get("KAFKA_LIBS", state / "kafka-libs"))
    marker = libs / ".complete"
    if not marker.exists():
        libs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(KAFKA_POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ],
            check=True,
        )
        marker.write_text(KAFKA_POM.read_text())
    return libs


def _kafka_uuid() -> str:
    # Kafka's cluster id is a URL-safe base64 UUID without padding, as `kafka-storage random-uuid` prints; like
    # Kafka's own, never one starting with "-", which the storage tool would read as an option.
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


@dataclass
class Kafka:
    """A single-node KRaft broker+controller in `root`, listening on 127.0.0.1:`port`."""

    root: Path
    port: int
    controller_port: int
    libs: Path | None = None  # resolved (and fetched) only when the broker is started
    heap: str = "512m"
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.root / "kafka.pid"

    def _java(self, main: str, *args: str) -> list[str]:
        log4j = REPO / "deploy" / "local" / "kafka" / "log4j2.properties"
        return [
            os.environ.get("JAVA", "java"),
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{self.libs or kafka_libs()}/*",
            main,
            *args,
        ]

    def _write_config(self) -> Path:
        config = self.root / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.root / 'logs'}",
                    f"num.partitions={PARTITIONS}",
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        return config

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None

    def start(self, timeout: float = 90.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.pid() and port_open(self.port):
            return
        config = self._write_config()
        if not (self.root / "logs" / "meta.properties").exists():
            subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "-t", _kafka_uuid(), "-c", str(config)),
                check=True,
                capture_output=True,
                start_new_session=True,
            )
        with open(self.root / "broker.log", "ab") as log, uninterrupted():
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(config)),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._proc = proc
            self.pidfile.write_text(str(proc.pid))
        asyncio.run(wait_for_kafka(self.bootstrap, timeout, proc))
        asyncio.run(ensure_topics(self.bootstrap))

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10.0)
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """Hard stop, for fault tests: the broker vanishes as it would on a crashed node."""
        if pid := self.pid():
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 30.0)
            self.pidfile.unlink(missing_ok=True)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:  # reaps our own child, which would otherwise stay a zombie
                    return True
            else:
                with contextlib.suppress(ChildProcessError):  # our child, started by an earlier object: reap it
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        return True
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
            time.sleep(0.1)
        return False


async def wait_for_kafka(bootstrap: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Ready means the broker answers a metadata request with itself as a live broker."""
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    # aiokafka logs every refused connection at ERROR; while waiting those are expected.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Kafka exited with {proc.returncode}; see broker.log")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if cluster.get("brokers"):
                return
        except Exception as exc:
            last = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout}s: {last!r}")


async def ensure_topics(bootstrap: str, topics: tuple[str, ...] = TOPICS) -> None:
    """Create each topic and its dead-letter topic `<topic>.dlq` unless they exist."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for t in topics for name in (t, f"{t}.dlq") if name not in existing]
        if wanted:
            await admin.create_topics(
                [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in wanted]
            )
    finally:
        await admin.close()


def _given(variable: str) -> Callable[[], str | None]:
    return lambda: os.environ.get(variable) or None


@dataclass
class LocalInfra:
    """The pair `make run` uses: fixed ports (overridable), state under `.local/` (or LOCAL_STATE).

    A PostgreSQL or Kafka given in the environment (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS) when this object is made
    is used and never started or stopped; what it decides at construction holds, so exporting the environment of
    the started pair afterwards does not make `down` forget to stop it."""

    state: Path = field(default_factory=lambda: Path(os.environ.get("LOCAL_STATE", DEFAULT_STATE)))
    pg_port: int = field(default_factory=lambda: int(os.environ.get("LOCAL_PG_PORT", "55432")))
    kafka_port: int = field(default_factory=lambda: int(os.environ.get("LOCAL_KAFKA_PORT", "59092")))
    controller_port: int = field(default_factory=lambda: int(os.environ.get("LOCAL_KAFKA_CONTROLLER_PORT", "59093")))
    given_database_url: str | None = field(default_factory=_given("DATABASE_URL"))
    given_bootstrap: str | None = field(default_factory=_given("KAFKA_BOOTSTRAP_SERVERS"))
    _kafka: Kafka | None = field(default=None, repr=False)

    def postgres(self) -> Postgres:
        return Postgres(self.state / "postgres", self.pg_port)

    def kafka(self) -> Kafka:
        if self._kafka is None:  # one object, so stopping reaps the broker this process started
            self._kafka = Kafka(self.state / "kafka", self.kafka_port, self.controller_port)
        return self._kafka

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.given_database_url or self.postgres().url,
            "KAFKA_BOOTSTRAP_SERVERS": self.given_bootstrap or self.kafka().bootstrap,
        }

    def up(self) -> dict[str, str]:
        if self.given_database_url is None:
            self.postgres().start()
        if self.given_bootstrap is None:
            kafka = self.kafka()
            kafka.libs = kafka_libs(self.state)
            kafka.start()
        else:
            asyncio.run(ensure_topics(self.given_bootstrap))
        return self.env()

    def down(self) -> None:
        if self.given_bootstrap is None:
            self.kafka().stop()  # stopping needs no jars
        if self.given_database_url is None:
            self.postgres().stop()


@contextlib.contextmanager
def throwaway(prefix: str = "assistance-") -> Iterator[tuple[Postgres, Kafka]]:
    """A PostgreSQL and a Kafka of their own on free ports in a temporary folder, removed afterwards.

    Tests and benchmarks use this, so they never collide with `make run` or another checkout."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        os.chmod(root, 0o755)  # the postgres user must reach its data folder
    pg = Postgres(root / "postgres", free_port(), durable=False)
    kafka = Kafka(root / "kafka", free_port(), free_port(), libs=kafka_libs())
    try:
        pg.start()
        kafka.start()
        yield pg, kafka
    finally:
        kafka.kill()  # its data is about to be deleted; a controlled shutdown would only cost time
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "env", "wipe"])
    args = parser.parse_args(argv)
    infra = LocalInfra()
    if args.command == "up":
        env = infra.up()
    elif args.command == "down":
        infra.down()
        return 0
    elif args.command == "wipe":
        infra.down()
        shutil.rmtree(infra.state / "postgres", ignore_errors=True)
        shutil.rmtree(infra.state / "kafka", ignore_errors=True)
        return 0
    else:
        env = infra.env()
    for key, value in env.items():
        print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
