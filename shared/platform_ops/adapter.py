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
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.core import errors, state
from shared.platform_ops.models import Change, LogReport, RevisionRecord, StatusReport
from shared.platform_ops.settings import Bounds, get_platform_settings


@dataclass(frozen=True)
class LogQuery:
    functions: tuple[str, ...]  # empty: every function
    severity: str  # the lowest severity shown (`DEFAULT`: all)
    minutes: int
    text: str | None
    limit: int


class PlatformAdapter(Protocol):
    source: str

    def status(self, names: list[str], minutes: int) -> StatusReport: ...

    def logs(self, query: LogQuery) -> LogReport: ...

    def restart(self, name: str) -> Change: ...

    def scale(self, name: str, min_instances: int | None, max_instances: int | None) -> Change: ...

    def rollback(self, name: str) -> Change: ...

    def revisions(self, names: list[str], since: datetime) -> list[RevisionRecord]: ...


def known_functions() -> dict[str, Bounds]:
    """The platform's functions and their manifest bounds (`PLATFORM_FUNCTIONS`)."""
    functions = get_platform_settings().functions
    if not functions:
        raise errors.Unprocessable(
            "this function does not know the platform's functions: PLATFORM_FUNCTIONS is "
            "not set (Terraform and `make run` set it from infra/functions.yaml)"
        )
    return functions


def bounds_of(name: str) -> Bounds:
    """The named function's manifest bounds; `NotFound` naming the functions there are."""
    functions = known_functions()
    if name not in functions:
        raise errors.NotFound(
            f"no function named {name[:64]!r}; the platform's functions are "
            f"{', '.join(sorted(functions))}"
        )
    return functions[name]


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
