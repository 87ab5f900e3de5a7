from __future__ import annotations

import json
import logging

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
