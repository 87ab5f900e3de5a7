"""Reading alerts and their notifications for the operators' HTTP routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.alerts.state import ALERTS, NOTIFICATIONS
from shared.core import errors
from shared.core.models import ApiModel, RequestModel
from shared.gcp import clients


class AlertQuery(RequestModel):
    status: Literal["firing", "resolved"] | None = None
    limit: int = Field(50, ge=1, le=200)
    page_token: str | None = Field(None, max_length=64, pattern=r"^[0-9a-f]{1,64}$")


class NotificationPublic(ApiModel):
    id: str
    channel: str
    title: str
    sent_at: datetime
    attempts: int
    alerts: list[dict[str, Any]]


class AlertPublic(ApiModel):
    id: str = Field(description="The fingerprint: a hash of the alert's labels.")
    status: Literal["firing", "resolved"]
    severity: str
    source: str
    labels: dict[str, str]
    summary: str
    description: str = ""
    url: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    count: int = 0
    duplicates: int = 0
    silenced_by: list[str] = Field(default_factory=list)
    suppressed: int = 0
    pending_notification: str | None = None
    last_notified_at: datetime | None = None
    last_notified_status: str | None = None
    notification_count: int = 0
    notifications: list[NotificationPublic] | None = None


class AlertList(ApiModel):
    alerts: list[AlertPublic]
    next_page_token: str | None = None


def _public(alert_id: str, record: dict[str, Any]) -> AlertPublic:
    return AlertPublic(
        id=alert_id,
        status=record.get("status", "firing"),
        severity=record.get("severity", "warning"),
        source=record.get("source", ""),
        labels=record.get("labels") or {},
        summary=record.get("summary", ""),
        description=record.get("description", ""),
        url=record.get("url", ""),
        starts_at=record.get("startsAt"),
        ends_at=record.get("endsAt"),
        first_seen_at=record.get("firstSeenAt"),
        last_seen_at=record.get("lastSeenAt"),
        count=record.get("count", 0),
        duplicates=record.get("duplicates", 0),
        silenced_by=record.get("silencedBy") or [],
        suppressed=record.get("suppressed", 0),
        pending_notification=record.get("pendingNotification"),
        last_notified_at=record.get("lastNotifiedAt"),
        last_notified_status=record.get("lastNotifiedStatus"),
        notification_count=record.get("notifications", 0),
    )


def list_alerts(query: AlertQuery) -> AlertList:
    """Most recently seen first; `status` narrows (index: status + lastSeenAt desc)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = clients.firestore().collection(ALERTS)
    request: Any = collection
    if query.status:
        request = request.where(filter=FieldFilter("status", "==", query.status))
    request = request.order_by("lastSeenAt", direction="DESCENDING")
    if query.page_token:
        cursor = collection.document(query.page_token).get()
        if not cursor.exists:
            raise errors.InvalidRequest("pageToken does not name an alert")
        request = request.start_after(cursor)
    snapshots = list(request.limit(query.limit + 1).stream())
    page = snapshots[: query.limit]
    next_token = page[-1].id if len(snapshots) > query.limit else None
    return AlertList(
        alerts=[_public(s.id, s.to_dict() or {}) for s in page], next_page_token=next_token
    )


def get_alert(alert_id: str, notification_limit: int = 20) -> AlertPublic:
    from google.cloud.firestore_v1.base_query import FieldFilter

    db = clients.firestore()
    snapshot = db.collection(ALERTS).document(alert_id).get() if alert_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise errors.NotFound(f"no alert {alert_id}")
    alert = _public(snapshot.id, snapshot.to_dict() or {})
    sent = (
        db.collection(NOTIFICATIONS)
        .where(filter=FieldFilter("fingerprints", "array_contains", alert_id))
        .order_by("sentAt", direction="DESCENDING")
        .limit(notification_limit)
        .stream()
    )
    alert.notifications = [
        NotificationPublic(
            id=s.id,
            channel=record.get("channel", ""),
            title=record.get("title", ""),
            sent_at=record["sentAt"],
            attempts=record.get("attempts", 0),
            alerts=record.get("alerts", []),
        )
        for s in sent
        if (record := s.to_dict() or {})
    ]
    return alert
