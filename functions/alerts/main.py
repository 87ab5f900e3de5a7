"""Alerts: incidents, deploy events, chat failures, load tests and dead letters to Slack.

Every Pub/Sub entry point here follows one rule:
- dropped as poison (logged, acked): a message that cannot be read as what its topic
  carries (bad base64/JSON, wrong shape), or an event type the entry point does not handle;
- deduplicated: the message's idempotency key (event id, incident id + state, dead-letter
  message id) is recorded in `processed_events` with the alert state, so a redelivery
  changes nothing; a repeated alert is not re-notified before the repeat interval;
- retried: anything else that fails, in particular Slack staying down, raises, so Pub/Sub
  redelivers and, after the subscription's attempts, dead-letters the message, which
  `alerts_dead_letters` alerts on once Slack answers again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.alerts import delivery as alert_delivery
from shared.alerts import records as alert_records
from shared.alerts import silences, slack
from shared.alerts import sources as alert_sources
from shared.alerts import state as alerting
from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.messaging import events, outbox
from shared.messaging.events import Event
from shared.messaging.topics import monitoring_incidents as incidents
from shared.web.api import Api, Call

log.configure("alerts")
# Fail at start, not on the first alert, when a setting is wrong.
alerting.get_alert_settings()
slack.get_slack_settings()
logger = log.get_logger("alerts")
api = Api("alerts")
functions_framework.errorhandler(HTTPException)(api.framework_error)


@api.route(
    "/v1/alerts",
    query=alert_records.AlertQuery,
    response=alert_records.AlertList,
    auth=authenticate_operator,
    errors=[401],
)
def list_alerts(call: Call) -> alert_records.AlertList:
    """Alerts, most recently seen first."""
    return alert_records.list_alerts(call.query)


@api.route(
    "/v1/alerts/silences",
    methods=["POST"],
    body=silences.SilenceCreate,
    response=silences.SilencePublic,
    status=201,
    auth=authenticate_operator,
    errors=[401],
)
def create_silence(call: Call) -> silences.SilencePublic:
    """Silence alerts whose labels match, for a time window."""
    return silences.create(call.body)


@api.route(
    "/v1/alerts/silences", response=silences.SilenceList, auth=authenticate_operator, errors=[401]
)
def list_silences(call: Call) -> silences.SilenceList:
    """Silences, newest first, with their status (pending, active, expired)."""
    return silences.SilenceList(silences=silences.list_all())


@api.route(
    "/v1/alerts/silences/<silence_id>",
    methods=["DELETE"],
    status=204,
    auth=authenticate_operator,
    errors=[401, 404],
)
def expire_silence(call: Call) -> None:
    """End a silence now (it stays on record)."""
    silences.expire(call.params["silence_id"])


@api.route(
    "/v1/alerts/<alert_id>",
    response=alert_records.AlertPublic,
    auth=authenticate_operator,
    errors=[401, 404],
)
def get_alert(call: Call) -> alert_records.AlertPublic:
    """One alert with its latest notifications."""
    return alert_records.get_alert(call.params["alert_id"])


@functions_framework.http
def alerts(request: Request) -> Response:
    return api(request)


def _from_envelope(
    cloud_event: CloudEvent, to_signal: Callable[[Event], alerting.AlertSignal | None]
) -> None:
    def handle(event: Event, attributes: dict[str, str]) -> None:
        try:
            signal = to_signal(event)
        except ValidationError as exc:
            logger.error(
                "poison event dropped",
                extra={
                    "fields": {
                        "eventId": event.id,
                        "eventType": event.type,
                        "problems": exc.error_count(),
                    }
                },
            )
            return
        if signal is None:
            logger.info(
                "event not alerted on",
                extra={"fields": {"eventId": event.id, "eventType": event.type}},
            )
            return
        alert_delivery.process(signal)

    events.consume(cloud_event, handle)


@functions_framework.cloud_event
def alerts_incidents(cloud_event: CloudEvent) -> None:
    """Cloud Monitoring notifications (schema 1.2) on `monitoring-incidents`.

    Poison: not a notification. Deduplicated on the message id; a repeat within the
    repeat interval is not re-notified, and a late "open" never reopens a closed
    incident. Retried: Firestore or Slack failures.
    """
    try:
        message = events.message_of(cloud_event)
        notification = incidents.decode(message)
    except events.PoisonMessage as exc:
        logger.error("poison incident dropped", extra={"fields": {"reason": str(exc)}})
        return
    message_id = str(message.get("messageId") or cloud_event["id"])
    alert_delivery.process(alert_sources.from_incident(notification, message_id))


@functions_framework.cloud_event
def alerts_deploys(cloud_event: CloudEvent) -> None:
    """deploy.* events on `deploy-events`: one informational alert per event.

    Poison: not an envelope, or bad data. Deduplicated on the event id. Retried: the rest.
    """
    _from_envelope(cloud_event, alert_sources.from_deploy_event)


@functions_framework.cloud_event
def alerts_chat_failures(cloud_event: CloudEvent) -> None:
    """chat.run.failed on `chat-events`: alert when an agent's failures in a window reach
    the threshold. Other chat events are acked. Counting is idempotent on the event id."""
    _from_envelope(cloud_event, alert_sources.count_chat_failure)


@functions_framework.cloud_event
def alerts_loadtests(cloud_event: CloudEvent) -> None:
    """loadtest.completed on `loadtest-results`: a fail or regression fires, a clean run
    resolves. Poison: bad data. Deduplicated on the event id. Retried: the rest."""
    _from_envelope(cloud_event, alert_sources.from_loadtest)


@functions_framework.cloud_event
def alerts_dead_letters(cloud_event: CloudEvent) -> None:
    """Any `<topic>-dead-letter` topic: one alert per dead message, grouped.

    Nothing is poison here (an unreadable message is described as such). Deduplicated on
    the dead-letter message id. Retried (without limit: these subscriptions have no
    dead-letter topic of their own) until Slack takes it. Also flushes overdue groups,
    since a dead-lettered alert message may have left its group unsent.
    """
    try:
        message = events.message_of(cloud_event)
    except events.PoisonMessage as exc:
        logger.error("poison dead letter dropped", extra={"fields": {"reason": str(exc)}})
        return
    topic = _topic_of(cloud_event)
    alert_delivery.process(alert_sources.from_dead_letter(message, topic))
    alert_delivery.sweep()


def _topic_of(cloud_event: Any) -> str:
    source = str(cloud_event["source"] or "")
    return source.rsplit("/topics/", 1)[1] if "/topics/" in source else ""


@functions_framework.cloud_event
def relay_outbox(cloud_event: CloudEvent) -> None:
    """Publish the events producers staged but could not publish (see shared/messaging/outbox.py).

    Triggered by a tick on `outbox-relay`: Cloud Scheduler every minute in production,
    `make run` every few seconds locally. The tick's payload is ignored, so nothing is
    poison. Never retried: a flush that fails leaves its events staged for the next tick,
    so this acks every tick. Duplicates (a flush racing a slow first publish) are
    harmless: every consumer deduplicates on the event id.
    """
    try:
        outbox.flush()
    except Exception:  # the next tick retries; redelivering a tick adds nothing
        logger.exception("outbox relay failed; events stay staged for the next tick")
