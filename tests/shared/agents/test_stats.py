"""shared.agents.stats: shard choice, summing, and counting a run once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from shared.agents import stats as agent_stats
from shared.agents import store as agents
from shared.agents.store import AgentCreate
from shared.messaging.topics.chat_events import ChatRunData
from tests.functions.agents.payloads import golden_event


def test_shard_index_is_stable_and_spreads_events_over_every_shard() -> None:
    spread = Counter(agent_stats.shard_index(f"evt_{i}") for i in range(4000))

    assert agent_stats.shard_index("evt_x") == agent_stats.shard_index("evt_x")
    assert set(spread) == set(range(agent_stats.SHARDS))
    assert min(spread.values()) > 4000 / agent_stats.SHARDS * 0.8


def test_summarize_adds_counters_and_takes_the_latest_run() -> None:
    later = datetime(2026, 11, 22, 12, 0, 0, 1, tzinfo=UTC)
    shards = [
        {"totalRuns": 2, "successfulRuns": 2, "latencyMsTotal": 300.0, "lastRunAtMicros": 5},
        {
            "totalRuns": 1,
            "failedRuns": 1,
            "inputTokens": 7,
            "outputTokens": 3,
            "latencyMsTotal": 0.0,
            "lastRunAtMicros": agent_stats._micros(later),
        },
    ]

    stats = agent_stats.summarize(shards)

    assert (stats.total_runs, stats.successful_runs, stats.failed_runs) == (3, 2, 1)
    assert (stats.input_tokens, stats.output_tokens) == (7, 3)
    assert stats.avg_latency_ms == 100.0
    assert stats.last_run_at == later


def test_summarize_of_no_shards_is_all_zero() -> None:
    assert agent_stats.summarize([]) == agent_stats.AgentStats()


def test_record_run_counts_once_then_reports_the_duplicate(firestore_db: Any) -> None:
    agent = agents.create_agent("usr_1", AgentCreate(name="x"))
    event = golden_event("chat_run_completed", agent_id=agent.id, user_id="usr_1")
    run = event.data_as(ChatRunData)
    ref = agents.agent_ref(agent.id)

    first = agent_stats.record_run(ref, event, run)
    second = agent_stats.record_run(ref, event, run)

    assert (first, second) == ("counted", "duplicate")
    assert agent_stats.read_stats([ref])[agent.id].total_runs == 1


def test_record_run_drops_runs_of_missing_agents(firestore_db: Any) -> None:
    event = golden_event("chat_run_completed", agent_id="agt_" + "1" * 24, user_id="usr_1")
    ref = agents.agent_ref("agt_" + "1" * 24)

    assert agent_stats.record_run(ref, event, event.data_as(ChatRunData)) == "dropped"
    assert list(ref.collection(agent_stats.SHARD_COLLECTION).stream()) == []


def test_read_stats_keys_every_agent_asked_for(firestore_db: Any) -> None:
    refs = [agents.agent_ref("agt_" + str(i) * 24) for i in range(3)]

    stats = agent_stats.read_stats(refs)

    assert set(stats) == {ref.id for ref in refs}
    assert all(s.total_runs == 0 for s in stats.values())
