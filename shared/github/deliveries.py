"""GitHub webhook deliveries: signature check, event normalisation, delivery records.

The signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body) is checked in constant
time against every configured secret before the body is parsed; two secrets are accepted
so a rotation needs no downtime. A delivery is recorded with a Firestore `create` keyed by
a hash of `X-GitHub-Delivery`, in the same batch as the deployment it describes and the
staged outbox event, so a redelivery is refused as a whole and a Pub/Sub outage loses
nothing (the outbox keeps the event until it is published).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import log
from shared.core.models import utcnow
from shared.gcp import clients, secret_manager
from shared.github.normalise import Normalised
from shared.messaging import events, outbox
from shared.messaging.topics import deploy_events

DELIVERIES = "webhook_deliveries"
DEPLOYMENTS = "deployments"
SIGNATURE_PREFIX = "sha256="
logger = log.get_logger("github")


class WebhookSettings(BaseSettings):
    """The webhook's own settings (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    github_webhook_secret: SecretStr | None = None
    github_webhook_secret_previous: SecretStr | None = None
    # Secret Manager resource names; when set they win over the plain values above.
    github_webhook_secret_resource: str | None = None
    github_webhook_secret_previous_resource: str | None = None
    github_webhook_max_bytes: int = Field(1024 * 1024, ge=1024, le=25 * 1024 * 1024)
    github_branch_environments: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"main": "staging"}
    )
    github_delivery_ttl_days: float = Field(14, gt=0, le=365)

    @field_validator("github_branch_environments", mode="before")
    @classmethod
    def _parse_branch_map(cls, value: object) -> object:
        """`main=staging,release=production` -> {"main": "staging", "release": "production"}."""
        if not isinstance(value, str):
            return value
        mapping: dict[str, str] = {}
        for pair in filter(None, (part.strip() for part in value.split(","))):
            branch, sep, environment = pair.partition("=")
            if not sep or not branch.strip() or not environment.strip():
                raise ValueError(f"expected branch=environment pairs, got {pair!r}")
            mapping[branch.strip()] = environment.strip()
        return mapping


@cache
def get_webhook_settings() -> WebhookSettings:
    return WebhookSettings()


def signing_secrets(settings: WebhookSettings | None = None) -> list[bytes]:
    """The current and (during a rotation) previous secret; empty when none is configured."""
    settings = settings or get_webhook_settings()
    found: list[str] = []
    for resource, plain in (
        (settings.github_webhook_secret_resource, settings.github_webhook_secret),
        (settings.github_webhook_secret_previous_resource, settings.github_webhook_secret_previous),
    ):
        value = secret_manager.access(resource) if resource else None
        if value is None and plain is not None:
            value = plain.get_secret_value()
        if value:
            found.append(value)
    return [value.encode() for value in found]


def signature_for(body: bytes, secret: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    """True when `header` is the HMAC-SHA256 of `body` under one of `secrets`.

    Every secret is compared (no early exit), each in constant time.
    """
    if not header or not secrets or not header.startswith(SIGNATURE_PREFIX):
        return False
    given = header.strip().encode()
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, signature_for(body, secret).encode())
    return matched


# -- records -----------------------------------------------------------------------------


class DuplicateDelivery(Exception):
    """This X-GitHub-Delivery was recorded before."""


def delivery_key(delivery_id: str) -> str:
    return hashlib.sha256(delivery_id.encode()).hexdigest()


def deployment_key(repository: str, sha: str) -> str:
    return hashlib.sha256(f"{repository}@{sha}".encode()).hexdigest()[:40]


def record(
    delivery_id: str, event_name: str, action: str, result: Normalised
) -> events.Event | None:
    """Record the delivery (and deployment), stage the deploy event, then publish it.

    Raises DuplicateDelivery when the delivery was seen before: nothing is written or
    published again.
    """
    from google.api_core.exceptions import AlreadyExists

    db = clients.firestore()
    now = utcnow()
    ttl = timedelta(days=get_webhook_settings().github_delivery_ttl_days)
    event = None
    delivery: dict[str, Any] = {
        "deliveryId": delivery_id,
        "event": event_name,
        "action": action,
        "outcome": result.outcome,
        "reason": result.reason,
        "receivedAt": now,
        "expiresAt": now + ttl,
    }
    batch = db.batch()
    if result.data is not None and result.event_type is not None:
        event = events.new_event(
            result.event_type, deploy_events.SOURCE, result.data.repository, result.data
        )
        delivery.update({"eventType": event.type, "eventId": event.id})
        deployment_id = deployment_key(result.data.repository, result.data.sha)
        delivery["deploymentId"] = deployment_id
        batch.set(
            db.collection(DEPLOYMENTS).document(deployment_id),
            _deployment_fields(event.type, event.id, result.data, now),
            merge=True,
        )
        outbox.stage(batch, deploy_events.TOPIC, event)
    batch.create(db.collection(DELIVERIES).document(delivery_key(delivery_id)), delivery)
    try:
        batch.commit()
    except AlreadyExists:
        raise DuplicateDelivery(delivery_id) from None
    if event is not None:
        outbox.deliver(deploy_events.TOPIC, event)
    logger.info(
        "github delivery recorded",
        extra={
            "fields": {
                "deliveryId": delivery_id,
                "githubEvent": event_name,
                "outcome": result.outcome,
                "reason": result.reason,
                "eventType": result.event_type,
            }
        },
    )
    return event


def _deployment_fields(
    event_type: str, event_id: str, data: deploy_events.DeployEventData, now: datetime
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "repository": data.repository,
        "sha": data.sha,
        "updatedAt": now,
        "lastEventType": event_type,
        "lastEventId": event_id,
    }
    step = {"at": now, "deliveryId": data.delivery_id, "actor": data.actor, "url": data.url}
    if isinstance(data, deploy_events.DeployRequestedData):
        fields["status"] = "requested"
        fields["environments"] = {
            data.environment: {
                **step,
                "trigger": data.trigger,
                "ref": data.ref,
                "status": "requested",
            }
        }
    elif isinstance(data, deploy_events.BuildFinishedData):
        fields["build"] = {
            **step,
            "workflow": data.workflow,
            "runId": data.run_id,
            "conclusion": data.conclusion,
        }
    elif isinstance(data, deploy_events.MergedData):
        fields["pullRequest"] = {**step, "number": data.pull_request, "base": data.base}
    return fields
