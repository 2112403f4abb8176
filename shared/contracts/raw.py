"""The `ingest.raw` message: a webhook captured by a connector that cannot call our HTTP."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.contracts.base import Channel, Versioned


class RawWebhook(Versioned):
    """Exactly what the channel sent: the body as text (UTF-8, unmodified, because the
    signature covers these bytes), its headers, and for IVR the URL Twilio called."""

    model_config = ConfigDict(extra="ignore")

    channel: Channel
    body: str
    headers: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
