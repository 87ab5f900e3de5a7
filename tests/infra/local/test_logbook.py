"""The processes' last lines as log entries (function_logs under `make run`): severities
read from every kind of line the stack prints, tracebacks kept with their entry."""

from __future__ import annotations

import json
import time

from infra.local.logbook import LogBook


def test_each_kind_of_line_gets_its_severity() -> None:
    book = LogBook()
    book.add("chat", json.dumps({"severity": "ERROR", "message": "chat run failed"}))
    book.add("chat", "\x1b[33mWARNING\x1b[0m")  # a coloured fragment: no entry of its own
    book.add("chat", "12:04:05  \x1b[31mERROR\x1b[0m  model stalled  req=1a2b3c4d")
    book.add("chat", "[2026-12-08 12:04:05 +0000] [4242] [INFO] Booting worker with pid: 4243")
    book.add("chat", "plain output")

    entries = [(e.severity, e.message) for e in reversed(book.query(["chat"]))]

    assert entries == [
        ("ERROR", "chat run failed"),
        ("DEFAULT", "WARNING"),
        ("ERROR", "model stalled  req=1a2b3c4d"),
        ("INFO", "Booting worker with pid: 4243"),
        ("DEFAULT", "plain output"),
    ]


def test_a_traceback_stays_with_the_entry_that_logged_it() -> None:
    book = LogBook()
    book.add("agents", "12:00:00  ERROR  unhandled error  req=9f8e7d6c")
    book.add("agents", "Traceback (most recent call last):")
    book.add("agents", '  File "shared/web/api.py", line 10, in handle')
    book.add("agents", "ValueError: boom")
    book.add("agents", "12:00:01  INFO   GET /v1/agents 200")

    error, info = reversed(book.query(["agents"]))

    assert error.severity == "ERROR"
    assert error.message.splitlines() == [
        "unhandled error  req=9f8e7d6c",
        "Traceback (most recent call last):",
        '  File "shared/web/api.py", line 10, in handle',
        "ValueError: boom",
    ]
    assert info.message == "GET /v1/agents 200"


def test_a_traceback_alone_is_an_error_entry() -> None:
    book = LogBook()
    book.add("webhook", "Traceback (most recent call last):", at=time.time() - 10)

    [entry] = book.query(["webhook"], severity="ERROR")

    assert entry.message.startswith("Traceback")


def test_the_query_filters_by_function_severity_window_and_text_newest_first() -> None:
    book = LogBook()
    now = time.time()
    book.add("chat", "12:00:00  ERROR  Timeout talking to the model", at=now - 3 * 3600)
    book.add("chat", "12:00:00  ERROR  timeout again", at=now - 60)
    book.add("chat", "12:00:00  WARNING  slow TIMEOUT", at=now - 30)
    book.add("chat", "12:00:00  INFO  fine", at=now - 20)
    book.add("agents", "12:00:00  ERROR  timeout elsewhere", at=now - 10)

    found = book.query(["chat"], severity="WARNING", minutes=60, text="timeout", limit=5)

    assert [e.message for e in found] == ["slow TIMEOUT", "timeout again"]
    assert [e.process for e in book.query([], severity="ERROR", limit=1)] == ["agents"]


def test_each_process_keeps_only_its_last_entries() -> None:
    book = LogBook(per_process=3)
    for n in range(5):
        book.add("sweep", f"12:00:00  INFO  tick {n}", at=time.time() - 10 + n)

    assert [e.message for e in book.query(["sweep"])] == ["tick 4", "tick 3", "tick 2"]
