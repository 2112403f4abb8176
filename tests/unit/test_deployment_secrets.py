"""Issue 16.2: the platform refuses to start with a development or short secret unless
development mode is explicitly on, and names every offending setting."""

from __future__ import annotations

import os
import secrets as random_secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from contactcenter.platform import build_app
from shared.config import SECRET_MIN_BYTES, Settings, UnsafeSettings, ensure_deployable
from tests.settings import isolated_settings

REPO = Path(__file__).resolve().parents[2]
MONGO = "mongodb://127.0.0.1:1/"  # never reached: the check comes first


def production_secrets() -> dict[str, str]:
    return {name: random_secrets.token_urlsafe(32) for name in SECRET_MIN_BYTES}


def test_default_settings_name_every_development_secret():
    with pytest.raises(UnsafeSettings) as refused:
        build_app(isolated_settings(mongo_url=MONGO, dev_mode=False))
    for name in SECRET_MIN_BYTES:
        assert f"{name.upper()} is the public development value" in str(refused.value)
    assert "DEV_MODE=true" in str(refused.value)


def test_a_short_auth_secret_is_refused_with_its_length():
    secrets = {**production_secrets(), "auth_secret": "123456789"}
    problems = isolated_settings(**secrets, dev_mode=False).deployment_problems()
    assert problems == ["AUTH_SECRET is 9 bytes; at least 32"]


def test_any_value_starting_with_dev_counts_as_a_development_value():
    secrets = {**production_secrets(), "whatsapp_verify_token": "dev-whatsapp-verify-2"}
    problems = isolated_settings(**secrets).deployment_problems()
    assert problems == ["WHATSAPP_VERIFY_TOKEN is the public development value"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("change-me-to-a-random-string-of-32-bytes-or-more", "is a placeholder published"),
        ("CHANGEME" + "x" * 40, "is a placeholder published"),
        ("a" * 64, "is guessable"),
        ("0123012301230123012301230123012301230123", "is guessable"),
    ],
)
def test_published_and_low_entropy_values_are_refused(value: str, why: str):
    secrets = {**production_secrets(), "auth_secret": value}
    problems = isolated_settings(**secrets, dev_mode=False).deployment_problems()
    assert len(problems) == 1 and problems[0].startswith(f"AUTH_SECRET {why}"), problems


def test_every_value_of_the_deploy_example_is_refused():
    example = (REPO / "deploy" / ".env.example").read_text()
    values = dict(
        line.split("=", 1) for line in example.splitlines() if "=" in line and line[0] != "#"
    )
    given = {name: values[name.upper()] for name in SECRET_MIN_BYTES if name.upper() in values}
    problems = isolated_settings(**given, dev_mode=False).deployment_problems()
    assert {p.split(" ", 1)[0] for p in problems} == {name.upper() for name in SECRET_MIN_BYTES}


def test_real_secrets_pass_without_development_mode():
    assert ensure_deployable(isolated_settings(**production_secrets(), dev_mode=False)) == []


def test_development_mode_accepts_them_and_reports_them_for_the_warning():
    problems = ensure_deployable(isolated_settings(dev_mode=True))
    assert len(problems) == len(SECRET_MIN_BYTES)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, but with none of this shell's settings and outside the
    repository, so that neither exported variables nor a `.env` there change the outcome."""
    settings = {field.upper() for field in Settings.model_fields}
    clean = {k: v for k, v in os.environ.items() if k not in settings}
    clean.update(env, MONGO_URL=MONGO, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as elsewhere:
        return subprocess.run(
            [sys.executable, "-m", "contactcenter.cli", *args],
            env=clean,
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def test_contactcenter_up_refuses_to_start_and_says_which_settings():
    result = _cli("up", AUTH_SECRET="short-secret")
    assert result.returncode == 2, result.stderr
    assert "AUTH_SECRET is 12 bytes; at least 32" in result.stderr
    assert "WHATSAPP_VERIFY_TOKEN is the public development value" in result.stderr
    assert "Uvicorn running" not in result.stderr


def test_make_up_runs_in_development_mode():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nup:", 1)[1].split("\n\n", 1)[0]
    assert "DEV_MODE=true" in recipe
