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
from typing import TYPE_CHECKING

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
            _bound_calls(client, get_settings().firestore_call_timeout_seconds)
            _firestore = (key, client)
        return _firestore[1]


def _bound_calls(client: FirestoreClient, seconds: float) -> None:
    """Give every Firestore RPC of `client` a timeout and a retry deadline of `seconds`.

    The generated client's per-method defaults retry for 60-300 s, so a dead or frozen
    Firestore would hold a request for minutes. Every call site passes the defaults
    (`retry=DEFAULT`), so changing them here bounds all calls in one place.
    """
    transport = client._firestore_api._transport
    for wrapped in transport._wrapped_methods.values():
        retry = getattr(wrapped, "_retry", None)
        if retry is not None and hasattr(retry, "with_timeout"):
            wrapped._retry = retry.with_timeout(seconds)
        if hasattr(wrapped, "_timeout"):
            wrapped._timeout = seconds


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
