"""HTTP entry points of the channels: thin, they read the raw body and map refusals
(`REFUSALS`) to the one error shape of `shared.errors`."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from services.ingest import openapi as schemas
from services.ingest.errors import (
    IngestError,
    InvalidPayload,
    MalformedBody,
    PayloadTooLarge,
    PublishFailed,
    SignatureInvalid,
)
from services.ingest.handlers import Ingest
from services.ingest.metrics import WEBHOOK_REJECTIONS
from shared import errors
from shared.config import Settings
from shared.contracts.base import Channel
from shared.logging import get_logger

log = get_logger("ingest.api")

REFUSALS: dict[type[IngestError], errors.Refusal] = {
    SignatureInvalid: errors.Refusal(
        errors.Unauthorized,
        "invalid_signature",
        "La firma o el token del canal no coincide: revise el secreto configurado.",
    ),
    PayloadTooLarge: errors.Refusal(
        errors.PayloadTooLarge, "payload_too_large", "El cuerpo supera el tamaño máximo."
    ),
    MalformedBody: errors.Refusal(
        errors.BadRequest, "malformed_body", "El cuerpo no es JSON ni un formulario válido."
    ),
    InvalidPayload: errors.Refusal(
        errors.Invalid, "invalid_payload", "El contenido no tiene la forma que usa el canal."
    ),
    PublishFailed: errors.Refusal(
        errors.Unavailable, "unavailable", "No se pudo registrar el mensaje; reintente."
    ),
}
MAX_CHALLENGE_CHARS = 256


async def read_body(request: Request, limit: int) -> bytes:
    """The raw bytes, refusing anything over `limit` without reading all of it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(exc: IngestError) -> JSONResponse:
    """The one error shape for a refused webhook; 503 tells the channel when to retry."""
    error = errors.refuse(exc, REFUSALS)
    if error.status == 503:
        error.headers["Retry-After"] = "5"
    return errors.error_response(error)


def build_router(ingest: Ingest, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["ingest"])

    async def receive(channel: Channel, request: Request) -> tuple[Response | None, object]:
        try:
            raw = await read_body(request, settings.max_webhook_bytes)
        except PayloadTooLarge as exc:
            WEBHOOK_REJECTIONS.labels(channel, exc.reason).inc()
            return error_response(exc), None
        try:
            outcome = await ingest.receive(channel, raw, dict(request.headers), str(request.url))
        except IngestError as exc:
            return error_response(exc), None
        return None, outcome

    def handshake(request: Request, verify_token: str) -> Response:
        q = request.query_params
        mode = q.get("hub.mode") or q.get("hub_mode")
        token = q.get("hub.verify_token") or q.get("hub_verify_token") or ""
        challenge = q.get("hub.challenge") or q.get("hub_challenge") or ""
        if (
            mode == "subscribe"
            and challenge
            and len(challenge) <= MAX_CHALLENGE_CHARS
            and hmac.compare_digest(token.encode(), verify_token.encode())
        ):
            return PlainTextResponse(challenge)
        return errors.error_response(
            errors.Forbidden(
                "La verificación del webhook falló: revise el token de verificación.",
                code="verification_failed",
            )
        )

    @router.get(
        "/whatsapp",
        summary="Meta verification handshake for the WhatsApp webhook",
        **schemas.HANDSHAKE,
    )
    async def whatsapp_handshake(request: Request) -> Response:
        return handshake(request, settings.whatsapp_verify_token)

    @router.get(
        "/messenger",
        summary="Meta verification handshake for the Messenger webhook",
        **schemas.HANDSHAKE,
    )
    async def messenger_handshake(request: Request) -> Response:
        return handshake(request, settings.messenger_verify_token)

    @router.post(
        "/whatsapp",
        summary="WhatsApp Cloud API webhook (X-Hub-Signature-256)",
        **schemas.WHATSAPP,
    )
    async def whatsapp_webhook(request: Request) -> Response:
        error, outcome = await receive("whatsapp", request)
        return error or JSONResponse(outcome.as_response())  # type: ignore[attr-defined]

    @router.post(
        "/messenger",
        summary="Messenger Platform webhook (X-Hub-Signature-256)",
        **schemas.MESSENGER,
    )
    async def messenger_webhook(request: Request) -> Response:
        error, outcome = await receive("messenger", request)
        return error or JSONResponse(outcome.as_response())  # type: ignore[attr-defined]

    @router.post(
        "/webchat",
        summary="Web chatbot message (Authorization: Bearer WEBCHAT_TOKEN)",
        **schemas.WEBCHAT,
    )
    async def webchat_webhook(request: Request) -> Response:
        error, outcome = await receive("webchat", request)
        if error:
            return error
        body = outcome.as_response()  # type: ignore[attr-defined]
        events = outcome.events  # type: ignore[attr-defined]
        return JSONResponse({**body, "event_id": events[0].event_id if events else None})

    @router.post(
        "/ivr", summary="Twilio Voice webhook (X-Twilio-Signature); answers TwiML", **schemas.IVR
    )
    async def ivr_webhook(request: Request) -> Response:
        error, outcome = await receive("ivr", request)
        if error:
            return error
        return Response(ingest.twiml_for(outcome), media_type="application/xml")  # type: ignore[arg-type]

    return router
