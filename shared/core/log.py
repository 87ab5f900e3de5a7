"""One logger that writes Cloud Logging structured JSON to stdout (or, at `make run`,
compact text lines: `LOG_FORMAT`).

Each line carries `severity`, `message`, `time`, the trace and span of the current request
or event (`logging.googleapis.com/trace`), the request id, and any `fields` passed in
`extra`. Cloud Run forwards stdout to Cloud Logging, which parses these lines as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from shared.core import trace

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SEVERITY = {"WARNING": "WARNING", "CRITICAL": "CRITICAL", "ERROR": "ERROR"}


def bind_request_id(request_id: str | None) -> object:
    return _request_id.set(request_id)


def unbind_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


class CloudLoggingFormatter(logging.Formatter):
    def __init__(self, project: str, component: str) -> None:
        super().__init__()
        self.project = project
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "component": self.component,
        }
        context = trace.current()
        if context is not None:
            entry["logging.googleapis.com/trace"] = (
                f"projects/{self.project}/traces/{context.trace_id}"
            )
            entry["logging.googleapis.com/spanId"] = context.span_id
            entry["logging.googleapis.com/trace_sampled"] = context.sampled
        request_id = _request_id.get()
        if request_id:
            entry["requestId"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        http_request = getattr(record, "httpRequest", None)
        if http_request:
            entry["httpRequest"] = http_request
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_COLOURS = {"DEBUG": "2", "INFO": "36", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}


class TextFormatter(logging.Formatter):
    """One compact line per entry, for people at a terminal (`make run`):
    `12:04:05 INFO  chat  POST /v1/... 200 12.3ms  outcome=completed  req=1a2b3c4d trace=9f8e7d6c`.
    """

    def __init__(self, component: str, colour: bool) -> None:
        super().__init__()
        self.component = component
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        level = f"{record.levelname:<5}"
        if self.colour:
            level = f"\x1b[{_COLOURS.get(record.levelname, '0')}m{level}\x1b[0m"
        parts = [moment, level, record.getMessage()]
        http_request = getattr(record, "httpRequest", None)
        if isinstance(http_request, dict) and "latency" in http_request:
            seconds = float(str(http_request["latency"]).rstrip("s") or 0)
            parts.append(f"{seconds * 1000:.1f}ms")
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            parts.extend(f"{k}={v}" for k, v in fields.items() if v is not None and v != "")
        request_id = _request_id.get()
        if request_id:
            parts.append(f"req={request_id[:8]}")
        context = trace.current()
        if context is not None:
            parts.append(f"trace={context.trace_id[:8]}")
        line = "  ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


_configured = False


def configure(component: str) -> None:
    """Route the root logger to stdout as Cloud Logging JSON. Idempotent."""
    global _configured  # noqa: PLW0603 - one logging setup per process
    if _configured:
        return
    from shared.core.settings import get_settings

    settings = get_settings()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # The client libraries are chatty at INFO about retries we already report.
    for noisy in ("google", "urllib3", "httpx", "httpcore", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def formatter(component: str) -> logging.Formatter:
    """`LOG_FORMAT`'s formatter: text for people at `make run`, JSON for Cloud Logging."""
    from shared.core.settings import get_settings

    settings = get_settings()
    chosen = settings.log_format or ("text" if settings.environment == "local" else "json")
    if chosen == "text":
        return TextFormatter(component, colour="NO_COLOR" not in os.environ)
    return CloudLoggingFormatter(settings.google_cloud_project, component)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
