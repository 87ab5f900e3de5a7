"""GitHub events as deploy events: which deliveries matter and what they become.

The payload models read only the fields we use and ignore the rest, so GitHub adding
fields never breaks us; a handled event whose shape we do not recognise is ignored with
a reason rather than refused (a correctly signed delivery never gets a 4xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.core.models import utcnow
from shared.messaging.topics import deploy_events


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _User(_Loose):
    login: str = ""


class _Repository(_Loose):
    full_name: str


class _HeadCommit(_Loose):
    message: str = ""
    url: str = ""


class _Push(_Loose):
    ref: str
    after: str
    deleted: bool = False
    repository: _Repository
    sender: _User = _User()
    head_commit: _HeadCommit | None = None
    compare: str = ""


class _Release(_Loose):
    tag_name: str
    target_commitish: str = ""
    html_url: str = ""
    author: _User = _User()


class _ReleaseEvent(_Loose):
    action: str
    release: _Release
    repository: _Repository


class _WorkflowRun(_Loose):
    id: int
    name: str = ""
    head_branch: str | None = ""
    head_sha: str
    conclusion: str | None = None
    html_url: str = ""
    actor: _User = _User()


class _WorkflowRunEvent(_Loose):
    action: str
    workflow_run: _WorkflowRun
    repository: _Repository


class _Base(_Loose):
    ref: str = ""


class _PullRequest(_Loose):
    number: int
    merged: bool = False
    merge_commit_sha: str | None = None
    title: str = ""
    html_url: str = ""
    base: _Base = _Base()
    merged_by: _User | None = None


class _PullRequestEvent(_Loose):
    action: str
    pull_request: _PullRequest
    repository: _Repository


@dataclass(frozen=True)
class Normalised:
    """What a delivery becomes: a deploy event to publish, or a reason to ignore it."""

    outcome: Literal["published", "ignored", "ping"]
    event_type: str | None = None
    data: deploy_events.DeployEventData | None = None
    reason: str = ""


def normalise(
    event_name: str, delivery_id: str, payload: dict[str, Any], branches: dict[str, str]
) -> Normalised:
    """Map a GitHub event to a deploy event; anything else is ignored with a reason."""
    if event_name == "ping":
        return Normalised("ping", reason="ping")
    now = utcnow()
    try:
        if event_name == "push":
            return _push(_Push.model_validate(payload), delivery_id, branches, now)
        if event_name == "release":
            return _release(_ReleaseEvent.model_validate(payload), delivery_id, now)
        if event_name == "workflow_run":
            return _workflow_run(_WorkflowRunEvent.model_validate(payload), delivery_id, now)
        if event_name == "pull_request":
            return _pull_request(_PullRequestEvent.model_validate(payload), delivery_id, now)
    except ValidationError as exc:
        # Correctly signed but not the shape we know: keep it on record, never a 4xx.
        return Normalised(
            "ignored", reason=f"unexpected {event_name} payload: {exc.error_count()} problems"
        )
    return Normalised("ignored", reason=f"event {event_name} is not handled")


def _push(push: _Push, delivery_id: str, branches: dict[str, str], now: datetime) -> Normalised:
    if not push.ref.startswith("refs/heads/"):
        return Normalised("ignored", reason=f"push to {push.ref} is not a branch")
    branch = push.ref.removeprefix("refs/heads/")
    if push.deleted or set(push.after) == {"0"}:
        return Normalised("ignored", reason=f"branch {branch} was deleted")
    environment = branches.get(branch)
    if environment is None:
        return Normalised("ignored", reason=f"branch {branch} is not mapped to an environment")
    head = push.head_commit or _HeadCommit()
    data = deploy_events.DeployRequestedData(
        repository=push.repository.full_name,
        sha=push.after,
        ref=push.ref,
        actor=push.sender.login,
        url=head.url or push.compare,
        delivery_id=delivery_id,
        occurred_at=now,
        environment=environment,
        trigger="push",
        message=head.message.split("\n", 1)[0][:300],
    )
    return Normalised("published", deploy_events.REQUESTED, data)


def _release(event: _ReleaseEvent, delivery_id: str, now: datetime) -> Normalised:
    if event.action != "published":
        return Normalised("ignored", reason=f"release {event.action} is not handled")
    release = event.release
    data = deploy_events.DeployRequestedData(
        repository=event.repository.full_name,
        sha=release.target_commitish or release.tag_name,
        ref=f"refs/tags/{release.tag_name}",
        actor=release.author.login,
        url=release.html_url,
        delivery_id=delivery_id,
        occurred_at=now,
        environment="production",
        trigger="release",
        release_tag=release.tag_name,
    )
    return Normalised("published", deploy_events.REQUESTED, data)


def _workflow_run(event: _WorkflowRunEvent, delivery_id: str, now: datetime) -> Normalised:
    if event.action != "completed":
        return Normalised("ignored", reason=f"workflow_run {event.action} is not handled")
    run = event.workflow_run
    data = deploy_events.BuildFinishedData(
        repository=event.repository.full_name,
        sha=run.head_sha,
        ref=f"refs/heads/{run.head_branch}" if run.head_branch else "",
        actor=run.actor.login,
        url=run.html_url,
        delivery_id=delivery_id,
        occurred_at=now,
        workflow=run.name,
        run_id=run.id,
        conclusion=run.conclusion or "unknown",
        branch=run.head_branch or "",
    )
    return Normalised("published", deploy_events.BUILD_FINISHED, data)


def _pull_request(event: _PullRequestEvent, delivery_id: str, now: datetime) -> Normalised:
    pull = event.pull_request
    if event.action != "closed" or not pull.merged:
        return Normalised("ignored", reason=f"pull_request {event.action} without a merge")
    data = deploy_events.MergedData(
        repository=event.repository.full_name,
        sha=pull.merge_commit_sha or "",
        ref=f"refs/heads/{pull.base.ref}",
        actor=pull.merged_by.login if pull.merged_by else "",
        url=pull.html_url,
        delivery_id=delivery_id,
        occurred_at=now,
        pull_request=pull.number,
        title=pull.title[:300],
        base=pull.base.ref,
    )
    return Normalised("published", deploy_events.MERGED, data)
