"""AMQP entry points: `ingest.raw` (webhooks captured by a connector that cannot call our
HTTP) and `connector.<channel>` / `connector.email` (replies to deliver)."""

from __future__ import annotations

from typing import Any

from faststream import AckPolicy
from faststream.exceptions import RejectMessage
from faststream.rabbit import RabbitQueue
from pydantic import ValidationError

from services.ingest.handlers import Ingest
from services.ingest.outbound.delivery import Delivery, decode
from shared.bus import Bus, subscriber
from shared.contracts.raw import RawWebhook
from shared.logging import get_logger

log = get_logger("ingest.subscribers")


def register_subscribers(bus: Bus, ingest: Ingest) -> None:
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


def register_delivery(bus: Bus, delivery: Delivery, channels: list[str]) -> None:
    """One consumer per channel that may send now. A channel left out (its token unset)
    is not consumed at all: its replies wait in the queue until the setting is filled."""
    for channel in channels:
        if channel == "email":
            queue = bus.queue("connector", "email")
            kind = "email"
        else:
            queue = bus.queue("connector", channel)
            kind = "message"
        _register_one(bus, delivery, queue, kind)


def _register_one(bus: Bus, delivery: Delivery, queue: RabbitQueue, kind: str) -> None:
    @bus.broker.subscriber(queue, exchange=bus.exchange, ack_policy=AckPolicy.NACK_ON_ERROR)  # type: ignore[misc]
    async def on_reply(body: dict[str, Any]) -> None:
        """Send once and record; a body no redelivery can fix goes to the dead-letter queue."""
        try:
            message = decode(kind, body)
        except ValidationError as exc:
            log.error("outbound_undecodable", queue=queue.name, errors=exc.error_count())
            raise RejectMessage() from exc
        await delivery.deliver(kind, message)
