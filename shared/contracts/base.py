"""The envelope every event shares: an id to dedupe on and the moment it happened."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Channel = Literal["whatsapp", "messenger", "webchat", "ivr"]
CHANNELS: tuple[Channel, ...] = ("whatsapp", "messenger", "webchat", "ivr")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Event(BaseModel):
    """Base of every message on the bus.

    `event_id` is the idempotency key: consumers store it under a unique index so that a
    redelivery changes nothing. For inbound events it derives from the channel's own id.
    """

    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(default_factory=new_id, min_length=1, max_length=512)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)

    def routing_key(self) -> str:
        raise NotImplementedError


class Identity(BaseModel):
    """A customer as one channel knows them: phone (E.164), PSID, web session, caller number."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    external_id: str = Field(min_length=1, max_length=256)

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"
