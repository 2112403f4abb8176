"""Prometheus metrics of the tickets service (no ids in labels)."""

from __future__ import annotations

from prometheus_client import Counter

TICKETS_TOTAL = Counter(
    "cc_tickets_total",
    "Technical services entering a status (pendiente on creation, then confirmado/cancelado)",
    ["status"],
)
TICKET_REFUSALS_TOTAL = Counter(
    "cc_ticket_refusals_total",
    "Requests on services or consultations refused by a domain rule, by kind of refusal",
    ["reason"],
)
CONSULTATIONS_TOTAL = Counter(
    "cc_consultations_total",
    "Portal consultations by what happened to them (created, answered, closed, converted)",
    ["action"],
)
SALES_CALLS_TOTAL = Counter(
    "cc_sales_calls_total",
    "IVR sales calls recorded (recorded) and later changes to them (updated)",
    ["action"],
)
