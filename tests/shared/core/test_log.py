from __future__ import annotations

import json
import logging
from typing import Any

from shared.core import log, trace


def format_record(message: str, **extra: object) -> dict[str, object]:
    formatter = log.CloudLoggingFormatter("demo-project", "unit")
    record = logging.LogRecord("unit", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    entry: dict[str, object] = json.loads(formatter.format(record))
    return entry


def test_entries_carry_severity_message_and_fields() -> None:
    entry = format_record("hello", fields={"agentId": "agt_1"})

    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert entry["agentId"] == "agt_1"
    assert entry["component"] == "unit"


def test_entries_carry_the_current_trace_and_request_id() -> None:
    context = trace.new_trace()
    trace_token = trace.bind(context)
    id_token = log.bind_request_id("req-0001")
    try:
        entry = format_record("inside a request")
    finally:
        log.unbind_request_id(id_token)
        trace.unbind(trace_token)

    assert (
        entry["logging.googleapis.com/trace"] == f"projects/demo-project/traces/{context.trace_id}"
    )
    assert entry["logging.googleapis.com/spanId"] == context.span_id
    assert entry["requestId"] == "req-0001"


def test_entries_outside_a_request_have_no_trace() -> None:
    entry = format_record("at import")

    assert "logging.googleapis.com/trace" not in entry


def test_text_lines_are_one_compact_line_with_latency_fields_and_ids() -> None:
    formatter = log.TextFormatter("chat", colour=False)
    record = logging.LogRecord("http", logging.INFO, __file__, 1, "POST /v1/x 200", None, None)
    record.httpRequest = {"latency": "0.012300s"}
    record.fields = {"outcome": "completed", "errorCode": None}
    context = trace.new_trace()
    trace_token, id_token = trace.bind(context), log.bind_request_id("abcdef0123456789")
    try:
        line = formatter.format(record)
    finally:
        log.unbind_request_id(id_token)
        trace.unbind(trace_token)

    assert "\n" not in line and len(line) < 120
    assert "INFO" in line and "POST /v1/x 200" in line and "12.3ms" in line
    assert "outcome=completed" in line and "errorCode" not in line
    assert "req=abcdef01" in line and f"trace={context.trace_id[:8]}" in line


def test_the_format_is_text_at_make_run_and_json_elsewhere(settings: Any) -> None:
    settings(ENVIRONMENT="local", LOG_FORMAT=None)
    local = log.formatter("unit")
    settings(ENVIRONMENT="production", LOG_FORMAT=None)
    deployed = log.formatter("unit")
    settings(ENVIRONMENT="local", LOG_FORMAT="json")
    asked = log.formatter("unit")

    assert isinstance(local, log.TextFormatter)
    assert isinstance(deployed, log.CloudLoggingFormatter)
    assert isinstance(asked, log.CloudLoggingFormatter)
