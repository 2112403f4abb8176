"""Use cases: verify → parse → normalize → publish once. HTTP and AMQP share this path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from services.ingest import ivr, messenger, webchat, whatsapp
from services.ingest.batch import Batch
from services.ingest.bodies import parse_form, parse_json, parse_json_object
from services.ingest.errors import (
    IngestError,
    InvalidPayload,
    PayloadTooLarge,
    PublishFailed,
    SignatureInvalid,
)
from services.ingest.metrics import (
    INBOUND_DUPLICATES,
    INBOUND_EVENTS,
    WEBHOOK_ITEMS_SKIPPED,
    WEBHOOK_PROVIDER_ERRORS,
    WEBHOOK_REJECTIONS,
)
from services.ingest.sealing import box_for, seal_event
from services.ingest.signatures import (
    body_sha256_matches,
    verify_bearer,
    verify_meta,
    verify_twilio,
)
from services.ingest.store import DedupeStore
from shared.bus import Bus
from shared.config import Settings
from shared.contracts.base import Channel, utcnow
from shared.contracts.inbound import CallEvent, InboundEvent
from shared.logging import bind_context, get_logger

log = get_logger("ingest")

IVR_PATH = "/webhooks/ivr"
CLAIM_POLL_SECONDS = 0.05


@dataclass
class Outcome:
    """What one webhook produced: every event, how many were already published before."""

    events: list[InboundEvent] = field(default_factory=list)
    published: int = 0
    duplicates: int = 0

    def as_response(self) -> dict[str, int]:
        return {"received": len(self.events), "duplicates": self.duplicates}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def twilio_urls(settings: Settings, url: str) -> list[str]:
    """The URL Twilio signed: the public one when IVR_PUBLIC_BASE_URL is set (Twilio called
    that address; a signature over the address we saw behind the proxy is not Twilio's), else
    the one we saw."""
    if not settings.ivr_public_base_url:
        return [url]
    parts = urlsplit(url)
    public = settings.ivr_public_base_url.rstrip("/") + parts.path
    return [public + (f"?{parts.query}" if parts.query else "")]


def ivr_action_url(settings: Settings) -> str:
    base = (settings.ivr_public_base_url or "").rstrip("/")
    return ivr.action_url(f"{base}{IVR_PATH}")


def decode(
    settings: Settings,
    channel: Channel,
    raw: bytes,
    headers: Mapping[str, str],
    url: str | None = None,
) -> Batch:
    """Verify the signature over the raw bytes, then parse, normalize and seal: every event
    comes out with the credentials its customer typed masked and the originals sealed
    (services.ingest.sealing), so nothing after this point holds them in cleartext.
    Pure (no I/O). Raises SignatureInvalid, PayloadTooLarge, MalformedBody or InvalidPayload.
    """
    batch = _verified(settings, channel, raw, headers, url)
    box = box_for(settings.secrets_key)
    batch.events = [seal_event(event, box) for event in batch.events]
    return batch


def _verified(
    settings: Settings,
    channel: Channel,
    raw: bytes,
    headers: Mapping[str, str],
    url: str | None,
) -> Batch:
    if len(raw) > settings.max_webhook_bytes:
        raise PayloadTooLarge(f"body larger than {settings.max_webhook_bytes} bytes")
    h = _lower(headers)
    received_at = utcnow()
    if channel == "whatsapp":
        if not verify_meta(settings.whatsapp_app_secret, raw, h.get("x-hub-signature-256")):
            raise SignatureInvalid("invalid X-Hub-Signature-256")
        return _normalize(whatsapp.normalize, parse_json_object(raw), received_at)
    if channel == "messenger":
        if not verify_meta(settings.messenger_app_secret, raw, h.get("x-hub-signature-256")):
            raise SignatureInvalid("invalid X-Hub-Signature-256")
        return _normalize(messenger.normalize, parse_json_object(raw), received_at)
    if channel == "webchat":
        if not verify_bearer(settings.webchat_token, h.get("authorization")):
            raise SignatureInvalid("invalid bearer token")
        return _normalize(webchat.normalize, parse_json(raw), received_at)
    return _decode_ivr(settings, raw, h, url, received_at)


def _decode_ivr(
    settings: Settings, raw: bytes, h: dict[str, str], url: str | None, received_at: object
) -> Batch:
    if not url:
        raise InvalidPayload("the URL Twilio called is required to verify an IVR request")
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    signature = h.get("x-twilio-signature")
    urls = twilio_urls(settings, url)
    if h.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        # Twilio signs only the URL (which carries bodySHA256) and hashes the raw body.
        if not (
            verify_twilio(settings.ivr_auth_token, urls, [], signature)
            and body_sha256_matches(raw, query)
        ):
            raise SignatureInvalid("invalid X-Twilio-Signature")
        params = ivr.params_from_json(parse_json(raw))
    else:
        pairs = parse_form(raw)
        if not verify_twilio(settings.ivr_auth_token, urls, pairs, signature):
            raise SignatureInvalid("invalid X-Twilio-Signature")
        params = dict(pairs)
    return _normalize(
        lambda p, at: ivr.normalize(p, at, step_hint=query.get("step"), menu=query.get("menu")),
        params,
        received_at,
    )


def _normalize(fn, body, received_at):  # type: ignore[no-untyped-def]
    try:
        batch: Batch = fn(body, received_at)
    except IngestError:
        raise
    except Exception as exc:  # a shape we did not foresee is the sender's problem, not a 500
        log.warning("normalize_failed", error=type(exc).__name__)
        raise InvalidPayload("payload could not be interpreted") from exc
    return batch


class Ingest:
    """Publishes each event of a verified webhook exactly once (per idempotency key)."""

    def __init__(self, settings: Settings, bus: Bus, store: DedupeStore) -> None:
        self.settings = settings
        self.bus = bus
        self.store = store

    async def receive(
        self,
        channel: Channel,
        raw: bytes,
        headers: Mapping[str, str],
        url: str | None = None,
    ) -> Outcome:
        """Returns only once every new event is confirmed by the broker.

        Raises IngestError subclasses; PublishFailed when the broker or the dedupe store
        is unavailable (the channel should retry; consumers are idempotent anyway).
        """
        try:
            batch = decode(self.settings, channel, raw, headers, url)
        except IngestError as exc:
            WEBHOOK_REJECTIONS.labels(channel, exc.reason).inc()
            log.info("webhook_rejected", channel=channel, reason=exc.reason)
            raise
        if batch.skipped:
            WEBHOOK_ITEMS_SKIPPED.labels(channel).inc(len(batch.skipped))
            log.warning("webhook_items_skipped", channel=channel, reasons=batch.skipped[:10])
        for error in batch.provider_errors:
            WEBHOOK_PROVIDER_ERRORS.labels(channel, error["code"]).inc()
            log.warning("webhook_provider_error", channel=channel, **error)
        try:
            return await self._publish_once(channel, batch.events)
        except PublishFailed:
            WEBHOOK_REJECTIONS.labels(channel, PublishFailed.reason).inc()
            raise

    async def _publish_once(self, channel: Channel, events: list[InboundEvent]) -> Outcome:
        outcome = Outcome(events=events)
        unique: dict[str, InboundEvent] = {}
        for event in events:
            unique.setdefault(event.event_id, event)
        outcome.duplicates = len(events) - len(unique)
        # No look-up first: the claim itself (one insert, shared with concurrent webhooks)
        # tells a duplicate apart.
        for event_id, event in unique.items():
            with bind_context(event_id=event_id):
                if not await self._publish_claimed(channel, event):
                    outcome.duplicates += 1
                    INBOUND_DUPLICATES.labels(channel).inc()
                    log.info("inbound_duplicate", channel=channel, kind=event.kind)
                    continue
                INBOUND_EVENTS.labels(channel, event.kind).inc()
                outcome.published += 1
                log.info("inbound_published", channel=channel, kind=event.kind)
        return outcome

    async def _claim(self, channel: Channel, event: InboundEvent) -> str:
        """Claim the key, waiting a little while another delivery is publishing it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.publish_timeout_seconds + 2.0
        while True:
            state = await self.store.claim(event.event_id, channel, event.kind, utcnow())
            if state != "pending" or loop.time() > deadline:
                return state
            await asyncio.sleep(CLAIM_POLL_SECONDS)

    async def _publish_claimed(self, channel: Channel, event: InboundEvent) -> bool:
        """True when this call published the event; False when it was a duplicate."""
        try:
            state = await self._claim(channel, event)
        except Exception as exc:
            log.error("dedupe_claim_failed", channel=channel, error=type(exc).__name__)
            raise PublishFailed("dedupe store unavailable, retry later") from exc
        if state == "published":
            return False
        if state == "pending":
            raise PublishFailed("the same event is being published by another delivery")
        timeout = self.settings.publish_timeout_seconds + 1.0
        try:
            await asyncio.wait_for(self.bus.publish(event), timeout=timeout)
        except Exception as exc:
            log.error("publish_failed", channel=channel, error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await self.store.release(event.event_id)
            raise PublishFailed("broker unavailable, retry later") from exc
        try:
            await self.store.mark_published(event.event_id, utcnow())
        except Exception as exc:
            # Published but still marked pending: once stale, a retry publishes it again,
            # which the idempotent consumers absorb. Tell the channel to retry meanwhile.
            log.error("dedupe_record_failed", channel=channel, error=type(exc).__name__)
            raise PublishFailed("dedupe store unavailable, retry later") from exc
        return True

    def twiml_for(self, outcome: Outcome) -> str:
        call = next((e for e in outcome.events if isinstance(e, CallEvent)), None)
        return ivr.twiml(call, ivr_action_url(self.settings))
