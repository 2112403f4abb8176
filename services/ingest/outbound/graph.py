"""Meta's Graph API, as both WhatsApp and Messenger speak it: one POST, one answer.

A success is `200` with the message id; an error is `{"error": {"message", "type", "code",
"error_subcode"?, "error_data": {"details"}?, "fbtrace_id"}}`. Meta advises to decide on
`code` (and `error_data.details`), never on the message text, so classification is a table
of codes. Unknown 4xx codes are refused (a retry would fail the same way); unknown 5xx are
retried.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.ingest.outbound.outcome import (
    Accepted,
    Outcome,
    Refused,
    Retryable,
    retry_after_seconds,
)

# Throttling: app (4), user (17), page (32), custom (613), WABA (80007), Cloud API
# throughput (130429), pair rate (131056), spam rate (131048).
THROTTLED = {4, 17, 32, 613, 80007, 130429, 131048, 131056}
# Meta's side failing for now: unknown (1), service (2), "something went wrong" (131000),
# service unavailable (131016), account in maintenance during a throughput upgrade, about a
# minute (131057), server temporarily unavailable (133004).
TRANSIENT = {1, 2, 131000, 131016, 131057, 133004}
# The token or the app's permissions: every message would fail the same way until an
# operator fixes the settings, so replies are kept (retried), not failed one by one.
AUTH = {0, 102, 190}
# Refusals with our own short labels (for metrics and for staff).
REFUSALS: dict[int, str] = {
    100: "invalid_parameter",
    131008: "invalid_parameter",
    131009: "invalid_parameter",
    131021: "invalid_recipient",
    131026: "undeliverable",
    131030: "invalid_recipient",
    131031: "account_locked",
    131042: "payment",
    131047: "window_closed",
    131049: "marketing_limit",
    131051: "unsupported_type",
    131052: "media_error",
    131053: "media_error",
    132000: "template_error",
    132001: "template_error",
    132005: "template_error",
    132007: "template_error",
    132012: "template_error",
    132015: "template_error",
    132016: "template_error",
    368: "blocked",
    551: "recipient_unavailable",
    10: "permission",
    200: "permission",
}
# Messenger subcodes that say more than the code.
SUBCODES: dict[int, str] = {
    2018278: "window_closed",  # "This message is sent outside of allowed window"
    2018001: "invalid_recipient",  # "No matching user found"
    2018108: "blocked",  # the person blocked or cannot be messaged by the Page
    1545041: "recipient_unavailable",  # "This person isn't available right now"
}


def error_of(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}


def _detail(error: dict[str, Any], status: int) -> str:
    message = str(error.get("message") or f"HTTP {status}")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return f"{message}: {details}" if details else message


def classify_error(status: int, body: Any, retry_after: str | None) -> Outcome:
    """Map a non-2xx Graph answer to retry or refusal, by Meta's code first."""
    error = error_of(body)
    code = error.get("code")
    subcode = error.get("error_subcode")
    detail = _detail(error, status)
    label = str(code) if code is not None else None
    wait = retry_after_seconds(retry_after)
    if isinstance(subcode, int) and subcode in SUBCODES:
        return Refused(SUBCODES[subcode], detail, label)
    if status == 429 or code in THROTTLED:
        return Retryable("throttled", detail, label, wait)
    if code in AUTH or status == 401:
        return Retryable("auth", detail, label, wait)
    if code in TRANSIENT or status >= 500 or status == 408:
        return Retryable(f"http_{status}" if status >= 500 else "transient", detail, label, wait)
    if isinstance(code, int) and code in REFUSALS:
        return Refused(REFUSALS[code], detail, label)
    return Refused("rejected", detail, label)


class GraphClient:
    """POSTs JSON to `{GRAPH_API_BASE_URL}/{GRAPH_API_VERSION}/<path>` with a bearer token."""

    def __init__(self, base_url: str, version: str, timeout: float) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/{version.strip('/')}/", timeout=timeout
        )

    async def post(
        self, path: str, token: str, body: dict[str, Any]
    ) -> tuple[int, Any, str | None]:
        """(status, decoded JSON or None, Retry-After); transport errors raise httpx errors."""
        response = await self.http.post(
            path.lstrip("/"),
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        try:
            decoded = response.json()
        except ValueError:
            decoded = None
        return response.status_code, decoded, response.headers.get("retry-after")

    async def send(self, path: str, token: str, body: dict[str, Any], id_of: Any) -> Outcome:
        """One send: transport failures and timeouts are retryable (the provider may or may
        not have taken it; a retry risks a duplicate, which beats losing the reply)."""
        try:
            status, decoded, retry_after = await self.post(path, token, body)
        except httpx.TimeoutException as exc:
            return Retryable("timeout", f"no answer in time ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return Retryable("unreachable", f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            external_id = id_of(decoded)
            if external_id:
                return Accepted(str(external_id))
            # Taken but unidentifiable: resending could duplicate it, so it is not retried.
            return Refused("bad_answer", f"HTTP {status} without a message id")
        return classify_error(status, decoded, retry_after)

    async def close(self) -> None:
        await self.http.aclose()
