"""The webhook's answer to GitHub."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.core.models import ApiModel


class DeliveryAccepted(ApiModel):
    delivery_id: str
    event: str
    outcome: str
    event_type: str | None = None
    event_id: str | None = None
    reason: str = ""
    duplicate: bool = False


class GitHubDelivery(ApiModel):
    """A GitHub webhook payload (`push`, `release`, `ping`, ...), as GitHub documents it; the
    platform reads the fields below and keeps the body's exact bytes for the signature."""

    model_config = ConfigDict(extra="allow")

    ref: str | None = Field(None, description="push: the ref pushed, e.g. refs/heads/main.")
    after: str | None = Field(None, description="push: the commit the ref points to now.")
    action: str | None = Field(None, description="release: published, created, ...")
    release: dict[str, Any] | None = None
    repository: dict[str, Any] | None = None
    sender: dict[str, Any] | None = None
    zen: str | None = Field(None, description="ping: GitHub's greeting.")


DELIVERY_HEADERS = (
    ("X-Hub-Signature-256", "`sha256=` + HMAC-SHA256 of the body with the webhook secret.", True),
    ("X-GitHub-Event", "The event: push, release, ping, ...", True),
    ("X-GitHub-Delivery", "The delivery's id; a redelivery repeats it.", True),
)
