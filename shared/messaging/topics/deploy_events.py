"""The `deploy-events` topic: what the GitHub webhook publishes and the alerts read.

Three types, one data model each, all camelCase on the wire:
`deploy.requested` (a push to a mapped branch, or a published release),
`deploy.build_finished` (a completed workflow run) and `deploy.merged` (a merged PR).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.core.models import ApiModel

TOPIC = "deploy-events"
SOURCE = "//agent-platform/webhook/github"
REQUESTED = "deploy.requested"
BUILD_FINISHED = "deploy.build_finished"
MERGED = "deploy.merged"


class DeployEventData(ApiModel):
    """Fields every deploy event carries."""

    repository: str = Field(description="owner/name")
    sha: str = Field(description="The commit the event is about.")
    ref: str = ""
    actor: str = ""
    url: str = ""
    delivery_id: str = Field(description="X-GitHub-Delivery of the webhook call.")
    occurred_at: datetime


class DeployRequestedData(DeployEventData):
    """`deploy.requested`: deploy `sha` to `environment`."""

    environment: str
    trigger: str = Field(description="`push` or `release`")
    release_tag: str | None = None
    message: str = ""


class BuildFinishedData(DeployEventData):
    """`deploy.build_finished`: a GitHub Actions workflow run completed."""

    workflow: str
    run_id: int
    conclusion: str = Field(description="success, failure, cancelled, timed_out, ...")
    branch: str = ""


class MergedData(DeployEventData):
    """`deploy.merged`: a pull request was merged into `base`."""

    pull_request: int
    title: str = ""
    base: str = ""
