"""Customers' consumers, both micro-batched (shared/batching.py): every inbound message or
call identifies its customer; routing's `opened`/`status_changed` events tell which
customer a conversation belongs to. Delivery receipts say nothing about who wrote."""

from __future__ import annotations

from pydantic import ValidationError

from services.customers.handlers import CustomerHandlers
from shared.batching import BatchConsumer, Delivery, Undecodable
from shared.bus import Bus
from shared.contracts import CallEvent, ConversationEvent, InboundMessage, parse_inbound


def register_subscribers(bus: Bus, handlers: CustomerHandlers) -> list[BatchConsumer]:
    settings = bus.settings

    async def on_inbound(deliveries: list[Delivery]) -> None:
        contacts: list[InboundMessage | CallEvent] = []
        for delivery in deliveries:
            try:
                event = parse_inbound(delivery.body)
            except ValidationError as exc:
                raise Undecodable(str(exc)) from exc
            if isinstance(event, InboundMessage | CallEvent):
                contacts.append(event)
        await handlers.identification.identify(contacts)

    async def on_conversation(deliveries: list[Delivery]) -> None:
        links: list[tuple[str, str | None]] = []
        for delivery in deliveries:
            try:
                event = ConversationEvent.model_validate(delivery.body)
            except ValidationError as exc:
                raise Undecodable(str(exc)) from exc
            links.append((event.conversation.conversation_id, event.conversation.customer_id))
        await handlers.on_conversations(links)

    def batched(topic: str, handle: object) -> BatchConsumer:
        return BatchConsumer(
            f"customers.{topic}",
            bus.queue_name("customers", topic),
            handle,  # type: ignore[arg-type]
            max_batch=settings.batch_max_messages,
            max_wait=settings.batch_max_wait_ms / 1000,
            prefetch=settings.prefetch_count,
        )

    return [batched("inbound", on_inbound), batched("conversation", on_conversation)]
