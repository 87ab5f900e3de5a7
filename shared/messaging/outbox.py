"""A transactional outbox: events written with the state change, published after commit.

Publishing straight after a Firestore commit loses the event if Pub/Sub is down at that
moment. Instead the event is staged in `outbox` in the same transaction or batch as the
change it describes, published right after the commit, and deleted once Pub/Sub has it.
What could not be published stays staged and `flush()` (run on a schedule) sends it later.
Consumers are idempotent on the event id, so a message sent twice (flush racing a slow
first publish) counts once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.core import deadline, log
from shared.core.models import utcnow
from shared.gcp import clients
from shared.messaging import events
from shared.messaging.events import Event

COLLECTION = "outbox"
logger = log.get_logger("outbox")


def _ref(event: Event) -> Any:
    return clients.firestore().collection(COLLECTION).document(event.id)


def stage(writer: Any, topic: str, event: Event) -> Any:
    """Add the event to a Firestore transaction or write batch; returns its outbox ref."""
    ref = _ref(event)
    writer.set(
        ref,
        {"topic": topic, "event": event.model_dump(mode="json"), "stagedAt": utcnow()},
    )
    return ref


def deliver(topic: str, event: Event, timeout: float | None = None) -> bool:
    """Publish a staged event and unstage it; False (kept for `flush`) if Pub/Sub failed,
    or if the request it belongs to was already answered 503 (`shared.core.deadline`):
    its thread stops waiting on Pub/Sub, and the relay sends the event."""
    if deadline.passed():
        return False
    left = deadline.remaining()
    if left is not None:  # a request's handler waits no longer than its budget allows
        timeout = min(timeout or events.PUBLISH_TIMEOUT_SECONDS, max(left, 0.05))
    try:
        events.publish(topic, event, timeout)
    except Exception as exc:  # noqa: BLE001 - any publish failure leaves the event staged
        logger.warning(
            "publish failed; event stays in the outbox",
            extra={"fields": {"topic": topic, "eventId": event.id, "error": repr(exc)[:200]}},
        )
        return False
    try:
        _ref(event).delete()
    except Exception as exc:  # noqa: BLE001 - published already; a later flush re-sends, consumers dedupe
        logger.warning(
            "published event could not be unstaged",
            extra={"fields": {"eventId": event.id, "error": repr(exc)[:200]}},
        )
    return True


def relay() -> None:
    """The relay's tick: publish what is staged; a failure leaves it for the next tick."""
    try:
        flush()
    except Exception:  # the next tick retries; redelivering a tick adds nothing
        logger.exception("outbox relay failed; events stay staged for the next tick")


def flush(older_than: timedelta = timedelta(seconds=10), limit: int = 200) -> dict[str, int]:
    """Publish what is still staged (older than `older_than`, to skip in-flight requests)."""
    from google.cloud.firestore import FieldFilter

    cutoff = utcnow() - older_than
    query = (
        clients.firestore()
        .collection(COLLECTION)
        .where(filter=FieldFilter("stagedAt", "<=", cutoff))
        .order_by("stagedAt")
        .limit(limit)
    )
    sent = failed = 0
    for snapshot in query.stream():
        record = snapshot.to_dict() or {}
        event = Event.model_validate(record["event"])
        if deliver(str(record["topic"]), event):
            sent += 1
        else:
            failed += 1
    if sent or failed:
        logger.info("outbox flushed", extra={"fields": {"sent": sent, "failed": failed}})
    return {"sent": sent, "failed": failed}
