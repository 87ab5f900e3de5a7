"""The last lines of every process `make run` started, kept as log entries for the
operator tools (`function_logs` through the stack's control endpoint, infra/local/control.py).

Each line the stack prints is also recorded here, per process, as an entry with the time it
arrived and a severity read from the line: a Cloud Logging JSON line (`LOG_FORMAT=json`)
by its `severity`, a text line of the platform's logger (`12:04:05 ERROR ...`, colours
stripped) or of gunicorn (`[...] [pid] [ERROR] ...`) by its level. A line that starts no
entry (a traceback's frames, the exception that ends it) is added to the entry before it.
Each process keeps its last `LOCAL_LOG_ENTRIES` entries (2000).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = (
    "DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY",
)  # fmt: skip
MAX_ENTRY_CHARS = 8000
# A line that starts no entry joins the one before it when that one is this recent.
CONTINUATION_SECONDS = 2.0

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TEXT = re.compile(r"^\d\d:\d\d:\d\d\s+(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(.*)$")
_GUNICORN = re.compile(r"^\[[^\]]+\] \[\d+\] \[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] (.*)$")
_CONTINUES = re.compile(
    r"^(?:\s|Traceback \(|During handling|The above exception|"
    r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b)"
)


@dataclass
class Entry:
    at: float  # seconds since the epoch, when the line arrived
    process: str
    severity: str
    message: str

    def as_json(self) -> dict[str, Any]:
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
        return {
            "time": f"{moment}.{int(self.at % 1 * 1000):03d}Z",
            "function": self.process,
            "severity": self.severity,
            "message": self.message,
        }


def _parsed(line: str) -> tuple[str, str] | None:
    """(severity, message) when the line starts an entry."""
    if line.startswith("{"):
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict) and "message" in value:
            message = str(value["message"])
            if value.get("stack_trace"):
                message += "\n" + str(value["stack_trace"])
            severity = str(value.get("severity") or "DEFAULT").upper()
            return (severity if severity in SEVERITIES else "DEFAULT"), message
    for pattern in (_TEXT, _GUNICORN):
        match = pattern.match(line)
        if match:
            return match.group(1), match.group(2)
    if line.startswith("Traceback ("):
        return "ERROR", line
    return None


@dataclass
class LogBook:
    per_process: int = 2000
    _entries: dict[str, deque[Entry]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, process: str, raw: str, at: float | None = None) -> None:
        line = _ANSI.sub("", raw).rstrip()
        if not line:
            return
        at = time.time() if at is None else at
        parsed = _parsed(line)
        with self._lock:
            kept = self._entries.setdefault(process, deque(maxlen=self.per_process))
            last = kept[-1] if kept else None
            recent = last is not None and at - last.at <= CONTINUATION_SECONDS
            continues = line.startswith("Traceback (") or (
                parsed is None and _CONTINUES.match(line) is not None
            )
            if last is not None and recent and continues:
                if len(last.message) < MAX_ENTRY_CHARS:
                    last.message = (last.message + "\n" + line)[:MAX_ENTRY_CHARS]
                return
            severity, message = parsed or ("DEFAULT", line)
            kept.append(Entry(at, process, severity, message[:MAX_ENTRY_CHARS]))

    def query(
        self,
        processes: list[str],
        severity: str = "DEFAULT",
        minutes: float = 60,
        text: str | None = None,
        limit: int = 50,
    ) -> list[Entry]:
        """Entries of `processes` (all when empty) at or above `severity`, from the last
        `minutes`, containing `text` (any case): the newest `limit`, newest first."""
        floor = SEVERITIES.index(severity) if severity in SEVERITIES else 0
        since = time.time() - minutes * 60
        needle = text.casefold() if text else None
        with self._lock:
            chosen = [
                entry
                for name, entries in self._entries.items()
                if not processes or name in processes
                for entry in entries
                if entry.at >= since
                and SEVERITIES.index(entry.severity) >= floor
                and (needle is None or needle in entry.message.casefold())
            ]
        chosen.sort(key=lambda entry: entry.at, reverse=True)
        return chosen[:limit]
