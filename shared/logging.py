"""Structured JSON logs; event and conversation ids travel in contextvars."""

from __future__ import annotations

import logging
import sys
from typing import Any
from urllib.parse import parse_qsl, urlencode

import structlog

# Query parameters whose values may appear in logs: filters and paging. Anything else (the
# Meta `hub.verify_token`, staff search terms `q` with names and document numbers, ids) is
# replaced by `[redacted]`.
LOGGABLE_QUERY_KEYS = frozenset(
    {"page", "page_size", "limit", "offset", "channel", "status", "estado", "desde", "hasta",
     "holder", "hub.mode"}
)  # fmt: skip


def redact_query(path: str) -> str:
    """`/api/customers?q=Juan&page=2` → `/api/customers?q=[redacted]&page=2`."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v if k in LOGGABLE_QUERY_KEYS else "[redacted]") for k, v in pairs]
    return f"{base}?{urlencode(kept, safe='[]')}"


class RedactAccessLog(logging.Filter):
    """Redacts the query string of uvicorn's access lines (args: client, method, path, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


bind_context = structlog.contextvars.bound_contextvars
