"""The tool registry: who sees which tools, their schemas, and handlers run as the caller."""

from __future__ import annotations

from typing import Any

import pytest

from shared.agents import store as agents
from shared.core import errors
from shared.tools import registry
from shared.tools.registry import Caller

GUEST = Caller(user_id="usr_guest_one")
OPERATOR = Caller(operator=True)


def test_every_tool_has_a_description_and_an_object_schema() -> None:
    for tool in registry.all_tools():
        schema = tool.input_schema()
        assert tool.description and schema["type"] == "object", tool.name
        assert schema.get("additionalProperties") is False, tool.name


def test_the_registry_holds_the_issue_s_tools_with_their_access_and_effects() -> None:
    tools = {t.name: (t.access, t.changes) for t in registry.all_tools()}

    assert tools["list_my_agents"] == ("guest", False)
    assert tools["route_to_persona"] == ("guest", False)
    for name in ("recent_deploy_events", "active_alerts", "loadtest_runs", "active_silences"):
        assert tools[name] == ("operator", False)
    for name in ("start_loadtest", "create_silence", "expire_silence"):
        assert tools[name] == ("operator", True)


def test_a_guest_sees_guest_tools_only_and_an_operator_sees_all() -> None:
    assert {t.name for t in registry.available(GUEST)} == {"list_my_agents", "route_to_persona"}
    assert len(registry.available(OPERATOR)) == len(registry.all_tools())
    assert registry.available(Caller()) == []


def test_an_operator_tool_does_not_exist_for_a_guest(firestore_db: Any) -> None:
    with pytest.raises(errors.NotFound):
        registry.find(GUEST, "create_silence")

    outcome = registry.execute(GUEST, "create_silence", {"source": "chat"})

    assert outcome.is_error and "no tool named" in outcome.result["error"]
    assert list(firestore_db.collection("silences").stream()) == []


def test_list_my_agents_sees_only_the_caller_s_agents(firestore_db: Any) -> None:
    mine = agents.create_agent(GUEST.user_id or "", agents.AgentCreate(name="Mine"))
    agents.create_agent("usr_someone_else", agents.AgentCreate(name="Theirs"))

    outcome = registry.execute(GUEST, "list_my_agents", {})

    assert [a["id"] for a in outcome.result["agents"]] == [mine.id]


def test_invalid_arguments_are_an_error_outcome_that_names_the_field(firestore_db: Any) -> None:
    outcome = registry.execute(OPERATOR, "create_silence", {"source": "weather"})

    assert outcome.is_error and "source" in outcome.result["error"]


def test_an_operator_silences_chat_alerts_for_an_hour_then_expires_it(
    firestore_db: Any,
) -> None:
    created = registry.execute(
        OPERATOR, "create_silence", {"source": "chat", "durationMinutes": 60}
    )
    silence_id = created.result["id"]

    listed = registry.execute(OPERATOR, "active_silences", {})
    expired = registry.execute(OPERATOR, "expire_silence", {"silenceId": silence_id})

    assert created.result["matchers"] == [
        {"name": "source", "value": "chat", "isRegex": False, "isEqual": True}
    ]
    assert [s["id"] for s in listed.result["silences"]] == [silence_id]
    assert expired.result == {"silenceId": silence_id, "expired": True}
    assert registry.execute(OPERATOR, "active_silences", {}).result["silences"] == []


def test_read_tools_answer_from_empty_stores(firestore_db: Any) -> None:
    for name, key in (
        ("recent_deploy_events", "deployments"),
        ("active_alerts", "alerts"),
        ("loadtest_runs", "runs"),
    ):
        assert registry.execute(OPERATOR, name, {}).result == {key: []}


def test_agents_may_be_given_guest_tools_only() -> None:
    registry.check_agent_tools(["list_my_agents", "route_to_persona"])

    with pytest.raises(errors.InvalidRequest, match="start_loadtest"):
        registry.check_agent_tools(["start_loadtest"])


def test_a_long_result_is_cut_for_the_model() -> None:
    outcome = registry.ToolOutcome("x", {}, {"text": "y" * 20_000})

    assert len(outcome.text()) == registry.MAX_RESULT_CHARS + 1
