"""System tools some tests run (promtool, caddy, chromium): in CI a missing tool is a failure.

On a developer's machine without the tool the test is skipped with the package to install;
with CI=true (as .ci/run runs) it fails, so a broken install can never turn into a green run
that checked nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest

PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "caddy": "caddy",
    "chromium": "chromium",
}


def require_tool(name: str) -> str:
    """The tool's path; otherwise fail in CI and skip elsewhere."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    message = f"{name} is not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
