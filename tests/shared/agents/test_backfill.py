"""Dashboard counters recounted for guests whose agents predate them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.agents import backfill, totals
from shared.agents import stats as agent_stats
from shared.agents import store as agents
from shared.agents.store import AgentCreate, AgentUpdate
from shared.limits import spend
from shared.messaging.topics.chat_events import ChatRunData
from tests.functions.agents.payloads import golden_event
from tools import backfill_totals


def run(user_id: str, agent_id: str, name: str) -> None:
    event = golden_event(name, agent_id=agent_id, user_id=user_id)
    agent_stats.record_run(agents.agent_ref(agent_id), event, event.data_as(ChatRunData))


@pytest.fixture
def legacy_guest(firestore_db: Any) -> str:
    """A guest with two agents (one paused) and three runs, and none of the counters
    (as before they existed)."""
    user_id = "usr_legacy"
    first = agents.create_agent(user_id, AgentCreate(name="One"))
    second = agents.create_agent(user_id, AgentCreate(name="Two"))
    agents.update_agent(user_id, second.id, AgentUpdate(status="paused"))
    run(user_id, first.id, "chat_run_completed")
    run(user_id, first.id, "chat_run_completed")
    run(user_id, second.id, "chat_run_failed")
    totals.totals_ref(user_id).delete()
    spend.guest_count(user_id, "agents").ref.delete()
    return user_id


def test_a_guest_without_counters_gets_them_from_the_agents(legacy_guest: str) -> None:
    before = agents.dashboard(legacy_guest)

    created = backfill.recount(legacy_guest)

    after = agents.dashboard(legacy_guest)
    assert (before.total_agents, before.total_runs) == (0, 0)
    assert created is True
    assert (after.total_agents, after.active_agents, after.total_runs) == (2, 1, 3)
    assert after.success_rate == round(2 / 3, 4)


def test_a_guest_with_counters_is_left_alone(legacy_guest: str) -> None:
    backfill.recount(legacy_guest)
    agents.create_agent(legacy_guest, AgentCreate(name="Three"))  # the live path counts it

    again = backfill.recount(legacy_guest)

    assert again is False
    assert agents.dashboard(legacy_guest).total_agents == 3


def test_the_operator_command_recounts_every_guest_once(
    legacy_guest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    agents.create_agent("usr_current", AgentCreate(name="Counted"))

    backfill_totals.main()
    backfill_totals.main()

    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first == {"guests": 2, "recounted": 1}
    assert second == {"guests": 2, "recounted": 0}
    assert agents.dashboard(legacy_guest).total_agents == 2
