"""Prometheus metrics of the ingest service (no ids in label values)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INBOUND_EVENTS = Counter(
    "cc_inbound_events_total",
    "Inbound events published to the bus (confirmed), by channel and kind",
    ["channel", "kind"],
)
INBOUND_DUPLICATES = Counter(
    "cc_inbound_duplicates_total",
    "Inbound events not published again because their idempotency key was already seen",
    ["channel"],
)
WEBHOOK_REJECTIONS = Counter(
    "cc_webhook_rejections_total",
    "Webhooks refused, by channel and reason (signature, malformed, schema, too_large, ...)",
    ["channel", "reason"],
)
WEBHOOK_ITEMS_SKIPPED = Counter(
    "cc_webhook_items_skipped_total",
    "Items inside an accepted webhook that could not become an event (no id, no sender, ...)",
    ["channel"],
)
WEBHOOK_PROVIDER_ERRORS = Counter(
    "cc_webhook_provider_errors_total",
    "Errors the provider reported inside accepted webhooks, by channel and the provider's code",
    ["channel", "code"],
)

# --- outbound delivery (labels: channel = whatsapp | messenger | email | webchat | ivr) ---
OUTBOUND_SENT = Counter(
    "cc_outbound_sent_total", "Replies the provider accepted (every part), by channel", ["channel"]
)
OUTBOUND_FAILED = Counter(
    "cc_outbound_failed_total",
    "Replies that ended failed, by channel and reason (invalid_recipient, window_closed, "
    "blocked, template_error, expired, read_only_channel, ...)",
    ["channel", "reason"],
)
OUTBOUND_RETRIES = Counter(
    "cc_outbound_retries_total",
    "Retryable send failures (each one retried or parked), by channel and reason "
    "(throttled, http_500, timeout, unreachable, auth, ...)",
    ["channel", "reason"],
)
OUTBOUND_PACED = Counter(
    "cc_outbound_paced_total",
    "Reply parts that waited for a provider limit (limit = pair, throughput, text, media; "
    "action = waited in process, or parked for the sweeper)",
    ["channel", "limit", "action"],
)
OUTBOUND_SEND_SECONDS = Histogram(
    "cc_outbound_send_seconds",
    "Duration of one provider call (one part of a reply), by channel",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOUND_PENDING = Gauge(
    "cc_outbound_pending_deliveries",
    "Replies being sent or parked for a retry, by channel (from the deliveries record); "
    "replies still in connector.<channel> are in cc_queue_messages",
    ["channel"],
)
OUTBOUND_PAUSED = Gauge(
    "cc_outbound_channel_paused",
    "1 when a channel's credentials are unset: its replies stay queued, unsent",
    ["channel"],
)
OUTBOUND_DUPLICATES = Counter(
    "cc_outbound_duplicates_total",
    "Redelivered replies not sent again (already sent, failed, or being sent)",
    ["channel"],
)
OUTBOUND_OUTCOME_DEFERRED = Counter(
    "cc_outbound_outcome_deferred_total",
    "Delivery outcomes the broker did not take at once (published later by the sweeper)",
)
