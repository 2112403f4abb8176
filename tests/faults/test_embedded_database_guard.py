"""`contactcenter run` refuses to start a second embedded database in a DATA_DIR whose
database another process already serves, and says what to do (set MONGO_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contactcenter.cli import EmbeddedDatabaseBusy, EmbeddedDatabaseLock
from shared.config import Settings

REPO = Path(__file__).resolve().parents[2]


def _run(data_dir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(DATA_DIR=str(data_dir), DEV_MODE="true", PYTHONPATH=str(REPO), HTTP_PORT="1")
    return subprocess.run(
        [sys.executable, "-m", "contactcenter.cli", *command],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_process_without_mongo_url_is_refused_and_told_the_url(tmp_path: Path):
    serving = EmbeddedDatabaseLock(tmp_path)
    serving.acquire()
    serving.publish("mongodb://127.0.0.1:40123/?directConnection=true")
    try:
        result = _run(tmp_path, "run", "routing")
    finally:
        serving.release()
    assert result.returncode == 2, result.stderr[-2000:]
    assert "MONGO_URL=mongodb://127.0.0.1:40123/?directConnection=true" in result.stderr
    assert "another process already serves the embedded database" in result.stderr


def test_the_lock_is_free_again_once_its_holder_is_gone(tmp_path: Path):
    # A holder killed by SIGKILL: the operating system drops its lock with the process.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from pathlib import Path;"
            "from contactcenter.cli import EmbeddedDatabaseLock as L;"
            f"l=L(Path({str(tmp_path)!r})); l.acquire(); l.publish('x'); print('held', flush=True);"
            "time.sleep(60)",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(EmbeddedDatabaseBusy, match="MONGO_URL=x"):
            EmbeddedDatabaseLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    again = EmbeddedDatabaseLock(tmp_path)
    again.acquire()
    again.release()
