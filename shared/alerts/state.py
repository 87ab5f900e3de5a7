"""Alert state after Alertmanager: fingerprints, dedup, grouping, resolve, silences.

Every source (incidents, deploy events, chat failures, load tests, dead letters) becomes
an `AlertSignal`. `observe()` folds it into `alerts/{fingerprint}` (the fingerprint is a
hash of its labels) in one transaction with an idempotency key in `processed_events`,
and decides whether it needs a notification:
- a new or reopened alert notifies; a repeat of a firing alert waits for the repeat interval;
- a resolve notifies only if the firing was notified; a late "firing" whose start is not
  after the alert's recorded end never reopens it (the incident's own timestamps decide);
- a silenced alert is recorded but not notified.
An alert to notify joins its group (`alert_groups/{hash of the group-by labels}`); the
first member opens a window of `ALERT_GROUP_WAIT_SECONDS`; `shared.alerts.delivery`
sends one notification for the group when the window closes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.alerts import messages as alert_messages
from shared.alerts import silences
from shared.core import log, state
from shared.core.models import utcnow
from shared.gcp import clients
from shared.messaging import events

ALERTS = "alerts"
GROUPS = "alert_groups"
NOTIFICATIONS = "notifications"
logger = log.get_logger("alerting")


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    alert_group_wait_seconds: float = Field(
        5.0,
        ge=0,
        le=30,
        description="Burst window: alerts of one group that fire within it share one notification.",
    )
    alert_repeat_interval_seconds: float = Field(
        4 * 3600, ge=0, description="A firing alert is not notified again before this."
    )
    alert_group_by: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["alertname"],
        description="Comma-separated labels whose values form an alert group.",
    )
    alert_mentions: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(alert_messages.DEFAULT_MENTIONS),
        description="`severity=mention` pairs added to Slack messages; empty turns mentions off.",
    )
    alert_retention_days: float = Field(
        90, gt=0, description="How long alert state is kept after it was last seen."
    )
    alert_claim_seconds: float = Field(
        60,
        gt=0,
        le=600,
        description=(
            "How long one instance holds a group it is notifying before another may take over."
        ),
    )
    alert_chat_failure_threshold: int = Field(
        5, ge=1, description="Failed chat runs of one agent within the window that raise an alert."
    )
    alert_chat_failure_window_seconds: int = Field(
        300, ge=10, le=86400, description="The window that failed chat runs are counted in."
    )

    @field_validator("alert_group_by", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("alert_mentions", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """`critical=<!channel>,error=<!here>`; an empty string turns mentions off."""
        if isinstance(value, str):
            pairs = (part.partition("=") for part in value.split(",") if part.strip())
            return {k.strip().lower(): v.strip() for k, _, v in pairs}
        return value


@state.once
def get_alert_settings() -> AlertSettings:
    return AlertSettings()


class AlertSignal(BaseModel):
    """One observation of an alert, from any source."""

    labels: dict[str, str] = Field(min_length=1, description="Identity: the fingerprint's input.")
    severity: str = "warning"
    status: Literal["firing", "resolved"] = "firing"
    summary: str
    description: str = ""
    url: str = ""
    source: str
    starts_at: datetime
    ends_at: datetime | None = None
    key: str = Field(min_length=1, description="Idempotency key of the message it came from.")

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> str:
        return alert_messages.normalise_severity(str(value) if value is not None else None)

    def matchable(self) -> dict[str, str]:
        """What silences match on: the labels plus severity and source."""
        return {**self.labels, "severity": self.severity, "source": self.source}


Outcome = Literal[
    "notify", "pending", "repeat", "silenced", "late", "stale", "recorded", "duplicate"
]


@dataclass(frozen=True)
class Observation:
    fingerprint: str
    group_key: str
    outcome: Outcome


def _digest(value: object, size: int = 32) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def fingerprint(labels: dict[str, str]) -> str:
    return _digest(sorted(labels.items()))


def group_of(labels: dict[str, str], group_by: list[str]) -> tuple[str, dict[str, str]]:
    group_labels = {name: labels.get(name, "") for name in group_by}
    return _digest(sorted(group_labels.items())), group_labels


def decide(
    current: dict[str, Any] | None,
    signal: AlertSignal,
    silenced_by: list[str],
    now: datetime,
    repeat_interval: timedelta,
) -> tuple[Outcome, dict[str, Any]]:
    """The outcome of a signal against the alert's stored state, and the fields to write."""
    count = int((current or {}).get("count", 0)) + 1
    seen: dict[str, Any] = {"lastSeenAt": now, "count": count, "silencedBy": silenced_by}
    described = {
        **seen,
        "labels": signal.labels,
        "severity": signal.severity,
        "summary": signal.summary[:1000],
        "description": signal.description[:4000],
        "url": signal.url[:2000],
        "source": signal.source,
    }
    if current is None:
        described["firstSeenAt"] = now
    previous = current or {}
    pending = previous.get("pendingNotification")
    if signal.status == "firing":
        ended = previous.get("endsAt")
        if previous.get("status") == "resolved" and ended and signal.starts_at <= ended:
            return "late", {**seen, "lateSignals": int(previous.get("lateSignals", 0)) + 1}
        reopened = current is None or previous.get("status") == "resolved"
        starts = signal.starts_at if reopened else min(previous["startsAt"], signal.starts_at)
        fields = {**described, "status": "firing", "startsAt": starts, "endsAt": None}
        last_at = previous.get("lastNotifiedAt")
        if silenced_by:
            return "silenced", {**fields, "suppressed": int(previous.get("suppressed", 0)) + 1}
        if not reopened and pending == "firing":
            return "pending", fields
        if (
            not reopened
            and previous.get("lastNotifiedStatus") == "firing"
            and last_at is not None
            and now - last_at < repeat_interval
        ):
            return "repeat", {**fields, "duplicates": int(previous.get("duplicates", 0)) + 1}
        return "notify", fields
    ends = signal.ends_at or now
    if current is None:
        return "recorded", {
            **described,
            "status": "resolved",
            "startsAt": signal.starts_at,
            "endsAt": ends,
        }
    if previous.get("status") == "resolved":
        return "duplicate", {**seen, "duplicates": int(previous.get("duplicates", 0)) + 1}
    if previous.get("startsAt") and ends < previous["startsAt"]:
        return "stale", seen
    fields = {**described, "status": "resolved", "endsAt": ends}
    was_told = previous.get("lastNotifiedStatus") == "firing" or pending == "firing"
    if not was_told:
        return "recorded", fields
    if silenced_by:
        return "silenced", {**fields, "suppressed": int(previous.get("suppressed", 0)) + 1}
    return "notify", fields


