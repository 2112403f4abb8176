"""Development-only MongoDB: a SecantusDB server in a child process, data in DATA_DIR.

SecantusDB is GPL-2.0 beta software. It is imported by nothing in the services; it is only
started here when MONGO_URL is unset, for a laptop or a demo. Production sets MONGO_URL.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the platform dies, even by
    SIGKILL, so the database never outlives the process that started it (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the platform's own shutdown still stops it


class DataDirectoryHeld(RuntimeError):
    """Another database server, typically left running by a killed run, holds the data."""


class EmbeddedMongo:
    def __init__(self, storage_path: Path | str, port: int | None = None) -> None:
        self.storage_path = str(storage_path)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        # Retryable-write bookkeeping makes SecantusDB slower with every write it has seen;
        # a single local server gains nothing from it.
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 30.0) -> str:
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        exe = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
        if not Path(exe).exists():
            raise RuntimeError(
                "MONGO_URL is unset and SecantusDB is not installed: "
                "install the dev extras (pip install -e '.[dev]') or set MONGO_URL"
            )
        self.process = subprocess.Popen(  # noqa: S603 - fixed executable and arguments
            [
                exe,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                self.storage_path,
                "--log-level",
                "WARNING",
                "--cache-size",
                "512M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own process group: Ctrl-C in a terminal signals the platform's group, and
            # the database must not stop before the services that are still writing to it;
            # the platform stops it last.
            start_new_session=True,
            preexec_fn=_die_with_parent,  # only prctl: nothing that could deadlock after fork
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                if "WiredTiger.lock" in err:
                    raise DataDirectoryHeld(
                        f"the embedded database's data in {self.storage_path} is held by "
                        "another database server, probably left running by a platform that "
                        "was killed: stop it (`pkill -f 'secantusd-py.*"
                        f"{self.storage_path}'`) and start again"
                    )
                raise RuntimeError(f"SecantusDB exited at start-up: {err[-2000:]}")
            try:
                client: MongoClient[dict[str, object]]
                with MongoClient(self.url, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return self.url
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SecantusDB did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
