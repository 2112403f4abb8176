"""Prometheus metrics of the exports service (prefix `cc_`, never an id in a label)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_PROJECTED = Counter(
    "cc_exports_rows_projected_total",
    "Table rows written from events, by table and outcome (written, stale)",
    ["table", "outcome"],
)
CUSTOMER_UPDATES = Counter(
    "cc_exports_customer_updates_total",
    "Customer events applied to table rows, by action",
    ["action"],
)
EXPORT_SECONDS = Histogram(
    "cc_exports_export_seconds",
    "Time to produce a table listing, Copy or Print, by table and format",
    ["table", "format"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
EXPORT_ROWS = Counter(
    "cc_exports_export_rows_total",
    "Rows returned by listings, Copies and Prints, by table and format",
    ["table", "format"],
)
PRINTS_RUNNING = Gauge(
    "cc_exports_prints_running",
    "Prints being rendered right now (bounded by PRINT_MAX_CONCURRENT)",
)
PRINTS_REFUSED = Counter(
    "cc_exports_prints_refused_total",
    "Prints refused with 429 because too many were running, by scope (user, overall)",
    ["scope"],
)