def observe(signal: AlertSignal, now: datetime | None = None) -> Observation:
    """Fold a signal into its alert (idempotent on `signal.key`)."""
    settings = get_alert_settings()
    now = now or utcnow()
    db = clients.firestore()
    fp = fingerprint(signal.labels)
    group_key, group_labels = group_of(signal.labels, settings.alert_group_by)
    silenced_by = silences.matching(signal.matchable(), now)
    alert_ref = db.collection(ALERTS).document(fp)
    group_ref = db.collection(GROUPS).document(group_key)
    token = secrets.token_hex(8)
    repeat = timedelta(seconds=settings.alert_repeat_interval_seconds)

    def run(transaction: Any) -> Outcome:
        snapshot = alert_ref.get(transaction=transaction)
        group = group_ref.get(transaction=transaction).to_dict() or {}
        outcome, fields = decide(snapshot.to_dict(), signal, silenced_by, now, repeat)
        fields.update(
            fingerprint=fp,
            groupKey=group_key,
            lastOutcome=outcome,
            expiresAt=now + timedelta(days=settings.alert_retention_days),
        )
        if outcome == "notify":
            fields.update(pendingNotification=fields.get("status"), pendingToken=token)
            update: dict[str, Any] = {
                "groupKey": group_key,
                "labels": group_labels,
                "members": {fp: token},
                "updatedAt": now,
            }
            if not group.get("members") or group.get("windowEndsAt") is None:
                update["windowEndsAt"] = now + timedelta(seconds=settings.alert_group_wait_seconds)
            transaction.set(group_ref, update, merge=True)
        transaction.set(alert_ref, fields, merge=True)
        return outcome

    done = events.apply_once("alerts", _digest(signal.key, 40), run, kind=signal.source)
    outcome: Outcome = done.value if done.first and done.value else "duplicate"
    logger.info(
        "alert observed",
        extra={
            "fields": {
                "fingerprint": fp,
                "groupKey": group_key,
                "outcome": outcome,
                "status": signal.status,
                "alertname": signal.labels.get("alertname"),
            }
        },
    )
    return Observation(fp, group_key, outcome)
