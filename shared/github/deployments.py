"""Reading the `deployments` documents the webhook records (one per repository and sha)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.core.models import ApiModel
from shared.gcp import clients
from shared.github.deliveries import DEPLOYMENTS


class DeploymentPublic(ApiModel):
    id: str
    repository: str
    sha: str
    status: str | None = None
    last_event_type: str | None = None
    updated_at: datetime | None = None
    environments: dict[str, Any] = {}
    build: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None


def recent(limit: int = 10) -> list[DeploymentPublic]:
    """The most recently updated deployments, newest first."""
    from google.cloud.firestore import Query

    query: Any = clients.firestore().collection(DEPLOYMENTS)
    query = query.order_by("updatedAt", direction=Query.DESCENDING).limit(limit)
    found = []
    for snapshot in query.stream():
        data = snapshot.to_dict() or {}
        found.append(
            DeploymentPublic(
                id=snapshot.id,
                repository=str(data.get("repository", "")),
                sha=str(data.get("sha", "")),
                status=data.get("status"),
                last_event_type=data.get("lastEventType"),
                updated_at=data.get("updatedAt"),
                environments=data.get("environments") or {},
                build=data.get("build"),
                pull_request=data.get("pullRequest"),
            )
        )
    return found
