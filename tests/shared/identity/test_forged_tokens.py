"""A token that names someone else's user id learns nothing, not even how much they have."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bench import cost, opcount
from shared.agents import store
from shared.core import errors
from shared.gcp import clients
from shared.identity import auth, sessions
from tests.conftest import load_function

AGENTS = 100


@pytest.fixture
def counting(firestore_db: Any) -> Iterator[None]:
    opcount.install()
    yield
    opcount.uninstall()


@pytest.fixture
def client(firestore_db: Any) -> Any:
    return load_function("functions/agents", "agents").app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def request_bearing(token: str) -> Request:
    return Request(EnvironBuilder(headers=bearer(token)).get_environ())


def victim_with_agents(client: Any) -> sessions.Principal:
    token, victim = sessions.create_session()
    made = client.post("/v1/agents", json={"name": "first"}, headers=bearer(token))
    assert made.status_code == 201, made.get_data(as_text=True)
    agent = clients.firestore().collection("agents").document(made.get_json()["id"])
    template = agent.get().to_dict()
    cost.seed_agents(victim.user_id, template, AGENTS - 1)
    listed = client.get(f"/v1/agents?limit={AGENTS}", headers=bearer(token))
    assert len(listed.get_json()["agents"]) == AGENTS
    return victim


def test_a_forged_token_for_a_user_with_many_agents_is_401_before_any_agent_is_read(
    client: Any, counting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = victim_with_agents(client)
    # The side read waits until the answer is out: an edge that waited for it would read
    # the victim's agents (after 10 s) before answering.
    answered, started = threading.Event(), []
    page = store.agent_page

    def page_after_the_answer(*args: Any) -> Any:
        started.append(args[0])
        answered.wait(10)
        return page(*args)

    monkeypatch.setattr(store, "agent_page", page_after_the_answer)
    forged = f"gst_{secrets.token_urlsafe(32)}.{victim.user_id}"
    before = opcount.snapshot()

    answer = client.get(f"/v1/agents?limit={AGENTS}", headers=bearer(forged))
    read_for_the_answer = opcount.snapshot()["reads"] - before["reads"]
    answered.set()

    assert answer.status_code == 401
    assert read_for_the_answer == 1  # the session's document (missing), none of the agents
    assert started == []  # a token never confirmed here starts no read of the user it names
    assert victim.user_id not in answer.get_data(as_text=True)


def test_a_live_token_still_reads_its_page_alongside_its_session_check(
    client: Any, counting: None, settings: Any
) -> None:
    token, _ = sessions.create_session()
    client.post("/v1/agents", json={"name": "mine"}, headers=bearer(token))
    settings(SESSION_CACHE_SECONDS="0")  # every request checks its session again
    before = opcount.snapshot()

    answer = client.get("/v1/agents?limit=10", headers=bearer(token))

    assert answer.status_code == 200
    assert [agent["name"] for agent in answer.get_json()["agents"]] == ["mine"]
    assert opcount.snapshot()["reads"] - before["reads"] >= 2  # the session and the page
    assert auth.claim(request_bearing(token)) is not None  # read alongside its check


def test_a_token_never_confirmed_here_claims_nothing(firestore_db: Any) -> None:
    _, victim = sessions.create_session()
    forged = f"gst_{secrets.token_urlsafe(32)}.{victim.user_id}"

    assert auth.claim(request_bearing(forged)) is None


def test_a_token_confirmed_here_is_read_alongside_once_its_cache_time_is_over(
    firestore_db: Any, settings: Any
) -> None:
    settings(SESSION_CACHE_SECONDS="0")
    token, principal = sessions.create_session()
    request = request_bearing(token)
    before = auth.claim(request)

    auth.authenticate(request)

    assert before is None
    assert auth.claim(request) == auth.Claim(principal.user_id)


def test_a_session_the_cache_still_trusts_claims_nothing(firestore_db: Any) -> None:
    token, _ = sessions.create_session()
    request = request_bearing(token)

    auth.authenticate(request)

    assert auth.claim(request) is None  # answered from the cache, nothing to overlap


def test_a_refused_token_is_forgotten_and_claims_nothing_again(
    firestore_db: Any, settings: Any
) -> None:
    settings(SESSION_CACHE_SECONDS="0")
    token, principal = sessions.create_session()
    request = request_bearing(token)
    auth.authenticate(request)
    sessions.revoke_session(principal)

    with pytest.raises(errors.Unauthenticated):
        auth.authenticate(request)

    assert auth.claim(request) is None
