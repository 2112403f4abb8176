"""The envelope every event shares: an id to dedupe on, the moment it happened, and the
version of the contracts it was written with.

Versioning, for rolling deploys: every message on the bus says which `SCHEMA_VERSION` of
these contracts its producer had (`schema_version`). A consumer accepts the current version
and the previous one (an event without the field is version 1: written before versions
existed); the previous shape is upgraded to the current one while decoding (`UPGRADES`), so
handlers only ever see the current shape. Any other version (a newer producer already
deployed, or a shape too old to upgrade) raises `UnsupportedSchemaVersion` instead of being
misread: the decoding paths (`shared.batching.decode_all`, `shared.bus.subscriber`) count
it and dead-letter that message. A change a consumer of the previous version could misread
bumps `SCHEMA_VERSION` and adds its upgrade; an added optional field needs neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Channel = Literal["whatsapp", "messenger", "webchat", "ivr"]
CHANNELS: tuple[Channel, ...] = ("whatsapp", "messenger", "webchat", "ivr")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


# The version of the contracts this code writes. Version 1: events before `schema_version`.
SCHEMA_VERSION = 2
# Version 1 had no `schema_version` field: a message without it is version 1.
UNVERSIONED = 1

# How a body of version N-1 becomes version N (the key): 1 → 2 only added the field itself.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    2: lambda body: body,
}


class UnsupportedSchemaVersion(Exception):
    """A message written with a contracts version this process cannot read.

    Deliberately not a ValueError: pydantic lets it through as it is (never folded into a
    ValidationError), so every decoding path can tell it apart and dead-letter the message.
    """

    def __init__(self, version: object, model: str) -> None:
        self.version = version
        self.model = model
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        super().__init__(
            f"{model}: schema_version {version!r} is "
            f"{'newer than' if newer else 'not one of'} the versions this process reads "
            f"({SCHEMA_VERSION - 1} and {SCHEMA_VERSION})"
            + (": deploy the newer consumer" if newer else "")
        )


def schema_version_of(body: Any) -> object:
    """The version a raw message body (decoded JSON) was written with."""
    if isinstance(body, dict):
        return body.get("schema_version", UNVERSIONED)
    return SCHEMA_VERSION  # not a JSON object: validation will refuse it anyway


def readable(version: object) -> bool:
    """Whether this process reads messages of `version`: the current or the previous one."""
    return type(version) is int and version in (SCHEMA_VERSION, SCHEMA_VERSION - 1)


def upgrade(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The body in the current shape; `UnsupportedSchemaVersion` unless it is the current or
    the previous version."""
    version = body.get("schema_version", UNVERSIONED)
    if not readable(version):
        raise UnsupportedSchemaVersion(version, model)
    if version == SCHEMA_VERSION:
        return body
    return {**UPGRADES[SCHEMA_VERSION](dict(body)), "schema_version": SCHEMA_VERSION}


class Versioned(BaseModel):
    """A message on the bus: written with `schema_version`, read if current or previous."""

    schema_version: int = Field(
        default=SCHEMA_VERSION,
        description="Version of the contracts the producer wrote this message with. "
        f"Consumers read {SCHEMA_VERSION} and {SCHEMA_VERSION - 1} (absent = "
        f"{UNVERSIONED}); any other version is dead-lettered, never misread.",
        examples=[SCHEMA_VERSION],
    )

    @model_validator(mode="before")
    @classmethod
    def _current_shape(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return upgrade(data, cls.__name__)
        return data


class Event(Versioned):
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
