"""Delivering alert groups: one notification per group, to Slack or the log, recorded.

`settle()` waits out what is left of a group's window (at most the group wait, a few
seconds) and `flush()` claims the group in a transaction, so one caller sends. The
notification is recorded after Slack accepted it, in one transaction that also clears
exactly the members that were sent: a member that changed meanwhile (a new token) stays
pending for the next flush. If sending fails the claim is released and the error
propagates, so the Pub/Sub message that brought the alert is redelivered. A member
whose own message was acked is sent by whichever message flushes the group next, or by
`sweep()` of overdue groups, which every handler runs.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.alerts import messages as alert_messages
from shared.alerts import slack
from shared.alerts.state import (
    ALERTS,
    GROUPS,
    NOTIFICATIONS,
    AlertSignal,
    Observation,
    get_alert_settings,
    observe,
)
from shared.core import log
from shared.core.models import utcnow
from shared.gcp import clients

logger = log.get_logger("alerting")


def send_group(
    group_key: str, claim_id: str, members: dict[str, str], now: datetime
) -> FlushResult:
    """Send a claimed group's pending members as one notification and record it."""
    from google.cloud import firestore

    db = clients.firestore()
    group_ref = db.collection(GROUPS).document(group_key)
    group = group_ref.get().to_dict() or {}
    refs = [db.collection(ALERTS).document(fp) for fp in sorted(members)]
    alerts = [s.to_dict() or {} for s in db.get_all(refs) if s.exists]
    alerts = [a for a in alerts if a.get("pendingNotification")]
    alerts.sort(key=lambda a: (a.get("status") != "firing", str(a.get("startsAt"))))
    notification_id = secrets.token_hex(12)
    delivery: dict[str, Any] = {"channel": "none", "attempts": 0}
    if alerts:
        title = _title(group.get("labels") or {}, alerts)
        payload = alert_messages.render(title, alerts, get_alert_settings().alert_mentions)
        delivery = _send(payload, notification_id, group_key)
    sent = {a["fingerprint"]: a for a in alerts}

    @firestore.transactional
    def finish(transaction: Any) -> bool:
        current = group_ref.get(transaction=transaction).to_dict() or {}
        snapshots = {s.id: s.to_dict() or {} for s in transaction.get_all(refs)} if refs else {}
        remaining = dict(current.get("members") or {})
        for fp, token in members.items():
            if remaining.get(fp) == token:
                remaining.pop(fp)
        for fp, alert in sent.items():
            updates: dict[str, Any] = {
                "lastNotifiedAt": now,
                "lastNotifiedStatus": alert.get("pendingNotification"),
                "lastNotificationId": notification_id,
                "notifications": int(snapshots.get(fp, {}).get("notifications", 0)) + 1,
            }
            if snapshots.get(fp, {}).get("pendingToken") == members.get(fp):
                updates.update(
                    pendingNotification=firestore.DELETE_FIELD, pendingToken=firestore.DELETE_FIELD
                )
            transaction.update(db.collection(ALERTS).document(fp), updates)
        group_update: dict[str, Any] = {
            "members": remaining,
            "windowEndsAt": now if remaining else firestore.DELETE_FIELD,
            "lastFlushAt": now,
        }
        if current.get("claimId") == claim_id:  # ours still (not expired and re-taken)
            group_update.update(claimId=firestore.DELETE_FIELD, claimUntil=firestore.DELETE_FIELD)
        transaction.update(group_ref, group_update)
        if sent:
            transaction.create(
                db.collection(NOTIFICATIONS).document(notification_id),
                {
                    "groupKey": group_key,
                    "groupLabels": group.get("labels") or {},
                    "fingerprints": sorted(sent),
                    "alerts": [
                        {
                            "fingerprint": fp,
                            "status": a.get("pendingNotification"),
                            "severity": a.get("severity"),
                            "summary": a.get("summary"),
                        }
                        for fp, a in sent.items()
                    ],
                    "title": _title(group.get("labels") or {}, alerts),
                    "sentAt": utcnow(),
                    "expiresAt": now + timedelta(days=get_alert_settings().alert_retention_days),
                    **delivery,
                },
            )
        return bool(remaining)

    more = finish(db.transaction())
    return FlushResult("sent", notification_id=notification_id if sent else None, more=more)


