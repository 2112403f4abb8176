"""The bus as a public interface: an AsyncAPI 3.0 document of `contact.events`.

Connectors publish to `ingest.raw` and other systems may consume `contact.events`, so the
bus is described like the HTTP API. FastStream's generator sees only subscribers declared
through its decorators and no publisher (every publish goes through `Bus.publish`), so the
document is built here from the two sources of truth instead: the topology in
`shared.bus.SUBSCRIPTIONS` (queues and the routing-key patterns they bind) and the pydantic
contracts in `shared.contracts` (payload schemas, and the `Literal` actions and channels
that spell every concrete routing key). A contract or binding added there appears here
without editing this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.bus import EXCHANGE, SUBSCRIPTIONS, Subscription
from shared.config import Settings
from shared.contracts import (
    CHANNELS,
    CallEvent,
    ConsultationEvent,
    ConsultationSnapshot,
    ContactInfo,
    ConversationEvent,
    ConversationSnapshot,
    CustomerEvent,
    CustomerSnapshot,
    DeliveryStatus,
    Identity,
    InboundMessage,
    OutboundMessage,
    SalesCall,
    ServiceSnapshot,
    TicketEvent,
)
from shared.contracts.base import SCHEMA_VERSION, UNVERSIONED
from shared.contracts.delivery import ConsultationEmail, ConsultationReplyStatus
from shared.contracts.raw import RawWebhook

SCHEMA_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Topic:
    """One concrete routing key on the exchange: what travels under it and who sends it."""

    routing_key: str
    model: type[BaseModel]
    producer: str
    description: str
    example: BaseModel


# --- examples: real contract instances, so they always validate ---------------------------

_AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
_PHONE = Identity(channel="whatsapp", external_id="5491155550000")


def _identity(channel: str) -> Identity:
    ids = {"whatsapp": "5491155550000", "messenger": "6543210987", "webchat": "sess-42"}
    return Identity.model_validate(
        {"channel": channel, "external_id": ids.get(channel, "+5491155550000")}
    )


def _conversation(channel: str = "whatsapp") -> ConversationSnapshot:
    return ConversationSnapshot(
        conversation_id="c-7f3a",
        channel=channel,  # type: ignore[arg-type]
        identity=_identity(channel),
        customer_id="cu-19",
        customer_name="Ana Gómez",
        status="abierta",
        holder="lara",
        opened_at=_AT,
        last_message_at=_AT,
        last_message_preview="Hola, no tengo internet",
        message_count=1,
        version=1,
    )


def _customer() -> CustomerSnapshot:
    return CustomerSnapshot(
        customer_id="cu-19",
        first_name="Ana",
        last_name="Gómez",
        document_number="28111222",
        mobile_phone="+5491155550000",
        tags=["cliente"],
        identities=[_PHONE],
        version=3,
    )


def _service() -> ServiceSnapshot:
    return ServiceSnapshot(
        service_id="s-11",
        number="ST-000123",
        status="pendiente",
        customer_id="cu-19",
        customer_name="Ana Gómez",
        conversation_id="c-7f3a",
        channel="whatsapp",
        reason="Sin conexión desde ayer",
        created_by="staff:ana",
        created_at=_AT,
        updated_at=_AT,
        version=1,
    )


def _consultation() -> ConsultationSnapshot:
    return ConsultationSnapshot(
        consultation_id="q-5",
        status="abierta",
        name="Ana Gómez",
        document_number="28111222",
        email="ana@ejemplo.com",
        subject="Factura",
        text="¿Por qué subió la factura?",
        created_at=_AT,
        updated_at=_AT,
        version=1,
    )


def _event_fields(key: str) -> dict[str, Any]:
    return {"event_id": f"ev-{key.replace('.', '-')}", "occurred_at": _AT}


def _topics() -> list[Topic]:
    topics: list[Topic] = [
        Topic(
            "ingest.raw",
            RawWebhook,
            "channel connectors",
            "A webhook exactly as the channel sent it, from a connector that cannot call our "
            "HTTP endpoint; ingest verifies its signature and normalizes it like a webhook.",
            RawWebhook(
                channel="whatsapp",
                body='{"object":"whatsapp_business_account","entry":[]}',
                headers={"x-hub-signature-256": "sha256=<hex hmac of body>"},
            ),
        )
    ]
    for channel in CHANNELS:
        key = f"inbound.{channel}.message"
        topics.append(
            Topic(
                key,
                InboundMessage,
                "ingest",
                f"A customer wrote on {channel}; `event_id` derives from the channel's id.",
                InboundMessage(
                    **_event_fields(key),
                    channel=channel,
                    identity=_identity(channel),
                    contact=ContactInfo(name="Ana Gómez"),
                    external_message_id="wamid.HBgM",
                    message_type="text",
                    text="Hola, no tengo internet",
                ),
            )
        )
        key = f"inbound.{channel}.status"
        topics.append(
            Topic(
                key,
                DeliveryStatus,
                "ingest",
                f"A delivery receipt on {channel} for a message we sent; never opens a chat.",
                DeliveryStatus(
                    **_event_fields(key),
                    channel=channel,
                    identity=_identity(channel),
                    external_message_id="wamid.OUT1",
                    status="delivered",
                ),
            )
        )
    topics.append(
        Topic(
            "inbound.ivr.call",
            CallEvent,
            "ingest",
            "One step of an IVR call: it arrived, the caller chose an option, or it ended.",
            CallEvent(
                **_event_fields("inbound.ivr.call"),
                identity=_identity("ivr"),
                call_sid="CA0123456789abcdef",
                step="gather",
                digits="1",
                motive="soporte técnico",
                city="Córdoba",
            ),
        )
    )
    for action in get_args(ConversationEvent.model_fields["action"].annotation):
        key = f"conversation.{action}"
        topics.append(
            Topic(
                key,
                ConversationEvent,
                "routing",
                f"A conversation was {action.replace('_', ' ')}; carries it as it now stands "
                "(`version` grows with every change).",
                ConversationEvent(
                    **_event_fields(key),
                    action=action,
                    conversation=_conversation(),
                    actor="customer" if action == "opened" else "staff:ana",
                ),
            )
        )
    for channel in CHANNELS:
        key = f"outbound.{channel}.message"
        topics.append(
            Topic(
                key,
                OutboundMessage,
                "routing",
                f"A reply for the {channel} connector to deliver to the customer.",
                OutboundMessage(
                    **_event_fields(key),
                    conversation_id="c-7f3a",
                    channel=channel,
                    identity=_identity(channel),
                    author="staff:ana",
                    text="Ya revisamos su conexión.",
                ),
            )
        )
    for action in get_args(CustomerEvent.model_fields["action"].annotation):
        key = f"customer.{action}"
        topics.append(
            Topic(
                key,
                CustomerEvent,
                "customers",
                f"Customer {action.replace('_', ' ')}; carries the customer as it now is.",
                CustomerEvent(
                    **_event_fields(key),
                    action=action,
                    customer=_customer(),
                    identity=_PHONE,
                    actor="staff:ana",
                ),
            )
        )
    for action in get_args(TicketEvent.model_fields["action"].annotation):
        key = f"ticket.{action}"
        sales = action == "sales_call"
        topics.append(
            Topic(
                key,
                TicketEvent,
                "tickets",
                "An IVR sales call was recorded or updated."
                if sales
                else f"A technical service was {action}.",
                TicketEvent(
                    **_event_fields(key),
                    action=action,
                    service=None if sales else _service(),
                    sales_call=SalesCall(call_sid="CA01", motive="ventas", received_at=_AT)
                    if sales
                    else None,
                    actor="staff:ana",
                ),
            )
        )
    for action in get_args(ConsultationEvent.model_fields["action"].annotation):
        key = f"consultation.{action}"
        topics.append(
            Topic(
                key,
                ConsultationEvent,
                "tickets",
                f"A 'Mi Cuenta' consultation was {action}.",
                ConsultationEvent(
                    **_event_fields(key),
                    action=action,
                    consultation=_consultation(),
                    actor="staff:ana",
                ),
            )
        )
    topics.append(
        Topic(
            "outbound.email.message",
            ConsultationEmail,
            "tickets",
            "The answer to a 'Mi Cuenta' consultation, for the gateway to send by email.",
            ConsultationEmail(
                **_event_fields("outbound.email.message"),
                consultation_id="c-123",
                to_email="ana@example.com",
                to_name="Ana Gómez",
                subject="Respuesta a su consulta",
                text="Ya revisamos su factura: el cargo corresponde al plan nuevo.",
                author="staff:eva",
            ),
        )
    )
    for status in get_args(ConsultationReplyStatus.model_fields["status"].annotation):
        key = f"consultation_reply.{status}"
        topics.append(
            Topic(
                key,
                ConsultationReplyStatus,
                "ingest",
                f"The provider {'accepted' if status == 'sent' else 'refused'} a consultation's "
                "answer (email or WhatsApp).",
                ConsultationReplyStatus(
                    **_event_fields(key),
                    consultation_id="c-123",
                    message_id="m-123",
                    medium="email",
                    status=status,
                    reason=None if status == "sent" else "mailbox unavailable",
                ),
            )
        )
    return topics


# --- the topology -------------------------------------------------------------------------


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""
    words, parts = key.split("."), pattern.split(".")

    def match(i: int, j: int) -> bool:
        if j == len(parts):
            return i == len(words)
        if parts[j] == "#":
            return any(match(k, j + 1) for k in range(i, len(words) + 1))
        return i < len(words) and parts[j] in ("*", words[i]) and match(i + 1, j + 1)

    return match(0, 0)


def _channel_id(key: str) -> str:
    return key.replace(".", "_")


def _queue_id(sub: Subscription) -> str:
    return f"queue_{sub.service}_{sub.topic}"


def _server(settings: Settings) -> dict[str, Any]:
    # Host and port only: the URL's credentials never leave the process.
    url = urlsplit(settings.amqp_url)
    return {
        "host": f"{url.hostname or 'localhost'}:{url.port or 5672}",
        "protocol": "amqp",
        "protocolVersion": "0.9.1",
        "pathname": url.path or "/",
        "description": "RabbitMQ; every message is JSON, persistent, published with "
        "confirms and `mandatory` (an unroutable publish raises).",
    }


def build_asyncapi(settings: Settings) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the bus for this deployment's namespace."""
    prefix = f"{settings.bus_namespace}." if settings.bus_namespace else ""
    exchange = {
        "name": f"{prefix}{EXCHANGE}",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    topics = _topics()
    models = sorted({t.model for t in topics}, key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=SCHEMA_REF)
    schemas: dict[str, Any] = top.get("$defs", {})

    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in topics:
        name = topic.model.__name__
        messages.setdefault(
            name,
            {
                "name": name,
                "title": name,
                "summary": (topic.model.__doc__ or name).strip().splitlines()[0],
                "contentType": "application/json",
                "payload": {"$ref": SCHEMA_REF.format(model=name)},
                "bindings": {"amqp": {"messageType": name, "bindingVersion": "0.3.0"}},
                "x-schema-version": SCHEMA_VERSION,
                "examples": [],
            },
        )
        messages[name]["examples"].append(
            {"name": topic.routing_key, "payload": topic.example.model_dump(mode="json")}
        )
        cid = _channel_id(topic.routing_key)
        consumers = [
            f"{prefix}{s.service}.{s.topic}"
            for s in SUBSCRIPTIONS
            if any(topic_matches(p, topic.routing_key) for p in s.patterns)
        ]
        channels[cid] = {
            "address": topic.routing_key,
            "title": topic.routing_key,
            "description": f"{topic.description} Published by {topic.producer} on the "
            f"`{exchange['name']}` topic exchange. Queues bound to it: "
            f"{', '.join(f'`{q}`' for q in consumers) or 'none'}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": "0.3.0"}
            },
        }
        operations[f"publish_{cid}"] = {
            "action": "send",
            "title": f"{topic.producer} publishes {topic.routing_key}",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": "0.3.0"}},
        }

    for sub in SUBSCRIPTIONS:
        qid = _queue_id(sub)
        queue = f"{prefix}{sub.service}.{sub.topic}"
        matched = [t for t in topics if any(topic_matches(p, t.routing_key) for p in sub.patterns)]
        names = sorted({t.model.__name__ for t in matched})
        channels[qid] = {
            "address": queue,
            "title": queue,
            "description": f"Quorum queue of {sub.service}, bound to `{exchange['name']}` "
            f"with {', '.join(f'`{p}`' for p in sub.patterns)}. After "
            f"{settings.delivery_limit} deliveries a message is dead-lettered to "
            f"`{prefix}{sub.service}.dlq`.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": {
                "amqp": {
                    "is": "queue",
                    "queue": {
                        "name": queue,
                        "durable": True,
                        "exclusive": False,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                    "bindingVersion": "0.3.0",
                }
            },
            "x-routing-key-patterns": list(sub.patterns),
            "x-routing-keys": [t.routing_key for t in matched],
        }
        operations[f"consume_{qid}"] = {
            "action": "receive",
            "title": f"{sub.service} consumes {queue}",
            "channel": {"$ref": f"#/channels/{qid}"},
            "messages": [{"$ref": f"#/channels/{qid}/messages/{n}"} for n in names],
            "bindings": {"amqp": {"ack": True, "bindingVersion": "0.3.0"}},
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Contact center bus",
            "version": "0.1.0",
            "description": "Every message of the `contact.events` topic exchange: who publishes "
            "it under which routing key, which queue receives it, and its JSON payload. "
            "`event_id` is the idempotency key; consumers must tolerate redeliveries. "
            f"Every payload carries `schema_version` (this document: {SCHEMA_VERSION}); "
            f"consumers read versions {SCHEMA_VERSION} and {SCHEMA_VERSION - 1} (a payload "
            f"without the field is version {UNVERSIONED}) and dead-letter any other "
            "(metric `cc_unsupported_schema_version_total`) instead of misreading it.",
            "x-schema-version": SCHEMA_VERSION,
        },
        "defaultContentType": "application/json",
        "servers": {"broker": _server(settings)},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
