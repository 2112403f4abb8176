"""A lone surrogate in a request is a 422 on a bare app, wherever the encoding fails."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Body, FastAPI
from pydantic import BaseModel, StringConstraints

from shared.http_errors import install_unicode_error_handlers


class Form(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5)]


async def test_the_validation_echo_and_the_encoder_both_answer_422() -> None:
    app = FastAPI()
    install_unicode_error_handlers(app)

    @app.post("/form")
    async def form(body: Form) -> dict[str, str]:
        return {}

    @app.post("/free")
    async def free(body: Annotated[dict[str, Any], Body()]) -> dict[str, str]:
        str(body["x"]).encode("utf-8")  # what the BSON encoder does
        return {}

    @app.post("/other")
    async def other() -> dict[str, str]:
        "ñ".encode("ascii")
        return {}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path, raw in (("/form", b'{"name": "\\ud800x"}'), ("/free", b'{"x": "\\ud800"}')):
            response = await client.post(path, content=raw, headers=headers)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["error"]["code"] == "not_unicode"  # the one error shape
        assert (await client.post("/other")).status_code == 500
