"""What a provider answered to one send, in our words: accepted, retry later, or refused.

Every sender (WhatsApp, Messenger, SMTP) maps its protocol's answer to one of these, so the
delivery use case decides retries and failures the same way for all of them.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Accepted:
    """The provider took the message: its own id, for the status webhooks to match."""

    external_id: str


@dataclass(frozen=True)
class Retryable:
    """Worth trying again (429, 5xx, timeouts, throttling codes, a token being fixed)."""

    reason: str  # a short label for metrics: "http_429", "timeout", "throttled", "auth", ...
    detail: str  # the provider's words, for logs and, if it ends failed, for staff
    code: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After, when the provider said


@dataclass(frozen=True)
class Refused:
    """Will never succeed as it is (invalid recipient, window closed, blocked): failed."""

    reason: str  # short label for metrics: "invalid_recipient", "window_closed", ...
    detail: str  # the provider's words, shown to staff
    code: str | None = None


Outcome = Accepted | Retryable | Refused


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


# WhatsApp's pair rate limit (131056: about one message every 6 s to one recipient): Meta asks
# for an exponential backoff of 4^X seconds, X counting the retries from 0.
PAIR_RATE_CODE = "131056"


def provider_wait(outcome: Retryable, retry: int) -> float | None:
    """The least wait the provider asked for before retry number `retry` (0 for the first):
    its Retry-After, or for the pair rate limit 4^retry seconds."""
    if outcome.code == PAIR_RATE_CODE:
        return max(outcome.retry_after or 0.0, 4.0**retry)
    return outcome.retry_after


def backoff_seconds(
    attempt: int, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Exponential backoff with full jitter (attempt 0 waits up to `base`), never less than
    what the provider asked for with Retry-After, never more than `cap` unless it asked."""
    jittered = random.uniform(0, min(cap, base * (2**attempt)))
    if retry_after is not None:
        return max(retry_after, jittered)
    return jittered
