"""`make up` writes .env once; `contactcenter token`, run later from the same directory in
another shell, signs with the secret the platform verifies with."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactcenter.cli import SHARED_SETTINGS, main, write_env_file
from shared.auth import decode_token
from shared.config import Settings


def test_token_from_another_shell_uses_the_secret_written_by_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SHARED_SETTINGS:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    platform_settings = Settings(_env_file=None, auth_secret="secret-of-the-running-platform-32b")
    assert write_env_file(platform_settings, tmp_path / ".env")
    assert "AUTH_SECRET=secret-of-the-running-platform-32b" in (tmp_path / ".env").read_text()

    assert main(["token", "--user", "ana", "--role", "staff"]) == 0
    token = capsys.readouterr().out.strip()
    assert decode_token(platform_settings, token).user.id == "ana"


def test_an_existing_env_file_is_never_overwritten(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("AUTH_SECRET=mine\n")
    assert not write_env_file(Settings(_env_file=None), env)
    assert env.read_text() == "AUTH_SECRET=mine\n"


def test_up_writes_everything_it_was_given_so_a_second_run_finds_the_same_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*SHARED_SETTINGS, "mongo_url"):
        monkeypatch.delenv(name.upper(), raising=False)
    given = Settings(
        _env_file=None, http_port=8123, bus_namespace="demo", data_dir=tmp_path / "data"
    )
    env = tmp_path / ".env"
    assert write_env_file(given, env)
    again = Settings(_env_file=env)
    assert (again.http_port, again.bus_namespace, again.data_dir) == (
        8123,
        "demo",
        tmp_path / "data",
    )
    assert again.mongo_url is None and "MONGO_URL" not in env.read_text()
