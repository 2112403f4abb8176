"""The routes of the app and the permission each declares (FastAPI keeps included routers
nested: walk them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from shared.auth import ROLES, Allowed, roles_for

TABLE_PERMISSION = "per table"


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def permissions(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Allowed):
            found.add(dependant.call.action)
        if getattr(dependant.call, "__name__", "") == "permitted":  # exports: by table
            found.add(TABLE_PERMISSION)
        stack.extend(dependant.dependencies)
    return found


def who(route: APIRoute) -> str | None:
    """The README's "who" cell for a staff route, from its permission."""
    [permission] = permissions(route) or [None]
    if permission is None:
        return None
    if permission == TABLE_PERMISSION:
        return "by table: see Who may do what"
    roles = roles_for(permission)
    return "any staff role" if set(roles) == set(ROLES) else ", ".join(roles)
