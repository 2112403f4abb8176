"""Presence of the team: who is "en línea" and who "ausente", the same on every replica.

Each open console beats (`POST /api/presence`) every `PRESENCE_TIMEOUT_SECONDS / 3`; the
beat is one upsert in MongoDB (`routing.presence`, one document per person), so whichever
replica receives it, every replica reads the same team. A person is en línea while their
last beat is younger than `PRESENCE_TIMEOUT_SECONDS`, ausente after: a closed tab, a
sleeping laptop or a lost network all end the same way, with no goodbye needed. Documents
of people gone for a day are dropped by a TTL index (`forget_at`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.routing.store import Store
from shared.auth import User, may, settings_dependency
from shared.contracts import utcnow

Status = Literal["en_linea", "ausente"]
LABELS: dict[str, str] = {"en_linea": "en línea", "ausente": "ausente"}
# The people chats are assigned to: the central office is not listed.
LISTED_ROLES = ("agent", "staff", "admin")
FORGET_AFTER = timedelta(days=1)

Reader = Annotated[User, may("conversations.read")]


def status_of(last_beat_at: datetime, now: datetime, timeout_seconds: float) -> Status:
    """En línea while the last beat is younger than the timeout."""
    return "en_linea" if now - last_beat_at < timedelta(seconds=timeout_seconds) else "ausente"


class Person(BaseModel):
    user: str = Field(description="`agent:<id>`, `staff:<id>` or `admin:<id>`")
    role: str
    status: Status
    label: str = Field(description="What the console shows: en línea, ausente")
    last_beat_at: datetime


class Team(BaseModel):
    beat_every_seconds: float = Field(description="How often a console beats")
    people: list[Person] = Field(description="En línea first, then ausente; by user")


async def team(store: Store, timeout_seconds: float) -> Team:
    now = utcnow()
    people = [
        Person(
            user=doc["_id"],
            role=doc["role"],
            status=(status := status_of(doc["last_beat_at"], now, timeout_seconds)),
            label=LABELS[status],
            last_beat_at=doc["last_beat_at"],
        )
        for doc in await store.team(list(LISTED_ROLES), now - FORGET_AFTER)
    ]
    people.sort(key=lambda p: (p.status != "en_linea", p.user))
    return Team(beat_every_seconds=round(timeout_seconds / 3, 3), people=people)


def add_routes(router: APIRouter, store: Store) -> None:
    """`POST /api/presence` (the caller's console is open) and `GET /api/presence`."""

    @router.post("/presence", response_model=Team, summary="Beat: my console is open")
    async def beat(request: Request, user: Reader) -> Team:
        """Records that the caller is en línea now and answers the team's presence."""
        now = utcnow()
        await store.beat(user.actor, user.role, now, now + FORGET_AFTER)
        return await team(store, settings_dependency(request).presence_timeout_seconds)

    @router.get("/presence", response_model=Team, summary="Who of the team is en línea")
    async def read(request: Request, user: Reader) -> Team:
        """Agents, staff and admins seen in the last day: en línea or ausente."""
        return await team(store, settings_dependency(request).presence_timeout_seconds)
