"""GitHub webhook deliveries: signature check, event normalisation, delivery records.

The signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body) is checked in constant
time against every configured secret before the body is parsed; two secrets are accepted
so a rotation needs no downtime. A delivery is recorded with a Firestore `create` keyed by
a hash of `X-GitHub-Delivery`, in the same batch as the deployment it describes and the
staged outbox event, so a redelivery is refused as a whole and a Pub/Sub outage loses
nothing (the outbox keeps the event until it is published).

The signature covers the body, not the delivery id, so a captured delivery could be sent
again under a new `X-GitHub-Delivery`. Each delivery therefore also creates a record keyed
by a hash of its signed body, in the same transaction: a body seen before, under any
delivery id, is a duplicate and nothing is done again. Both records live in
`webhook_deliveries` for `GITHUB_DELIVERY_TTL_DAYS` (Firestore TTL on `expiresAt`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import errors, log, state
from shared.core.models import utcnow
from shared.gcp import clients, firestore, secret_manager
from shared.github.models import DeliveryAccepted
from shared.github.normalise import Normalised, normalise
from shared.messaging import events, outbox
from shared.messaging.topics import deploy_events

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

DELIVERIES = "webhook_deliveries"
DEPLOYMENTS = "deployments"
SIGNATURE_PREFIX = "sha256="
PUBLISH_SECONDS = 2.0  # the acknowledgement must stay well under GitHub's 10 s
logger = log.get_logger("github")


class WebhookSettings(BaseSettings):
    """The webhook's own settings (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    github_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of the webhook; none set: every delivery gets 401."
    )
    github_webhook_secret_previous: SecretStr | None = Field(
        None, description="The previous secret, accepted too during a rotation."
    )
    # Secret Manager resource names; when set they win over the plain values above.
    github_webhook_secret_resource: str | None = Field(
        None, description="Secret Manager name of the secret; wins over the plain value."
    )
    github_webhook_secret_previous_resource: str | None = Field(
        None, description="Secret Manager name of the previous secret."
    )
    github_webhook_max_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        le=25 * 1024 * 1024,
        description="Largest delivery accepted (413 beyond).",
    )
    github_branch_environments: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"main": "staging"},
        description=(
            "`branch=environment` pairs: a push to the branch requests a deploy to the environment."
        ),
    )
    github_delivery_ttl_days: float = Field(
        14, gt=0, le=365, description="How long delivery ids are kept to recognise redeliveries."
    )
    github_webhook_deadline_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description=(
            "Budget of `POST /v1/webhooks/github`: past it, 503 with Retry-After, well before "
            "GitHub gives up at 10 s (it then shows the delivery failed; redeliver it)."
        ),
    )

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


@state.once
def get_webhook_settings() -> WebhookSettings:
    return WebhookSettings()


def webhook_deadline_seconds() -> float:
    return get_webhook_settings().github_webhook_deadline_seconds


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
    """This X-GitHub-Delivery, or this signed body, was recorded before."""


def delivery_key(delivery_id: str) -> str:
    return hashlib.sha256(delivery_id.encode()).hexdigest()


def body_key(raw_body: bytes) -> str:
    """The record id of a signed body (its own hash domain: never a delivery id's key)."""
    return hashlib.sha256(b"github-body\0" + raw_body).hexdigest()


def deployment_key(repository: str, sha: str) -> str:
    return hashlib.sha256(f"{repository}@{sha}".encode()).hexdigest()[:40]


def record(
    delivery_id: str,
    event_name: str,
    action: str,
    result: Normalised,
    raw_body: bytes | None = None,
) -> events.Event | None:
    """Record the delivery and its signed body (and deployment), stage the deploy event,
    then publish it. `receive` always passes the body; without one only the delivery id
    is recorded.

    Raises DuplicateDelivery when the delivery id or the signed body was seen before:
    nothing is written or published again.
    """
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
    staged: list[tuple[Any, dict[str, Any]]] = []  # (deployment ref, fields) with the event
    if result.data is not None and result.event_type is not None:
        event = events.new_event(
            result.event_type, deploy_events.SOURCE, result.data.repository, result.data
        )
        delivery.update({"eventType": event.type, "eventId": event.id})
        deployment_id = deployment_key(result.data.repository, result.data.sha)
        delivery["deploymentId"] = deployment_id
        fields = _deployment_fields(event.type, event.id, result.data, now)
        staged.append((db.collection(DEPLOYMENTS).document(deployment_id), fields))

    body_fields = {
        "kind": "body",
        "deliveryId": delivery_id,
        "receivedAt": now,
        "expiresAt": now + ttl,
    }

    def apply(transaction: Any) -> None:
        if raw_body:  # a replay under a new delivery id fails here
            transaction.create(db.collection(DELIVERIES).document(body_key(raw_body)), body_fields)
        for deployment, fields in staged:
            transaction.set(deployment, fields, merge=True)
        if event is not None:
            outbox.stage(transaction, deploy_events.TOPIC, event)

    # The delivery and body records are the idempotency keys: a redelivery or a replay finds
    # one of them and the whole transaction writes nothing.
    key = db.collection(DELIVERIES).document(delivery_key(delivery_id))
    if not firestore.create_once(key, delivery, apply).first:
        raise DuplicateDelivery(delivery_id)
    if event is not None:
        # Short: GitHub waits 10 s for the acknowledgement; the relay publishes what is left.
        outbox.deliver(deploy_events.TOPIC, event, timeout=PUBLISH_SECONDS)
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


def receive(raw_body: bytes, headers: Headers) -> tuple[DeliveryAccepted, int]:
    """Verify, normalise and record one delivery; the answer and its status (202 accepted,
    200 for a ping or a redelivery). The signature is checked before the body is read."""
    if not signature_valid(raw_body, headers.get("X-Hub-Signature-256"), signing_secrets()):
        raise errors.Unauthenticated("X-Hub-Signature-256 is missing or does not match the body")
    event_name = headers.get("X-GitHub-Event", "").strip()
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()
    if not event_name or not delivery_id or len(delivery_id) > 200:
        raise errors.InvalidRequest("X-GitHub-Event and X-GitHub-Delivery headers are required")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.MalformedJson("the delivery body is not JSON") from None
    if not isinstance(payload, dict):
        raise errors.InvalidRequest("the delivery body must be a JSON object")
    settings = get_webhook_settings()
    result = normalise(event_name, delivery_id, payload, settings.github_branch_environments)
    try:
        event = record(delivery_id, event_name, str(payload.get("action") or ""), result, raw_body)
    except DuplicateDelivery:
        return _duplicate(delivery_id, event_name), 200
    accepted = DeliveryAccepted(
        delivery_id=delivery_id,
        event=event_name,
        outcome=result.outcome,
        event_type=result.event_type,
        event_id=event.id if event else None,
        reason=result.reason,
    )
    return accepted, 200 if result.outcome == "ping" else 202


def _duplicate(delivery_id: str, event_name: str) -> DeliveryAccepted:
    """The answer to a delivery id or a signed body seen before (nothing is done again)."""
    seen = clients.firestore().collection(DELIVERIES).document(delivery_key(delivery_id)).get()
    if seen.exists:
        reason = "this delivery id was received before"
    else:
        reason = "this signed body was received before under another delivery id"
        logger.warning(
            "github delivery replayed under a new delivery id",
            extra={"fields": {"deliveryId": delivery_id, "githubEvent": event_name}},
        )
    return DeliveryAccepted(
        delivery_id=delivery_id,
        event=event_name,
        outcome="duplicate",
        duplicate=True,
        reason=reason,
    )
