"""One interface over the platform's functions, and the implementation this process uses.

`PlatformAdapter` is what the operator tools (`shared.tools.catalog`) call; `get_adapter`
answers the one `PLATFORM_ADAPTER` chooses, created on first use: `GoogleAdapter` (Cloud
Run Admin, Cloud Logging and Cloud Monitoring, `shared.platform_ops.google`) or
`LocalAdapter` (the stack `make run` started, `shared.platform_ops.local`). Neither module
is imported until a tool runs.

Failures an operator can act on are `errors.PlatformError`s below 500 (an unknown
function, a change with no local equivalent, a permission the deployment lacks), which
the registry answers as the tool's error; a Google API or the stack that does not answer
stays a dependency failure of the request (503 with Retry-After).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

from shared.core import state
from shared.platform_ops.models import Change, LogQuery, LogReport, RevisionRecord, StatusReport
from shared.platform_ops.settings import bounds_of, get_platform_settings, known_functions

__all__ = ["LogQuery", "PlatformAdapter", "bounds_of", "get_adapter", "known_functions"]


class PlatformAdapter(Protocol):
    source: str

    def status(self, names: list[str], minutes: int) -> StatusReport: ...

    def logs(self, query: LogQuery) -> LogReport: ...

    def restart(self, name: str) -> Change: ...

    def scale(self, name: str, min_instances: int | None, max_instances: int | None) -> Change: ...

    def rollback(self, name: str) -> Change: ...

    def revisions(self, names: list[str], since: datetime) -> list[RevisionRecord]: ...


_lock = threading.Lock()
_adapter: tuple[object, PlatformAdapter] | None = None


def get_adapter() -> PlatformAdapter:
    """The adapter the settings choose, made once per process (and again after
    `state.reset()` with other settings)."""
    global _adapter  # noqa: PLW0603 - one adapter (and its clients) per process
    settings = get_platform_settings()
    current = _adapter
    if current is not None and current[0] is settings:
        return current[1]
    with _lock:
        if _adapter is None or _adapter[0] is not settings:
            made: PlatformAdapter
            if settings.chosen_adapter == "google":
                from shared.platform_ops.google import GoogleAdapter

                made = GoogleAdapter(settings)
            else:
                from shared.platform_ops.local import LocalAdapter

                made = LocalAdapter(settings)
            _adapter = (settings, made)
        return _adapter[1]


@state.on_reset
def _forget() -> None:
    global _adapter  # noqa: PLW0603
    _adapter = None
