"""Log output: plain text for a person at a terminal, or one JSON object per line for a log
collector (``HUB_LOG_FORMAT=json``).

A JSON line carries the time, level, logger and message, and, where known, the request id,
organisation, OAuth client, operation (root field names), outcome and duration. Nothing else
from the record is copied: survivor data, query text and variables are never passed to a
logger by the hub, and this formatter does not go looking for them in a record's extras.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The request being served, so every line logged while serving it names it.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# Extras a hub logger may attach (``extra={...}``), and their names in the JSON line.
FIELDS = {
    "request_id": "request_id",
    "organization": "organization",
    "client": "client",
    "operation": "operation",
    "operation_type": "operation_type",
    "outcome": "outcome",
    "duration_ms": "duration_ms",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attribute, key in FIELDS.items():
            value = getattr(record, attribute, None)
            if value is not None:
                line[key] = value
        if "request_id" not in line and (request_id := current_request_id.get()) is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class WithoutQueryStrings(logging.Filter):
    """uvicorn's access lines quote the path with its query string, and a client may put
    anything there (``GET /graphql?query=…&variables=…``). Keep the path, drop the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


def configure_logging(level: str, log_format: str) -> None:
    """The root handler on stderr, in the chosen format; uvicorn's loggers go through it."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WithoutQueryStrings) for f in access.filters):
        access.addFilter(WithoutQueryStrings())
