"""FastStream subscribers of the routing service: decode the contract, call the handler.

A handler that raises is nacked and redelivered (dead-lettered after the delivery limit);
handlers are idempotent, so a redelivery changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from services.routing.handlers import Routing
from shared.bus import Bus, subscriber
from shared.contracts import (
    CallEvent,
    CustomerEvent,
    DeliveryStatus,
    InboundMessage,
    TicketEvent,
    parse_inbound,
)


def register(bus: Bus, routing: Routing) -> None:
    @subscriber(bus, "routing", "inbound")
    async def on_inbound(body: dict[str, Any]) -> None:
        event = parse_inbound(body)
        if isinstance(event, InboundMessage):
            await routing.on_inbound_message(event)
        elif isinstance(event, DeliveryStatus):
            await routing.on_delivery_status(event)
        elif isinstance(event, CallEvent):
            await routing.on_call(event)

    @subscriber(bus, "routing", "customer")
    async def on_customer(body: dict[str, Any]) -> None:
        await routing.on_customer_event(CustomerEvent.model_validate(body))

    @subscriber(bus, "routing", "ticket")
    async def on_ticket(body: dict[str, Any]) -> None:
        await routing.on_ticket_event(TicketEvent.model_validate(body))
