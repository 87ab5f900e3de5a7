"""The sweep entry point through functions-framework: abandoned answers are failed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from shared.agents import store as agents
from shared.chat import conversations, send
from shared.core.models import utcnow
from shared.gcp import clients
from shared.identity import sessions as identity_sessions
from shared.limits import spend
from shared.messaging.events import Event
from shared.messaging.topics import chat_events
from tests.conftest import load_function
from tests.support.guests import Guest, new_guest
from tests.support.pubsub import pull_events, subscribe

ADMIN = "operator-token-0123456789"
OPERATOR = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def sweep(firestore_db: Any, settings: Any) -> Any:
    settings(ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    return load_function("functions/cleanup", "sweep").app.test_client()


def pending_answer(guest: Guest, age: timedelta) -> send.Admission:
    """A stored user message and its pending answer, as if written `age` ago."""
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="A", model="offline"))
    conversation = conversations.create_conversation(guest.user_id, agent.id, "")
    admission = send.admit(guest.user_id, conversation.id, "hello")
    ref = conversations.message_ref(conversation.id, admission.answer.id)
    ref.update({"createdAt": utcnow() - age})
    return admission


def reserved(admission: send.Admission) -> int:
    assert admission.hold is not None
    return sum(m.amount for m in admission.hold.meters if m.doc_id.startswith("user_"))


def stored(admission: send.Admission) -> dict[str, Any]:
    ref = conversations.message_ref(admission.conversation.id, admission.answer.id)
    return ref.get().to_dict() or {}


def test_the_sweep_needs_an_operator(sweep: Any) -> None:
    assert sweep.post("/v1/sweeps", json={}).status_code == 401


def test_an_answer_pending_past_the_setting_is_failed_once_and_a_fresh_one_is_kept(
    sweep: Any, firestore_db: Any
) -> None:
    guest = new_guest()
    abandoned = pending_answer(guest, timedelta(minutes=31))
    streaming = pending_answer(guest, timedelta(minutes=5))

    first = sweep.post("/v1/sweeps", json={}, headers=OPERATOR)
    again = sweep.post("/v1/sweeps", json={}, headers=OPERATOR)

    assert first.status_code == 200
    assert first.get_json()["pendingFailed"] == 1
    assert again.get_json()["pendingFailed"] == 0
    answer = stored(abandoned)
    assert (answer["status"], answer["errorCode"]) == ("failed", "abandoned")
    # The dead run's reservation is given back; the live one's is still held.
    assert 0 < spend.tokens_spent_today(guest.user_id) == reserved(streaming)
    assert answer["completedAt"] is not None
    assert stored(streaming)["status"] == "pending"


def test_a_swept_answer_is_counted_as_a_failed_run(sweep: Any, firestore_db: Any) -> None:
    subscription = subscribe(chat_events.TOPIC)
    abandoned = pending_answer(new_guest(), timedelta(hours=2))

    sweep.post("/v1/sweeps", json={}, headers=OPERATOR)

    # Published at once when Pub/Sub answers, else left staged for the outbox relay.
    staged = [
        Event.model_validate(s.to_dict()["event"])
        for s in firestore_db.collection("outbox").stream()
    ]
    runs = [
        event.data_as(chat_events.ChatRunData)
        for event in pull_events(subscription) + staged
        if event.type == chat_events.RUN_FAILED
    ]
    assert [(r.message_id, r.outcome, r.error_code) for r in runs] == [
        (abandoned.answer.id, "failed", "abandoned")
    ]
    assert runs[0].agent_id == abandoned.agent.id


def test_an_abandoned_answer_left_by_a_deleted_conversation_is_deleted(
    sweep: Any, firestore_db: Any
) -> None:
    guest = new_guest()
    orphan = pending_answer(guest, timedelta(hours=1))
    conversations.conversation_ref(orphan.conversation.id).delete()  # its messages stay

    result = sweep.post("/v1/sweeps", json={}, headers=OPERATOR).get_json()

    assert result["pendingFailed"] == 0
    assert stored(orphan) == {}
    assert spend.tokens_spent_today(guest.user_id) == 0


def test_the_sweep_honours_the_setting(sweep: Any, settings: Any) -> None:
    settings(CHAT_PENDING_SWEEP_MINUTES="60", ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    guest = new_guest()
    recent = pending_answer(guest, timedelta(minutes=45))

    response = sweep.post("/v1/sweeps", json={}, headers=OPERATOR)

    assert response.get_json()["pendingFailed"] == 0
    assert stored(recent)["status"] == "pending"


def test_a_stream_waiting_on_an_abandoned_answer_ends_with_an_error_event_once_swept(
    sweep: Any, firestore_db: Any
) -> None:
    guest = new_guest()
    abandoned = pending_answer(guest, timedelta(hours=1))
    chat = load_function("functions/chat", "chat").app.test_client()
    path = f"/v1/conversations/{abandoned.conversation.id}/messages/{abandoned.answer.id}/events"
    frames: list[str] = []
    stream = chat.get(path, headers={**guest.headers, "Last-Event-ID": "0"}, buffered=False)
    reader = threading.Thread(
        target=lambda: frames.extend(chunk.decode() for chunk in stream.response)
    )
    reader.start()  # the answer is pending: the resume polls it

    time.sleep(0.5)
    sweep.post("/v1/sweeps", json={}, headers=OPERATOR)
    reader.join(timeout=15)

    assert not reader.is_alive(), "the resumed stream kept waiting"
    events = [
        line.split(": ", 1)[1] for line in "".join(frames).splitlines() if line.startswith("event:")
    ]
    assert events == ["error", "done"]
    assert '"code":"abandoned"' in "".join(frames)


# -- expired guests ----------------------------------------------------------------------


def legacy_agent(guest: Guest, age: timedelta) -> str:
    """An agent written before `expiresAt` existed: none on it, created `age` ago."""
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="Old", model="offline"))
    ref = agents.agent_ref(agent.id)
    assert "expiresAt" not in (ref.get().to_dict() or {})
    ref.update({"createdAt": utcnow() - age})
    return agent.id


def revoke(guest: Guest) -> None:
    sessions_ref = clients.firestore().collection(identity_sessions.COLLECTION)
    sessions_ref.document(identity_sessions.hash_token(guest.token)).delete()


def test_a_legacy_agent_of_a_guest_without_a_session_is_erased_after_the_retention(
    sweep: Any, firestore_db: Any, settings: Any
) -> None:
    settings(GUEST_DATA_RETENTION_DAYS="7", ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    gone, recent = new_guest(), new_guest()
    old_agent = legacy_agent(gone, timedelta(days=9))
    young_agent = legacy_agent(recent, timedelta(days=7))  # its session may have ended < 7 days ago
    conversation = conversations.create_conversation(gone.user_id, old_agent, "")
    revoke(gone)
    revoke(recent)

    first = sweep.post("/v1/sweeps", json={}, headers=OPERATOR).get_json()
    again = sweep.post("/v1/sweeps", json={}, headers=OPERATOR).get_json()

    assert (first["guestsErased"], again["guestsErased"]) == (1, 0)
    assert not agents.agent_ref(old_agent).get().exists
    assert (
        firestore_db.collection("limits").document(f"user_{gone.user_id}_agents").get().exists
        is False
    )
    assert agents.agent_ref(young_agent).get().exists
    assert not conversations.conversation_ref(conversation.id).get().exists


def test_a_legacy_agent_of_a_guest_with_a_live_session_is_kept_and_given_an_expiry(
    sweep: Any, firestore_db: Any, settings: Any
) -> None:
    settings(GUEST_DATA_RETENTION_DAYS="7", ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    guest = new_guest()
    agent_id = legacy_agent(guest, timedelta(days=30))
    session = firestore_db.collection("sessions").document(
        identity_sessions.hash_token(guest.token)
    )

    result = sweep.post("/v1/sweeps", json={}, headers=OPERATOR).get_json()

    assert (result["guestsErased"], result["guestsKept"]) == (0, 1)
    stored_agent = agents.agent_ref(agent_id).get()
    assert stored_agent.exists
    assert stored_agent.get("expiresAt") == session.get().get("expiresAt") + timedelta(days=7)


def test_a_guest_whose_data_expired_is_erased_before_ttl_gets_there(
    sweep: Any, firestore_db: Any, settings: Any
) -> None:
    settings(GUEST_DATA_RETENTION_DAYS="7", ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    expired, current = new_guest(), new_guest()
    body = agents.AgentCreate(name="A", model="offline")
    ended = agents.create_agent(expired.user_id, body, utcnow() - timedelta(days=8))
    live = agents.create_agent(current.user_id, body, utcnow() + timedelta(hours=1))
    revoke(expired)

    result = sweep.post("/v1/sweeps", json={}, headers=OPERATOR).get_json()

    assert result["guestsErased"] == 1
    assert not agents.agent_ref(ended.id).get().exists
    assert agents.agent_ref(live.id).get().exists
