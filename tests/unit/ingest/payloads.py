"""Real-shape channel payloads for ingest tests (built fresh with unique ids per test)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ingest"
# The project's own channel bodies (tests/fixtures/channels/README.md): every shape each
# channel sends, written for this project; no test reads anything outside the repository.
CHANNELS = Path(__file__).parents[2] / "fixtures" / "channels"


def channel_fixture(name: str) -> Any:
    """A JSON file under tests/fixtures/channels, e.g. `whatsapp/messages.json`."""
    return json.loads((CHANNELS / name).read_text())


def uid() -> str:
    return uuid.uuid4().hex[:12]


def wa_text(
    text: str = "Hola, no tengo internet",
    *,
    wamid: str | None = None,
    phone: str = "5491155550000",
    phone_number_id: str = "106540352242922",
    name: str | None = "Sheena Nelson",
) -> dict[str, Any]:
    contact: dict[str, Any] = {"wa_id": phone, "user_id": "AR.13491208655302741918"}
    if name is not None:
        contact["profile"] = {"name": name}
    return wa_envelope(
        phone_number_id,
        {
            "contacts": [contact],
            "messages": [
                {
                    "from": phone,
                    "id": wamid or f"wamid.{uid()}",
                    "timestamp": "1749854575",
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        },
    )


def wa_envelope(
    phone_number_id: str, value: dict[str, Any], field: str = "messages"
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": field,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def wa_message(phone: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A one-message WhatsApp body; `message` supplies type and payload."""
    return wa_envelope(
        "106540352242922",
        {
            "contacts": [{"profile": {"name": "Test Name"}, "wa_id": phone}],
            "messages": [
                {"from": phone, "id": f"wamid.{uid()}", "timestamp": "1749854575", **message}
            ],
            **extra,
        },
    )


def fb_envelope(*items: dict[str, Any], page: str = "625987814267888") -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": page, "time": 1458692752478, "messaging": list(items)}],
    }


def fb_text(
    text: str = "hola", *, psid: str | None = None, mid: str | None = None
) -> dict[str, Any]:
    return fb_envelope(
        {
            "sender": {"id": psid or f"psid{uid()}"},
            "recipient": {"id": "625987814267888"},
            "timestamp": 1458692752478,
            "message": {"mid": mid or f"m_{uid()}", "text": text},
        }
    )


def webchat(text: str = "Necesito ayuda", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": f"s-{uid()}",
        "message_id": str(uuid.uuid4()),
        "text": text,
        "name": "Juan Pérez",
        "email": "juan@example.com",
        "phone": "+54 9 11 5555-0000",
        "document": "30123456",
        "transcript": [
            {"author": "bot", "text": "Hola, soy Lara. ¿En qué te ayudo?"},
            {"author": "customer", "text": "Quiero hablar con alguien"},
        ],
    }
    body.update(fields)
    return body


def twilio_call(call_sid: str | None = None, **params: str) -> dict[str, str]:
    base = {
        "AccountSid": "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid or f"CA{uuid.uuid4().hex}",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+5491155550000",
        "FromCity": "CORDOBA",
        "FromCountry": "AR",
        "To": "+5491144440000",
        "Caller": "+5491155550000",
        "Called": "+5491144440000",
    }
    base.update(params)
    return base
