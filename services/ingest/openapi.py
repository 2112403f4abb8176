"""What each webhook accepts, for the OpenAPI document only.

The handlers read the raw bytes (the signature covers them, so they are never parsed by
FastAPI), hence these request bodies are declared by hand: the channel's own format, the
header that signs it, and a realistic example. Validation stays in the normalizers.
"""

from __future__ import annotations

from typing import Any, TypedDict

from services.ingest.webchat import WebchatMessage
from shared import errors


class RouteDocs(TypedDict, total=False):
    """The keyword arguments of a route decorator that document it."""

    openapi_extra: dict[str, Any]
    responses: dict[int | str, dict[str, Any]]


_META_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["object", "entry"],
    "properties": {
        "object": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    },
}

WHATSAPP_EXAMPLE: dict[str, Any] = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "WABA1",
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550001111",
                            "phone_number_id": "111",
                        },
                        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5491155550000"}],
                        "messages": [
                            {
                                "from": "5491155550000",
                                "id": "wamid.HBgM1",
                                "timestamp": "1767225600",
                                "type": "text",
                                "text": {"body": "Hola, no tengo internet"},
                            }
                        ],
                    },
                }
            ],
        }
    ],
}

MESSENGER_EXAMPLE: dict[str, Any] = {
    "object": "page",
    "entry": [
        {
            "id": "PAGE1",
            "time": 1767225600000,
            "messaging": [
                {
                    "sender": {"id": "6543210987"},
                    "recipient": {"id": "PAGE1"},
                    "timestamp": 1767225600000,
                    "message": {"mid": "m_1", "text": "Hola, ¿tienen fibra en Rosario?"},
                }
            ],
        }
    ],
}

WEBCHAT_EXAMPLE: dict[str, Any] = {
    "session_id": "sess-42",
    "message_id": "m-1",
    "text": "Quiero hablar con una persona",
    "name": "Ana Gómez",
    "email": "ana@ejemplo.com",
    "transcript": [
        {"author": "bot", "text": "Hola, ¿en qué te ayudo?"},
        {"author": "customer", "text": "No tengo internet"},
    ],
}

IVR_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["CallSid"],
    "properties": {
        "CallSid": {"type": "string"},
        "From": {"type": "string", "description": "Caller, E.164"},
        "To": {"type": "string"},
        "CallStatus": {"type": "string"},
        "Digits": {"type": "string", "description": "Menu option pressed (gather)"},
        "SpeechResult": {"type": "string"},
        "FromCity": {"type": "string"},
        "CallDuration": {"type": "string"},
    },
}
IVR_EXAMPLE = {"CallSid": "CA0123456789abcdef", "From": "+5493515550000", "CallStatus": "ringing"}

RECEIVED: dict[str, Any] = {
    "type": "object",
    "properties": {"received": {"type": "integer"}, "duplicates": {"type": "integer"}},
}


def _json_body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }


def _refusals() -> dict[int | str, dict[str, Any]]:
    return errors.responses(400, 401, 413, 422, 503)


def _ok(schema: dict[str, Any], example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "Accepted; duplicates were already published before",
            "content": {"application/json": {"schema": schema, "example": example}},
        },
        **_refusals(),
    }


WHATSAPP: RouteDocs = {
    "openapi_extra": _json_body(_META_ENTRY, WHATSAPP_EXAMPLE),
    "responses": _ok(RECEIVED, {"received": 1, "duplicates": 0}),
}
MESSENGER: RouteDocs = {
    "openapi_extra": _json_body(_META_ENTRY, MESSENGER_EXAMPLE),
    "responses": _ok(RECEIVED, {"received": 1, "duplicates": 0}),
}
WEBCHAT: RouteDocs = {
    "openapi_extra": _json_body(WebchatMessage.model_json_schema(), WEBCHAT_EXAMPLE),
    "responses": _ok(
        {**RECEIVED, "properties": {**RECEIVED["properties"], "event_id": {"type": "string"}}},
        {"received": 1, "duplicates": 0, "event_id": "wc:sess-42:m-1"},
    ),
}
IVR: RouteDocs = {
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": IVR_FORM, "example": IVR_EXAMPLE}
            },
        }
    },
    "responses": {
        200: {"description": "TwiML for Twilio", "content": {"application/xml": {}}},
        **_refusals(),
    },
}
HANDSHAKE: RouteDocs = {
    "responses": {
        200: {"description": "The `hub.challenge`, as plain text", "content": {"text/plain": {}}},
        **errors.responses(403),
    }
}
