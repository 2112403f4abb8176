"""RabbitMQ nodes a test starts and owns: one node, or a cluster of several.

The broker on 127.0.0.1:5672 is shared by everyone on the machine; a test that must stop,
restart or partition a broker starts its own node here instead. Each node has its own
node name, AMQP port, distribution port, configuration file, enabled-plugins file and data
and log directories under a temporary directory, so it never reads /etc/rabbitmq (whose
rabbitmq.conf pins 5672) and never touches the shared node's data. Nodes are stopped in a
`finally` by the context managers below, and their directory is removed.

As root the node runs as the `rabbitmq` user (the Debian package's own wrapper does the
same), so it shares that user's Erlang cookie with `rabbitmqctl`; as any other user it runs
as that user with the user's own cookie.

Every wait here is multiplied by TEST_TIMEOUT_SCALE (default 1) for slow machines.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
RABBITMQ_USER = "rabbitmq"


def timeout_scale() -> float:
    """The one knob for slow machines: every test timeout is multiplied by it."""
    return float(os.environ.get("TEST_TIMEOUT_SCALE", "1") or 1)


def scaled(seconds: float) -> float:
    return seconds * timeout_scale()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def rabbitmq_available() -> bool:
    return Path(SERVER).exists() and Path(CTL).exists()


def _as_broker_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", RABBITMQ_USER, "--", *argv]
    return argv


@dataclass
class RabbitNode:
    """One RabbitMQ node: `start()`, connect to `amqp_url`, `stop()`.

    `stop_app()`/`start_app()` stop and restart the RabbitMQ application while the Erlang VM
    stays up, which is what an operator's restart looks like to clients.
    """

    name: str
    amqp_port: int
    dist_port: int
    base: Path
    plugins: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def nodename(self) -> str:
        return f"{self.name}@localhost"

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def log_path(self) -> Path:
        return self.base / "log" / f"{self.nodename}.log"

    @property
    def console_path(self) -> Path:
        return self.base / "console.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.base / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_PID_FILE=str(self.base / "node.pid"),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def _write_files(self) -> None:
        (self.base / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.base / "log").mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n"
            "loopback_users.guest = true\n"
            # A test node writes little; the default 50MB free-disk alarm would block
            # publishers on a nearly full CI disk and fail tests for the wrong reason.
            "disk_free_limit.absolute = 1MB\n"
        )
        (self.base / "advanced.config").write_text("[].\n")
        (self.base / "enabled_plugins").write_text(f"[{','.join(self.plugins)}].\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam(RABBITMQ_USER)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 90.0) -> None:
        """Start the node and return once it accepts AMQP connections."""
        self._write_files()
        console = self.console_path.open("ab")
        self.process = subprocess.Popen(
            _as_broker_user([SERVER]),
            env=self.env(),
            cwd=self.base,
            stdout=console,
            stderr=console,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.await_startup(timeout)

    def await_startup(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.nodename} exited during startup:\n{self.tail()}")
            if port_open(self.amqp_port):
                # The listener opens late in boot; await_startup confirms the app is up.
                self.ctl("await_startup", timeout=deadline - time.monotonic())
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.nodename} did not start within {scaled(timeout)}s:\n{self.tail()}"
        )

    def ctl(self, *args: str, timeout: float = 120.0) -> str:
        """`rabbitmqctl -n <this node> ...`; raises with its output when it fails."""
        result = subprocess.run(
            _as_broker_user([CTL, "-n", self.nodename, *args]),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=max(scaled(timeout), 1.0),
            check=False,
            cwd=self.base,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {self.nodename} failed "
                f"({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup")

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the node (rabbitmqctl stop, then SIGTERM, then SIGKILL): never leaves it up."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(Exception):
            self.ctl("stop", timeout=timeout)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=scaled(15))
        process.wait()

    def tail(self, chars: int = 3000) -> str:
        parts = []
        for path in (self.console_path, self.log_path):
            if path.exists():
                parts.append(f"--- {path}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def queue_counts(self, prefix: str = "") -> dict[str, tuple[int, int]]:
        """(ready, unacknowledged) messages of each queue whose name starts with `prefix`.

        A passive queue declare reports only the ready count; a message a consumer holds
        unacknowledged is still work in flight, so "drained" needs both at zero.
        """
        out = self.ctl(
            "list_queues", "-q", "--no-table-headers",
            "name", "messages_ready", "messages_unacknowledged",
        )  # fmt: skip
        counts: dict[str, tuple[int, int]] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0].startswith(prefix):
                counts[parts[0]] = (int(parts[1]), int(parts[2]))
        return counts


def _node(name: str, base: Path, plugins: Sequence[str]) -> RabbitNode:
    amqp_port = free_port()
    dist_port = free_port()
    while dist_port == amqp_port:
        dist_port = free_port()
    return RabbitNode(name, amqp_port, dist_port, base / name, plugins)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="cc-rabbit-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(RABBITMQ_USER)
        os.chown(base, user.pw_uid, user.pw_gid)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def rabbit_node(name: str | None = None, plugins: Sequence[str] = ()) -> Iterator[RabbitNode]:
    """A fresh single node on free ports, stopped and removed on exit."""
    with _workdir() as base:
        node = _node(name or f"cctest{os.getpid()}x{free_port()}", base, plugins)
        try:
            node.start()
            yield node
        finally:
            node.stop()


@dataclass
class RabbitCluster:
    nodes: list[RabbitNode]

    @property
    def amqp_urls(self) -> list[str]:
        return [n.amqp_url for n in self.nodes]

    def members(self) -> str:
        return self.nodes[0].ctl("cluster_status")


@contextlib.contextmanager
def rabbit_cluster(
    size: int = 3, plugins: Sequence[str] = ("rabbitmq_consistent_hash_exchange",)
) -> Iterator[RabbitCluster]:
    """`size` nodes joined into one cluster (the first is the seed), stopped on exit."""
    with _workdir() as base:
        stem = f"cccl{os.getpid()}x{free_port()}"
        nodes = [_node(f"{stem}n{i + 1}", base, plugins) for i in range(size)]
        try:
            nodes[0].start()
            for node in nodes[1:]:
                node.start()
                node.ctl("stop_app")
                node.ctl("join_cluster", nodes[0].nodename)
                node.ctl("start_app")
                node.ctl("await_startup")
            yield RabbitCluster(nodes)
        finally:
            for node in reversed(nodes):
                node.stop()
