"""One log format for the whole process: JSON lines on stderr.

Our own code logs through structlog; uvicorn, FastStream and every other library log
through the standard `logging` module. Both end in the same renderer, so each line is one
JSON object with `timestamp` (ISO 8601, UTC), `level`, `logger` and `event`, plus whatever
the call bound: event and conversation ids travel in contextvars, a consumed message's
queue, exchange and message id come from FastStream's log context. FastStream and uvicorn
would otherwise print their own coloured or plain lines (FastStream's access log on
stdout); `configure_logging` takes those handlers away. `LOG_JSON=false` switches the one
renderer to structlog's console renderer, for a human at a terminal, still on stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import structlog

if TYPE_CHECKING:
    from faststream._internal.context.repository import ContextRepo

# Loggers that install their own handlers (FastStream) or are configured by uvicorn: they
# must hand their records to the root handler instead.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream")
BROKER_LOGGER = "faststream.access.rabbit"
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


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard `logging` module to one renderer on stderr."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.add_logger_name,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_NamedPrintLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *_shared_processors(),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                _drop_colours,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in (*LIBRARY_LOGGERS, BROKER_LOGGER):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


def _drop_colours(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn adds an ANSI-coloured copy of its message as `color_message`: not in a log."""
    event.pop("color_message", None)
    return event


class _NamedPrintLogger(structlog.PrintLogger):
    """structlog's stderr printer, carrying the name `get_logger(name)` gave it, so our lines
    have the same `logger` key as the standard library's."""

    def __init__(self, *args: Any) -> None:
        super().__init__(sys.stderr)
        self.name = str(args[0]) if args else "contactcenter"


class _MessageContext(logging.Filter):
    """Adds the consumed message's queue, exchange and message id, as FastStream's own
    access logger does, so a broker line says which message it is about."""

    def __init__(self, context: ContextRepo) -> None:
        super().__init__()
        self.context = context

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self.context.get_local("log_context", {}).items():
            if value and not hasattr(record, key):
                setattr(record, key, value)
        return True


def broker_logger() -> logging.Logger:
    """The logger to give a broker (`logger=`): a plain `logging` logger that propagates to
    the one handler, instead of the coloured stdout logger FastStream builds by default."""
    logger = logging.getLogger(BROKER_LOGGER)
    logger.handlers.clear()
    logger.propagate = True
    return logger


def attach_message_context(logger: logging.Logger, context: ContextRepo) -> None:
    if not any(isinstance(f, _MessageContext) for f in logger.filters):
        logger.addFilter(_MessageContext(context))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


bind_context = structlog.contextvars.bound_contextvars
