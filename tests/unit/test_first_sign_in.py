"""`make up` says how to sign in the first time: the first admin's password, once."""

from __future__ import annotations

from contactcenter.cli import next_steps
from tests.settings import isolated_settings


def test_up_prints_the_first_admins_password_once_and_where_the_console_is() -> None:
    settings = isolated_settings(http_port=8080)
    first = next_steps(settings, "Xq3-una-clave")
    assert "http://127.0.0.1:8080/console/" in first
    assert "user `admin`, password Xq3-una-clave" in first
    later = next_steps(settings)
    assert "http://127.0.0.1:8080/console/" in later
    assert "password" not in later
