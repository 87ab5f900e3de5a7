"""Which GitHub deliveries become deploy events, from the payloads in tests/data/github."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.github import normalise as github_events
from shared.messaging.topics import deploy_events
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "github"
BRANCHES = {"main": "staging"}


def load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return result


def test_push_to_main_becomes_deploy_requested() -> None:
    result = github_events.normalise("push", "d-1", load("push"), BRANCHES)

    assert result.outcome == "published"
    assert result.event_type == deploy_events.REQUESTED
    assert isinstance(result.data, deploy_events.DeployRequestedData)
    assert result.data.message == "Fix stream timeout in chat"


def test_deleted_branch_is_ignored() -> None:
    body = load("push") | {"deleted": True, "after": "0" * 40, "head_commit": None}

    assert github_events.normalise("push", "d-1", body, BRANCHES).outcome == "ignored"


def test_tag_push_is_ignored() -> None:
    body = load("push") | {"ref": "refs/tags/v1.4.0"}

    assert github_events.normalise("push", "d-1", body, BRANCHES).outcome == "ignored"


@pytest.mark.parametrize(
    ("event", "name", "change"),
    [
        ("release", "release_published", {"action": "created"}),
        ("workflow_run", "workflow_run_completed", {"action": "requested"}),
        ("pull_request", "pull_request_merged", {"action": "opened"}),
    ],
)
def test_other_actions_of_handled_events_are_ignored(
    event: str, name: str, change: dict[str, Any]
) -> None:
    assert github_events.normalise(event, "d-1", load(name) | change, BRANCHES).outcome == "ignored"


def test_closed_but_unmerged_pull_request_is_ignored() -> None:
    body = load("pull_request_merged")
    body["pull_request"]["merged"] = False

    assert github_events.normalise("pull_request", "d-1", body, BRANCHES).outcome == "ignored"


def test_handled_event_with_an_unexpected_shape_is_ignored_not_an_error() -> None:
    result = github_events.normalise("push", "d-1", {"ref": 42}, BRANCHES)

    assert result.outcome == "ignored"
    assert "unexpected push payload" in result.reason
