"""Quick replies ("respuestas rápidas", seed 002): saved messages a person inserts in the
reply box by typing `/` and the reply's name.

A reply is personal (its owner alone sees and changes it) or the team's (everyone who
answers sees it; office roles change it, `quick_replies.team` in `shared.auth.POLICY`).
Names are unique per owner: one `/saludo` of the team and one of each person may coexist,
the picker shows both. The rules at the top are plain functions; `QuickReplies` applies
them over the store (the `quick_replies` collection, see store.py).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from services.routing.domain import DomainError
from shared.auth import User, ensure_allowed
from shared.contracts import utcnow
from shared.mongo import Document
from shared.text import fold

if TYPE_CHECKING:
    from services.routing.store import Store

Scope = Literal["personal", "team"]
TEAM = "team"  # the owner of the team's replies
NAME = re.compile(r"^[a-z0-9_-]{1,40}$")
MAX_TEXT = 4096


class QuickReplyNotFound(DomainError):
    """No such reply, or it is someone else's personal one (never revealed)."""


class QuickReplyExists(DomainError):
    """The owner already has a reply by that name."""


class InvalidQuickReply(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def normal_name(raw: str) -> str:
    """What follows the `/`: lowercase, accents dropped (`/Saludo` and `/salúdo` are
    `saludo`), letters, digits, `_` and `-` only, 1 to 40 characters."""
    name = fold(raw.strip().lstrip("/")).replace(" ", "_")
    if not NAME.match(name):
        raise InvalidQuickReply("name", "letters, digits, '_' or '-', 1 to 40 characters")
    return name


def clean_text(raw: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidQuickReply("text", f"1 to {MAX_TEXT} characters")
    return text


def owner_for(scope: Scope, user: User) -> str:
    return TEAM if scope == "team" else user.actor


def visible_to(reply: Document | None, user: User) -> Document:
    """The reply if this user may see it; a personal reply of someone else does not exist
    for them."""
    if reply is None or reply["owner"] not in (TEAM, user.actor):
        raise QuickReplyNotFound("no such quick reply")
    return reply


def check_may_change(reply: Document, user: User) -> None:
    """Its owner changes a personal reply; the team's need `quick_replies.team`."""
    if reply["owner"] == TEAM:
        ensure_allowed(user, "quick_replies.team")


def view(reply: Document) -> dict[str, Any]:
    return {
        "id": reply["_id"],
        "name": reply["name"],
        "text": reply["text"],
        "scope": "team" if reply["owner"] == TEAM else "personal",
        "created_by": reply.get("created_by"),
        "updated_by": reply.get("updated_by"),
        "updated_at": reply.get("updated_at"),
    }


@dataclass
class QuickReplies:
    store: Store

    async def list(self, user: User) -> list[dict[str, Any]]:
        return [view(r) for r in await self.store.quick_replies_of([TEAM, user.actor])]

    async def create(self, user: User, name: str, text: str, scope: Scope) -> dict[str, Any]:
        if scope == "team":
            ensure_allowed(user, "quick_replies.team")
        now = utcnow()
        reply: Document = {
            "_id": str(uuid.uuid4()),
            "owner": owner_for(scope, user),
            "name": normal_name(name),
            "text": clean_text(text),
            "created_by": user.actor,
            "created_at": now,
            "updated_by": user.actor,
            "updated_at": now,
        }
        await self.store.insert_quick_reply(reply)
        return view(reply)

    async def update(
        self, user: User, reply_id: str, name: str | None, text: str | None
    ) -> dict[str, Any]:
        reply = visible_to(await self.store.quick_reply(reply_id), user)
        check_may_change(reply, user)
        changes: Document = {"updated_by": user.actor, "updated_at": utcnow()}
        if name is not None:
            changes["name"] = normal_name(name)
        if text is not None:
            changes["text"] = clean_text(text)
        updated = await self.store.update_quick_reply(reply_id, changes)
        if updated is None:
            raise QuickReplyNotFound("the quick reply was deleted meanwhile")
        return view(updated)

    async def delete(self, user: User, reply_id: str) -> None:
        reply = visible_to(await self.store.quick_reply(reply_id), user)
        check_may_change(reply, user)
        await self.store.delete_quick_reply(reply_id)
