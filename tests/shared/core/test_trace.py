from __future__ import annotations

from shared.core import trace


def test_traceparent_is_read() -> None:
    context = trace.from_headers(
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    )

    assert context == trace.TraceContext(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True
    )


def test_cloud_trace_context_is_read_when_no_traceparent() -> None:
    context = trace.from_headers(
        {"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}
    )

    assert context.trace_id == "105445aa7843bc8bf206b12000100000"
    assert context.span_id == "0000000000000001"
    assert context.sampled


def test_unreadable_headers_start_a_new_trace() -> None:
    context = trace.from_headers({"traceparent": "garbage", "X-Cloud-Trace-Context": "nope"})

    assert len(context.trace_id) == 32
    assert context.trace_id != "0" * 32


def test_child_keeps_the_trace_and_changes_the_span() -> None:
    parent = trace.new_trace()
    child = parent.child()

    assert child.trace_id == parent.trace_id
    assert child.span_id != parent.span_id
    assert trace.from_headers({"traceparent": child.traceparent()}) == child
