"""Prometheus metrics of the ingest service (no ids in label values)."""

from __future__ import annotations

from prometheus_client import Counter

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
