"""Tests build their settings from their own arguments: a developer's `.env` or exported
variables (TZ=UTC, LARA_ENGINE=...) never change what is tested."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings
from tests.settings import ZONE, isolated_settings


def test_neither_the_shell_nor_a_dotenv_file_reaches_test_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LARA_ENGINE=welcome-only\nWELCOME_MESSAGE=desde .env\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DELIVERY_LIMIT", "99")
    # What the application itself would read here:
    leaked = Settings()
    assert (leaked.tz, leaked.lara_engine, leaked.delivery_limit) == ("UTC", "welcome-only", 99)

    settings = isolated_settings()
    defaults = Settings.model_fields
    assert settings.tz == ZONE
    assert settings.lara_engine == defaults["lara_engine"].default
    assert settings.welcome_message == defaults["welcome_message"].default
    assert settings.delivery_limit == defaults["delivery_limit"].default
    assert isolated_settings(tz="Europe/Madrid").tz == "Europe/Madrid"
