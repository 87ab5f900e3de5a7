"""What each alerts entry point does with a pushed message, before `delivery.process`.

Every alerts Pub/Sub entry point follows one rule:
- dropped as poison (logged, acked): a message that cannot be read as what its topic
  carries (bad base64/JSON, wrong shape), or an event type the entry point does not handle;
- deduplicated: the message's idempotency key (event id, incident id + state, dead-letter
  message id) is recorded in `processed_events` with the alert state, so a redelivery
  changes nothing; a repeated alert is not re-notified before the repeat interval;
- retried: anything else that fails, in particular Slack staying down, raises, so Pub/Sub
  redelivers and, after the subscription's attempts, dead-letters the message, which the
  dead-letter entry point alerts on once Slack answers again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from shared.alerts import delivery, slack, sources, state
from shared.alerts.state import AlertSignal
from shared.core import log
from shared.messaging import events
from shared.messaging.events import Event
from shared.messaging.topics import monitoring_incidents as incidents

logger = log.get_logger("alerts")
Source = Callable[[Event], AlertSignal | None]


def check_settings() -> None:
    """Read every alerting setting, so a bad value stops the function at start."""
    state.get_alert_settings()
    slack.get_slack_settings()


def from_envelope(cloud_event: Any, to_signal: Source) -> None:
    """A platform event (deploy, chat, load test) as an alert, if it is one."""

    def handle(event: Event, attributes: dict[str, str]) -> None:
        about = {"eventId": event.id, "eventType": event.type}
        try:
            signal = to_signal(event)
        except ValidationError as exc:
            problems = exc.error_count()
            logger.error("poison event dropped", extra={"fields": {**about, "problems": problems}})
            return
        if signal is None:
            logger.debug("event not alerted on", extra={"fields": about})
            return
        delivery.process(signal)

    events.consume(cloud_event, handle)


def from_incident(cloud_event: Any) -> None:
    """A Cloud Monitoring notification (schema 1.2) as an alert."""
    try:
        message = events.message_of(cloud_event)
        notification = incidents.decode(message)
    except events.PoisonMessage as exc:
        logger.error("poison incident dropped", extra={"fields": {"reason": str(exc)}})
        return
    message_id = str(message.get("messageId") or cloud_event["id"])
    delivery.process(sources.from_incident(notification, message_id))


def from_dead_letter(cloud_event: Any) -> None:
    """A dead-lettered message as an alert; then overdue groups are flushed."""
    try:
        message = events.message_of(cloud_event)
    except events.PoisonMessage as exc:
        logger.error("poison dead letter dropped", extra={"fields": {"reason": str(exc)}})
        return
    source = str(cloud_event["source"] or "")
    topic = source.rsplit("/topics/", 1)[1] if "/topics/" in source else ""
    delivery.process(sources.from_dead_letter(message, topic))
    delivery.sweep()
