"""`make restore-drill` restores what the platform stored, and notices what it did not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.manifest import ROOT
from tools import restore_drill


def test_the_drill_restores_every_document_and_api_answer() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "tools.restore_drill", "--guests", "1", "--conversations", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = result.stdout.splitlines()

    assert result.returncode == 0, result.stderr[-2000:]
    assert lines[0] == "restore drill: every document and every API answer came back"
    restored = dict(line.strip().rsplit(": ", 1) for line in lines[1:] if not line.endswith(" s"))
    assert restored["agents"] == "2"
    assert restored["conversations"] == "2"
    assert restored["messages"] == "8"  # two questions and two answers in each
    assert int(restored["counters: agent stat shards"]) >= 1
    assert any(line.strip().startswith("restore (import + verify):") for line in lines)


def test_a_missing_document_fails_the_comparison() -> None:
    before = {"agents/a": {"name": "A"}, "conversations/c": {"messageCount": 2}}
    after = {"agents/a": {"name": "A"}}

    with pytest.raises(restore_drill.DrillFailed, match=r"missing \['conversations/c'\]"):
        restore_drill.compare(before, after, "documents")


def test_a_changed_counter_fails_the_comparison() -> None:
    before = {"agents/a/statShards/0": {"totalRuns": 2}}
    after = {"agents/a/statShards/0": {"totalRuns": 1}}

    with pytest.raises(restore_drill.DrillFailed, match="changed"):
        restore_drill.compare(before, after, "documents")


def test_the_census_sorts_documents_by_kind() -> None:
    found = {
        "sessions/h": {},
        "agents/a": {},
        "agents/a/statShards/3": {},
        "conversations/c": {},
        "conversations/c/messages/m": {},
        "limits/global_1_tokens_2026-12-08": {},
        "agent_totals/u": {},
        "quotas/u": {},
    }

    counted = restore_drill.census(found, {"GET /v1/agents": {}})

    assert counted == {
        "API answers compared": 1,
        "agents": 1,
        "conversations": 1,
        "counters: agent stat shards": 1,
        "counters: dashboard totals": 1,
        "counters: guest quotas": 1,
        "counters: spend meters": 1,
        "documents in all": 8,
        "messages": 1,
        "sessions": 1,
    }
