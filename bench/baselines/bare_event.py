"""A bare functions-framework CloudEvent function: one Firestore create per event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import functions_framework
from google.cloud import firestore

db = firestore.Client()


@functions_framework.cloud_event
def bare_event(cloud_event: Any) -> None:
    """Record the event id (what an idempotent consumer does at least)."""
    db.collection("processed_events").document(f"bare:{cloud_event['id']}").create(
        {"type": cloud_event["type"], "at": datetime.now(UTC)}
    )
