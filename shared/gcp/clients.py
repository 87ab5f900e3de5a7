"""Google Cloud clients, created once per process on first use.

The imports live inside the functions: an entry point that never publishes does not pay
the ~0.5 s import of `google.cloud.pubsub_v1` at cold start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from shared.core.settings import get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

_lock = threading.Lock()
_firestore: FirestoreClient | None = None
_publisher: PublisherClient | None = None


def firestore() -> FirestoreClient:
    global _firestore  # noqa: PLW0603 - process-wide client, created once
    if _firestore is None:
        with _lock:
            if _firestore is None:
                from google.cloud import firestore as firestore_module

                _firestore = firestore_module.Client(project=get_settings().google_cloud_project)
    return _firestore


def publisher() -> PublisherClient:
    global _publisher  # noqa: PLW0603 - process-wide client, created once
    if _publisher is None:
        with _lock:
            if _publisher is None:
                from google.cloud import pubsub_v1

                _publisher = pubsub_v1.PublisherClient()
    return _publisher


def topic_path(topic: str) -> str:
    return f"projects/{get_settings().google_cloud_project}/topics/{topic}"


def reset() -> None:
    """Forget the clients (tests that point the process at other emulators)."""
    global _firestore, _publisher  # noqa: PLW0603
    with _lock:
        _firestore = None
        _publisher = None
