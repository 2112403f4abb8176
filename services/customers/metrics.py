"""Prometheus metrics of the customers service (no ids in labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

IDENTIFICATIONS = Counter(
    "cc_customer_identifications_total",
    "Inbound contacts attributed to a customer, by channel and whether the customer was new",
    ["channel", "outcome"],
)
IDENTIFY_SECONDS = Histogram(
    "cc_customer_identify_seconds",
    "Time to attribute an inbound contact to a customer and publish customer.identified",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STAFF_ACTIONS = Counter(
    "cc_customer_actions_total",
    "Staff actions on customers (edit, tag, merge, anonymize, ...)",
    ["action"],
)
REFUSALS = Counter(
    "cc_customer_refusals_total",
    "Customer API requests refused by a domain rule, by error kind",
    ["error"],
)
