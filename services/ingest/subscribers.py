"""AMQP entry point: `ingest.raw`, for connectors that capture webhooks but cannot call HTTP."""

from __future__ import annotations

from services.ingest.handlers import Ingest
from shared.bus import Bus, subscriber
from shared.contracts.raw import RawWebhook
from shared.logging import get_logger

log = get_logger("ingest.subscribers")


def register(bus: Bus, ingest: Ingest) -> None:
    @subscriber(bus, "ingest", "raw")  # type: ignore[misc]
    async def on_raw_webhook(message: RawWebhook) -> None:
        """Same verify + normalize + publish-once path as HTTP. A webhook that cannot be
        accepted (bad signature, malformed) raises, so the queue dead-letters it after the
        delivery limit; a broker failure raises too, and the redelivery retries it."""
        outcome = await ingest.receive(
            message.channel, message.body.encode("utf-8"), message.headers, message.url
        )
        log.info(
            "raw_webhook_ingested",
            channel=message.channel,
            events=len(outcome.events),
            duplicates=outcome.duplicates,
        )
