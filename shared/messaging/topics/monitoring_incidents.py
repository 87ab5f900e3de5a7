"""Cloud Monitoring's Pub/Sub notification payload (schema version 1.2).

This is NOT the platform's event envelope: Cloud Monitoring publishes it as-is to the
`monitoring-incidents` topic. Times are epoch seconds; `ended_at` is null while open.
Unknown fields are kept out of the way (extra=ignore) so schema additions do not break us.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.messaging.events import PoisonMessage

TOPIC = "monitoring-incidents"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MonitoredResource(_Loose):
    type: str = ""
    labels: dict[str, str] = Field(default_factory=dict)


class Metric(_Loose):
    type: str = ""
    display_name: str = Field("", alias="displayName")
    labels: dict[str, str] = Field(default_factory=dict)


class Incident(_Loose):
    incident_id: str = Field(min_length=1)
    state: Literal["open", "closed"]
    policy_name: str = ""
    condition_name: str = ""
    summary: str = ""
    url: str = ""
    severity: str = "No severity"
    started_at: int
    ended_at: int | None = None
    scoping_project_id: str = ""
    resource_name: str = ""
    resource_display_name: str = ""
    resource: MonitoredResource = Field(default_factory=MonitoredResource)
    metric: Metric = Field(default_factory=Metric)
    policy_user_labels: dict[str, str] = Field(default_factory=dict)
    threshold_value: str | None = None
    observed_value: str | None = None

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(self.started_at, UTC)

    @property
    def ended(self) -> datetime | None:
        return None if self.ended_at is None else datetime.fromtimestamp(self.ended_at, UTC)


class IncidentNotification(_Loose):
    version: str = "1.2"
    incident: Incident


def decode(message: dict[str, Any]) -> IncidentNotification:
    """The notification inside a pushed Pub/Sub message; PoisonMessage if unreadable."""
    raw = message.get("data") or ""
    try:
        body = base64.b64decode(raw, validate=True) if isinstance(raw, str) else bytes(raw)
        return IncidentNotification.model_validate_json(body)
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise PoisonMessage(f"not a Cloud Monitoring notification: {str(exc)[:200]}") from None
