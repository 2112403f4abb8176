"""The staff console: static HTML, CSS and ES modules served at `/console`.

No build step and no CDN: the files in `static/` are what the browser runs, so the console
works with no internet access and a Python team can read and change it. It talks to the
platform only through the public HTTP API (the same endpoints the README lists).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Serve the console at `/console/` (`/console` redirects there)."""
    app.mount("/console", StaticFiles(directory=STATIC_DIR, html=True), name="console")
