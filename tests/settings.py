"""Settings a test builds itself: only from its arguments, never from `.env` or the shell.

A developer's `.env` (say `LARA_ENGINE=welcome-only`) or an exported `TZ=UTC` must not change
what a test tests: pydantic-settings reads both by default, and `TZ` is the `tz` setting.
Every test builds its settings here; the zone is fixed to the deployment's default unless a
test asks for another one.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from shared.config import Settings

ZONE = "America/Argentina/Buenos_Aires"


class IsolatedSettings(Settings):
    """`Settings` whose only source is the constructor's arguments."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def isolated_settings(**overrides: Any) -> Settings:
    """The defaults of `Settings`, a fixed zone, and `overrides`; nothing from outside."""
    return IsolatedSettings(_env_file=None, **{"tz": ZONE, **overrides})
