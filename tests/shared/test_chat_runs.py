"""Chat runs: how an answer ends when nobody reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared import agents, chat_events, chat_runs, conversations, model
from tests.support.messages_api import point_model_at
from tests.support.pubsub import pull_events, subscribe


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    model.reset()


def test_a_run_abandoned_before_its_first_event_is_stored_incomplete(
    firestore_db: Any, offline: None
) -> None:
    subscription = subscribe(chat_events.TOPIC)
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    run = chat_runs.start("usr_owner", conversation.id, "hello")

    run.abandon()
    run.abandon()  # a second close changes nothing

    stored = conversations.message_ref(conversation.id, run.answer.id).get().to_dict()
    assert (stored["status"], stored["content"]) == ("incomplete", "")
    [event] = pull_events(subscription)
    assert event.data["outcome"] == "incomplete"


def test_a_finished_run_is_not_abandoned_afterwards(firestore_db: Any, offline: None) -> None:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    run = chat_runs.start("usr_owner", conversation.id, "hello")

    run.run_to_end()
    run.abandon()

    stored = conversations.message_ref(conversation.id, run.answer.id).get().to_dict()
    assert stored["status"] == "completed" and stored["content"]
