"""Alerts: incidents, deploy events, chat failures, load tests and dead letters to Slack.
The Pub/Sub entry points share one retry rule, written out in `shared/alerts/intake.py`."""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from werkzeug.wrappers import Response

from shared.alerts import intake, records, silences, sources
from shared.alerts.silences import SilenceCreate, SilenceList, SilencePublic
from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.web.api import Api, Call

log.configure("alerts")
intake.check_settings()
api = Api("alerts", auth=authenticate_operator).serve_framework_errors()
SILENCES = "/v1/alerts/silences"


@api.route("/v1/alerts", query=records.AlertQuery, response=records.AlertList)
def list_alerts(call: Call) -> records.AlertList:
    """Alerts, most recently seen first."""
    return records.list_alerts(call.query)


@api.route(SILENCES, methods=["POST"], body=SilenceCreate, response=SilencePublic, status=201)
def create_silence(call: Call) -> SilencePublic:
    """Silence alerts whose labels match, for a time window."""
    return silences.create(call.body)


@api.route(SILENCES, response=SilenceList)
def list_silences(call: Call) -> SilenceList:
    """Silences, newest first, with their status (pending, active, expired)."""
    return SilenceList(silences=silences.list_all())


@api.route(SILENCES + "/<silence_id>", methods=["DELETE"], status=204, errors=[404, 412])
def expire_silence(call: Call) -> None:
    """End a silence now (it stays on record)."""
    silences.expire(call.params["silence_id"], call.request.headers.get("If-Match"))


@api.route("/v1/alerts/<alert_id>", response=records.AlertPublic, errors=[404])
def get_alert(call: Call) -> records.AlertPublic:
    """One alert with its latest notifications."""
    return records.get_alert(call.params["alert_id"])


@functions_framework.http
def alerts(request: Request) -> Response:
    return api(request)


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


@functions_framework.cloud_event
def relay_outbox(cloud_event: CloudEvent) -> None:
    """A tick on `outbox-relay` (Scheduler each minute; `make run` every few seconds):
    publish staged events. Nothing is poison; never retried (a failed flush leaves events
    staged for the next tick); duplicates are harmless (consumers dedupe on event ids)."""
    intake.relay_outbox()