def _title(group_labels: dict[str, str], alerts: list[dict[str, Any]]) -> str:
    named = " ".join(v for v in group_labels.values() if v)
    if named:
        return named
    return str(alerts[0].get("summary", "alert")) if alerts else "alert"


def _send(payload: dict[str, Any], notification_id: str, group_key: str) -> dict[str, Any]:
    url = slack.webhook_url()
    if url is None:
        # No Slack configured: the log is the channel (and the record in Firestore).
        logger.warning(
            f"alert notification: {payload['text']}",
            extra={
                "fields": {
                    "notificationId": notification_id,
                    "groupKey": group_key,
                    "text": payload["text"],
                    "slackPayload": payload,
                    "channel": "log",
                }
            },
        )
        return {"channel": "log", "attempts": 1}
    delivery = slack.post(url, payload)
    logger.info(
        "alert notification sent to slack",
        extra={
            "fields": {
                "notificationId": notification_id,
                "groupKey": group_key,
                "attempts": delivery.attempts,
                "text": payload["text"],
                "channel": "slack",
            }
        },
    )
    return {"channel": "slack", "attempts": delivery.attempts}


@dataclass
class FlushResult:
    state: Literal["empty", "wait", "claimed", "sent"]
    due: datetime | None = None
    notification_id: str | None = None
    more: bool = False
    members: dict[str, str] = field(default_factory=dict)


def flush(group_key: str, now: datetime | None = None) -> FlushResult:
    """Send one notification for every pending member of a group whose window has passed."""
    from google.cloud import firestore

    settings = get_alert_settings()
    db = clients.firestore()
    group_ref = db.collection(GROUPS).document(group_key)
    now = now or utcnow()
    claim_id = secrets.token_hex(8)

    @firestore.transactional
    def claim(transaction: Any) -> FlushResult:
        group = group_ref.get(transaction=transaction).to_dict() or {}
        members = dict(group.get("members") or {})
        if not members:
            return FlushResult("empty")
        due = group.get("windowEndsAt")
        if due is not None and due > now:
            return FlushResult("wait", due=due)
        held = group.get("claimUntil")
        if held is not None and held > now:
            return FlushResult("claimed")
        until = now + timedelta(seconds=settings.alert_claim_seconds)
        transaction.update(group_ref, {"claimId": claim_id, "claimUntil": until})
        return FlushResult("sent", members=members)

    claimed = claim(db.transaction())
    if claimed.state != "sent":
        return claimed
    try:
        return send_group(group_key, claim_id, claimed.members, now)
    except Exception:
        group_ref.update({"claimId": firestore.DELETE_FIELD, "claimUntil": firestore.DELETE_FIELD})
        raise


def settle(group_key: str, *, rounds: int = 4) -> None:
    """Flush the group, waiting out what is left of its window (bounded by the group wait)."""
    limit = get_alert_settings().alert_group_wait_seconds
    for _ in range(rounds):
        result = flush(group_key)
        if result.state == "wait" and result.due is not None:
            wait = (result.due - utcnow()).total_seconds()
            time.sleep(max(0.0, min(wait, limit)) + 0.05)
            continue
        if result.state == "sent" and result.more:
            continue
        return


def sweep(now: datetime | None = None, *, limit: int = 20) -> int:
    """Flush groups whose window passed a while ago (their opener failed or was acked)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    settings = get_alert_settings()
    now = now or utcnow()
    cutoff = now - timedelta(seconds=2 * settings.alert_group_wait_seconds + 5)
    query = (
        clients.firestore()
        .collection(GROUPS)
        .where(filter=FieldFilter("windowEndsAt", "<=", cutoff))
        .limit(limit)
    )
    sent = 0
    for snapshot in query.stream():
        if flush(snapshot.id, now).state == "sent":
            sent += 1
    return sent


def process(signal: AlertSignal) -> Observation:
    """Observe a signal, deliver its group, then flush overdue groups (best effort)."""
    observation = observe(signal)
    settle(observation.group_key)
    try:
        sweep()
    except Exception as exc:  # noqa: BLE001 - this message's own work is done; log and ack
        logger.warning(
            "sweep of overdue alert groups failed", extra={"fields": {"error": repr(exc)[:200]}}
        )
    return observation
