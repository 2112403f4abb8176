"""Reading the exports tables over HTTP, as the staff screen does."""

from __future__ import annotations

from typing import Any

from tests.support import Platform, eventually


async def table(platform: Platform, name: str, **params: Any) -> dict[str, Any]:
    response = await platform.http.get(
        f"/api/tables/{name}", params=params, headers=platform.auth("ana", "staff")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rows_when(
    platform: Platform, name: str, count: int, **params: Any
) -> list[dict[str, str]]:
    """The rows once exactly `count` match (events travel through the broker first)."""

    async def probe() -> list[dict[str, str]] | None:
        body = await table(platform, name, **params)
        return body["rows"] if body["total"] == count and len(body["rows"]) == count else None

    if count == 0:
        raise ValueError("wait for something that exists, then assert the absence")
    return await eventually(probe)


async def row_where(platform: Platform, name: str, predicate: Any, **params: Any) -> dict[str, str]:
    """The first listed row satisfying `predicate`, waiting for it to appear."""

    async def probe() -> dict[str, str] | None:
        body = await table(platform, name, **params)
        return next((row for row in body["rows"] if predicate(row)), None)

    return await eventually(probe)
