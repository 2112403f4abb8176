"""Customers' consumers, both micro-batched (shared/batching.py): every inbound message or
call identifies its customer; routing's `opened`/`status_changed` events tell which
customer a conversation belongs to. Delivery receipts say nothing about who wrote."""

from __future__ import annotations

from services.customers.handlers import CustomerHandlers
from shared.batching import BatchConsumer, BatchHandler, Delivery, batch_consumer, decode_all
from shared.bus import Bus
from shared.contracts import CallEvent, ConversationEvent, InboundMessage, parse_inbound


def register_subscribers(bus: Bus, handlers: CustomerHandlers) -> list[BatchConsumer]:
    settings = bus.settings

    async def on_inbound(deliveries: list[Delivery]) -> None:
        contacts = [
            event
            for event in decode_all(deliveries, parse_inbound)
            if isinstance(event, InboundMessage | CallEvent)
        ]
        await handlers.identification.identify(contacts)

    async def on_conversation(deliveries: list[Delivery]) -> None:
        events = decode_all(deliveries, ConversationEvent.model_validate)
        await handlers.on_conversations(
            [(e.conversation.conversation_id, e.conversation.customer_id) for e in events],
            [
                (e.conversation.conversation_id, e.conversation.identity.key)
                for e in events
                if e.action == "opened" or "opened" in e.actions
            ],
        )

    def batched(topic: str, handle: BatchHandler) -> BatchConsumer:
        return batch_consumer(
            settings, f"customers.{topic}", bus.queue_name("customers", topic), handle
        )

    return [batched("inbound", on_inbound), batched("conversation", on_conversation)]
