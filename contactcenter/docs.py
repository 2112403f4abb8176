"""The documentation pages, served without internet.

`/docs` (Swagger UI) and `/redoc` load their scripts and styles from `/docs-assets`, the
static files the `fastapi-offline` package installs with the platform; FastAPI's defaults
would fetch them from a CDN and show a blank page offline. The bus is documented next to
the HTTP API: `/asyncapi.json` (AsyncAPI 3.0, see `shared.asyncapi`) and `/asyncapi`, a
page rendered here from that document with no script at all.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from shared.asyncapi import build_asyncapi
from shared.config import Settings

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI, settings: Settings) -> None:
    """Add /docs, /redoc, /asyncapi.json and /asyncapi to an app built with docs_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    @cache
    def document() -> dict[str, Any]:
        return build_asyncapi(settings)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(document())

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(render_asyncapi(document()))


def _e(text: object) -> str:
    return html.escape(str(text))


def _code(text: str) -> str:
    """Markdown's `code` spans, the only markup the descriptions use."""
    parts = _e(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def render_asyncapi(doc: dict[str, Any]) -> str:
    """A static HTML page of the AsyncAPI document: channels, queues, messages, schemas."""
    info = doc["info"]
    server = next(iter(doc["servers"].values()))
    rows = []
    for channel in doc["channels"].values():
        messages = ", ".join(
            f'<a href="#msg-{_e(ref["$ref"].rsplit("/", 1)[1])}">'
            f"{_e(ref['$ref'].rsplit('/', 1)[1])}</a>"
            for ref in channel["messages"].values()
        )
        kind = channel["bindings"]["amqp"]["is"]
        rows.append(
            f"<tr><td><code>{_e(channel['address'])}</code></td><td>{_e(kind)}</td>"
            f"<td>{messages}</td><td>{_code(channel['description'])}</td></tr>"
        )
    sections = []
    for name, message in doc["components"]["messages"].items():
        schema = doc["components"]["schemas"][name]
        examples = "".join(
            f"<details><summary>Example: <code>{_e(ex['name'])}</code></summary>"
            f"<pre>{_e(json.dumps(ex['payload'], indent=2, ensure_ascii=False))}</pre></details>"
            for ex in message["examples"]
        )
        sections.append(
            f'<section id="msg-{_e(name)}"><h3>{_e(name)}</h3><p>{_e(message["summary"])}</p>'
            f"<details><summary>Payload schema</summary>"
            f"<pre>{_e(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></details>"
            f"{examples}</section>"
        )
    shared = [n for n in doc["components"]["schemas"] if n not in doc["components"]["messages"]]
    shared_schemas = "".join(
        f'<details id="schema-{_e(n)}"><summary><code>{_e(n)}</code></summary><pre>'
        f"{_e(json.dumps(doc['components']['schemas'][n], indent=2, ensure_ascii=False))}"
        "</pre></details>"
        for n in shared
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(info["title"])} · AsyncAPI</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}} td,th{{border-bottom:1px solid #ddd;
padding:.3rem .5rem;text-align:left;vertical-align:top}} pre{{background:#f6f8fa;
padding:.75rem;overflow:auto}} code{{background:#f6f8fa;padding:0 .2rem}}
</style></head><body>
<h1>{_e(info["title"])} <small>{_e(info["version"])}</small></h1>
<p>{_code(info["description"])}</p>
<p>AsyncAPI {_e(doc["asyncapi"])} document: <a href="/asyncapi.json">/asyncapi.json</a>.
Broker: <code>{_e(server["protocol"])}://{_e(server["host"])}</code>. HTTP API:
<a href="/docs">/docs</a>.</p>
<h2>Channels</h2>
<table><tr><th>Address</th><th>Kind</th><th>Messages</th><th>Description</th></tr>
{"".join(rows)}</table>
<h2>Messages</h2>{"".join(sections)}
<h2>Shared schemas</h2>{shared_schemas}
</body></html>"""
