"""The staff console: static HTML, CSS and ES modules served at `/console`.

No build step and no CDN: the files in `static/` are what the browser runs, so the console
works with no internet access and a Python team can read and change it. It talks to the
platform only through the public HTTP API (the same endpoints the README lists).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"

# The console loads only its own files and talks only to its own origin: no inline script or
# style, no framing (clickjacking), no MIME sniffing. Print opens the PDF from a blob: URL,
# which inherits this policy, so blob: stays allowed for objects and frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self' blob:; object-src 'self' blob:; frame-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ConsoleFiles(StaticFiles):
    """The static files, each answered with the console's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def mount(app: FastAPI) -> None:
    """Serve the console at `/console/` (`/console` redirects there)."""
    app.mount("/console", ConsoleFiles(directory=STATIC_DIR, html=True), name="console")
