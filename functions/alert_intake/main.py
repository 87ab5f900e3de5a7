"""Alert intake: incidents, deploy events, chat failures, load tests and dead letters, from
Pub/Sub to alerts and Slack. The entry points share one retry rule, written out in
`shared/alerts/intake.py`; the operator API is `functions/alerts`."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from shared.alerts import intake, sources
from shared.core import log

log.configure("alert_intake")
intake.check_settings()


@functions_framework.cloud_event
def alerts_incidents(cloud_event: CloudEvent) -> None:
    """Cloud Monitoring notifications on `monitoring-incidents`. Poison: not a notification.
    Deduplicated on the message id (a late "open" never reopens a closed incident)."""
    intake.from_incident(cloud_event)


@functions_framework.cloud_event
def alerts_deploys(cloud_event: CloudEvent) -> None:
    """deploy.* on `deploy-events`, one informational alert each. Poison: not an envelope,
    or bad data. Deduplicated on the event id. Retried: the rest."""
    intake.from_envelope(cloud_event, sources.from_deploy_event)


@functions_framework.cloud_event
def alerts_chat_failures(cloud_event: CloudEvent) -> None:
    """chat.run.failed on `chat-events`: alert when an agent's failures in a window reach
    the threshold. Other types are acked. Counting is idempotent on the event id."""
    intake.from_envelope(cloud_event, sources.count_chat_failure)


@functions_framework.cloud_event
def alerts_loadtests(cloud_event: CloudEvent) -> None:
    """loadtest.completed on `loadtest-results`: a fail or regression fires, a clean run
    resolves. Poison: bad data. Deduplicated on the event id. Retried: the rest."""
    intake.from_envelope(cloud_event, sources.from_loadtest)


@functions_framework.cloud_event
def alerts_dead_letters(cloud_event: CloudEvent) -> None:
    """Any `<topic>-dead-letter`: one alert per dead message; nothing is poison. Deduplicated
    on the message id. Retried without limit until Slack takes it; flushes overdue groups."""
    intake.from_dead_letter(cloud_event)
