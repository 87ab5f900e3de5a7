"""Google Cloud clients, created once per process on first use.

The imports live inside the functions: an entry point that never publishes does not pay
the ~0.5 s import of `google.cloud.pubsub_v1` at cold start. Each client remembers the
project and emulator address it was made for and is made again only if they change
(tests that point the process at other emulators), so a reset of the process state
does not cost a new connection.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from shared.core import deadline
from shared.core.settings import get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

_lock = threading.Lock()
_firestore: tuple[tuple[str, str], FirestoreClient] | None = None
_publisher: tuple[str, PublisherClient] | None = None


def _target(emulator_variable: str) -> str:
    return os.environ.get(emulator_variable, "")


def firestore() -> FirestoreClient:
    global _firestore  # noqa: PLW0603 - process-wide client, created once
    key = (get_settings().google_cloud_project, _target("FIRESTORE_EMULATOR_HOST"))
    current = _firestore
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _firestore is None or _firestore[0] != key:
            from google.cloud import firestore as firestore_module

            client = firestore_module.Client(project=key[0])
            _bound_calls(client)
            _firestore = (key, client)
        return _firestore[1]


def _bound_calls(client: FirestoreClient) -> None:
    """Give every Firestore RPC of `client` a timeout and a retry deadline of
    FIRESTORE_CALL_TIMEOUT_SECONDS, or less: what is left of the current request's
    deadline (`shared.core.deadline`).

    The generated client's per-method defaults retry for 60-300 s, so a dead or frozen
    Firestore would hold a request for minutes. Every call site passes the defaults
    (`retry=DEFAULT`, `timeout=DEFAULT`), so wrapping the transport's methods bounds all
    calls in one place. The RPCs that write also refuse to start once the request was
    answered 503 (`deadline.check_open`).
    """
    transport = client._firestore_api._transport
    writes = {getattr(transport, name, None) for name in _WRITE_RPCS}
    for method, wrapped in list(transport._wrapped_methods.items()):
        transport._wrapped_methods[method] = _Bounded(wrapped, writes=method in writes)


# Every RPC that changes documents: a transaction's writes all go through `commit`.
_WRITE_RPCS = (
    "commit",
    "batch_write",
    "create_document",
    "update_document",
    "delete_document",
    "write",
)


class _Bounded:
    """One RPC with its timeout and retry deadline capped; a write refused past the
    request's deadline."""

    def __init__(self, call: Any, *, writes: bool) -> None:
        self._call, self._writes = call, writes
        retry = getattr(call, "_retry", None)
        self._retry = retry if hasattr(retry, "with_timeout") else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from google.api_core.gapic_v1.method import DEFAULT

        if self._writes:
            deadline.check_open("a Firestore write")
        seconds = get_settings().firestore_call_timeout_seconds
        left = deadline.remaining()
        if left is not None:
            seconds = min(seconds, max(left, 0.05))  # past it: fail at once, do not wait
        if kwargs.get("timeout", DEFAULT) is DEFAULT:
            kwargs["timeout"] = seconds
        if kwargs.get("retry", DEFAULT) is DEFAULT and self._retry is not None:
            kwargs["retry"] = self._retry.with_timeout(seconds)
        return self._call(*args, **kwargs)


def publisher() -> PublisherClient:
    global _publisher  # noqa: PLW0603 - process-wide client, created once
    key = _target("PUBSUB_EMULATOR_HOST")
    current = _publisher
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        if _publisher is None or _publisher[0] != key:
            from google.cloud import pubsub_v1

            _publisher = (key, pubsub_v1.PublisherClient())
        return _publisher[1]


def topic_path(topic: str) -> str:
    return f"projects/{get_settings().google_cloud_project}/topics/{topic}"
