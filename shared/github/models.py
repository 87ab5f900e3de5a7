"""The webhook's answer to GitHub."""

from __future__ import annotations

from shared.core.models import ApiModel


class DeliveryAccepted(ApiModel):
    delivery_id: str
    event: str
    outcome: str
    event_type: str | None = None
    event_id: str | None = None
    reason: str = ""
    duplicate: bool = False
