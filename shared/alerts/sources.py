"""What each source becomes as an `AlertSignal`: incidents, deploy events, chat failures,
load-test results and dead letters."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.alerts.state import AlertSignal, get_alert_settings
from shared.core import log
from shared.core.models import utcnow
from shared.gcp import clients
from shared.messaging import events
from shared.messaging.events import Event
from shared.messaging.topics import chat_events, deploy_events, loadtest_results
from shared.messaging.topics import monitoring_incidents as incidents

COUNTERS = "alert_counters"
logger = log.get_logger("alerting")


def from_incident(notification: incidents.IncidentNotification, message_id: str) -> AlertSignal:
    """Idempotent on the Pub/Sub message; a re-sent notification is a repeat, not a duplicate."""
    incident = notification.incident
    details = [incident.resource_display_name or incident.resource_name]
    if incident.metric.display_name:
        details.append(incident.metric.display_name)
    if incident.observed_value is not None:
        details.append(f"observed {incident.observed_value} (threshold {incident.threshold_value})")
    return AlertSignal(
        labels={
            "alertname": incident.policy_name or "Cloud Monitoring incident",
            "condition": incident.condition_name,
            "incident_id": incident.incident_id,
            **{f"policy_{k}": v for k, v in sorted(incident.policy_user_labels.items())[:10]},
        },
        severity=incident.severity,
        status="firing" if incident.state == "open" else "resolved",
        summary=incident.summary or f"{incident.policy_name}: {incident.condition_name}",
        description=" · ".join(d for d in details if d),
        url=incident.url,
        source="monitoring",
        starts_at=incident.started,
        ends_at=incident.ended if incident.state == "closed" else None,
        key=f"incident:{incident.incident_id}:{incident.state}:{message_id}",
    )


def from_deploy_event(event: Event) -> AlertSignal | None:
    """A deploy event as an informational alert (a failed build is an error)."""
    common: dict[str, Any] = {"source": "deploy", "key": event.id, "status": "firing"}
    if event.type == deploy_events.REQUESTED:
        req = event.data_as(deploy_events.DeployRequestedData)
        what = f"release {req.release_tag}" if req.release_tag else f"{req.sha[:7]}"
        return AlertSignal(
            labels={
                "alertname": "DeployRequested",
                "repository": req.repository,
                "environment": req.environment,
                "sha": req.sha[:40],
            },
            severity="info",
            summary=f"Deploy of {req.repository} {what} to {req.environment} "
            f"requested by {req.actor or 'unknown'}",
            description=req.message,
            url=req.url,
            starts_at=req.occurred_at,
            **common,
        )
    if event.type == deploy_events.BUILD_FINISHED:
        build = event.data_as(deploy_events.BuildFinishedData)
        failed = build.conclusion in {"failure", "timed_out", "startup_failure"}
        return AlertSignal(
            labels={
                "alertname": "BuildFailed" if failed else "BuildFinished",
                "repository": build.repository,
                "workflow": build.workflow,
                "sha": build.sha[:40],
            },
            severity="error" if failed else "info",
            summary=f"{build.workflow} on {build.repository}@{build.sha[:7]}: {build.conclusion}",
            description=f"branch {build.branch}" if build.branch else "",
            url=build.url,
            starts_at=build.occurred_at,
            **common,
        )
    if event.type == deploy_events.MERGED:
        merged = event.data_as(deploy_events.MergedData)
        return AlertSignal(
            labels={
                "alertname": "PullRequestMerged",
                "repository": merged.repository,
                "pull_request": str(merged.pull_request),
            },
            severity="info",
            summary=f"#{merged.pull_request} merged into {merged.base} "
            f"by {merged.actor or 'unknown'}",
            description=merged.title,
            url=merged.url,
            starts_at=merged.occurred_at,
            **common,
        )
    return None


def count_chat_failure(event: Event) -> AlertSignal | None:
    """Count a failed run in its agent's window; a signal once the threshold is reached.

    The window is taken from the run's own time, so a redelivery counts in the same
    window, and the count is idempotent on the event id.
    """
    from google.cloud import firestore

    if event.type != chat_events.RUN_FAILED:
        return None
    run = event.data_as(chat_events.ChatRunData)
    settings = get_alert_settings()
    size = settings.alert_chat_failure_window_seconds
    window = int(run.finished_at.timestamp() // size)
    key = hashlib.sha256(f"{run.agent_id}:{window}".encode()).hexdigest()[:40]
    ref = clients.firestore().collection(COUNTERS).document(key)
    window_start = datetime.fromtimestamp(window * size, UTC)

    def apply(transaction: Any) -> None:
        transaction.set(
            ref,
            {
                "agentId": run.agent_id,
                "windowStart": window_start,
                "count": firestore.Increment(1),
                "lastErrorCode": run.error_code,
                "expiresAt": window_start + timedelta(days=2),
            },
            merge=True,
        )

    events.apply_once("alerts-chat-failures", event.id, apply, kind=event.type)
    count = int((ref.get().to_dict() or {}).get("count", 0))
    if count < settings.alert_chat_failure_threshold:
        return None
    return AlertSignal(
        labels={"alertname": "ChatRunFailures", "agent_id": run.agent_id},
        severity="error",
        summary=f"Agent {run.agent_id}: {count} failed chat runs within {size} s",
        description=f"last error: {run.error_code or 'unknown'} (model {run.model})",
        source="chat",
        starts_at=window_start,
        key=f"chat-failures:{run.agent_id}:{window}",
    )


def from_loadtest(event: Event) -> AlertSignal | None:
    """A failed or regressed run fires `LoadTestFailed` for its scenario; a pass resolves it."""
    if event.type != loadtest_results.COMPLETED:
        return None
    result = event.data_as(loadtest_results.LoadtestCompletedData)
    bad = result.verdict == "fail" or result.regression
    state = result.verdict + (" with a regression" if result.regression else "")
    breaches = [str(b)[:200] for b in result.breaches[:5]]
    return AlertSignal(
        labels={"alertname": "LoadTestFailed", "scenario": result.scenario},
        severity="error" if result.verdict == "fail" else "warning",
        status="firing" if bad else "resolved",
        summary=f"Load test {result.scenario} run {result.run_id}: {state}",
        description="\n".join(f"• {b}" for b in breaches),
        source="loadtest",
        starts_at=event.time,
        ends_at=None if bad else event.time,
        key=event.id,
    )


def from_dead_letter(message: dict[str, Any], topic: str) -> AlertSignal:
    """A message that exhausted its delivery attempts: one alert per message, grouped."""
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    subscription = attributes.get("CloudPubSubDeadLetterSourceSubscription", "unknown")
    attempts = attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", "?")
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    source_topic = topic.removesuffix("-dead-letter") if topic else "unknown"
    return AlertSignal(
        labels={
            "alertname": "DeadLetter",
            "topic": source_topic,
            "subscription": subscription,
            "message_id": message_id or "unknown",
        },
        severity="error",
        summary=f"Undelivered after {attempts} attempts on {subscription}: {_describe(message)}",
        description=f"dead-letter topic {topic or 'unknown'}; message {message_id}",
        source="dead-letter",
        starts_at=_publish_time(attributes, message),
        key=f"dead-letter:{topic}:{message_id or _digest(message)}",
    )


def _digest(message: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(message.items())).encode()).hexdigest()


def _describe(message: dict[str, Any]) -> str:
    """A one-line account of what failed, without trusting it to be readable."""
    try:
        event, _ = events.decode_message(message)
        return f"{event.type} {event.subject} ({event.id})"
    except events.PoisonMessage:
        pass
    try:
        incident = incidents.decode(message).incident
        return f"incident {incident.incident_id} {incident.state}: {incident.summary[:200]}"
    except events.PoisonMessage:
        pass
    try:
        size = len(base64.b64decode(message.get("data") or "", validate=True))
    except (binascii.Error, ValueError, TypeError):
        size = -1
    return f"an unreadable message of {size} bytes"


def _publish_time(attributes: dict[str, str], message: dict[str, Any]) -> datetime:
    for raw in (
        attributes.get("CloudPubSubDeadLetterSourceTopicPublishTime"),
        message.get("publishTime"),
    ):
        if raw:
            try:
                return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            except ValueError:
                continue
    return utcnow()
