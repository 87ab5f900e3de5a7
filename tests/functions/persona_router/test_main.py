"""persona_router through functions-framework: sessions in the Firestore emulator, the
offline model, and the real `anthropic` SDK against a local Messages API server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.emulators import Emulators
from shared.core import state
from tests.conftest import LoadedFunction, load_function
from tests.support.faults import frozen
from tests.support.guests import Guest, new_guest
from tests.support.messages_api import FakeMessagesApi, point_model_at

ROUTE_FIELDS = {
    "persona",
    "confidence",
    "secondary",
    "scores",
    "resonanceKey",
    "reasoning",
    "decidedBy",
    "unsure",
}


@pytest.fixture(scope="module")
def messages_server() -> Iterator[FakeMessagesApi]:
    fake = FakeMessagesApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    state.reset()
    yield
    monkeypatch.undo()
    state.reset()


@pytest.fixture
def function(firestore_db: Any, offline: None) -> LoadedFunction:
    return load_function("functions/persona_router", "persona_router")


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


@pytest.fixture
def guest(firestore_db: Any) -> Guest:
    return new_guest()


def test_personas_are_listed_with_their_style(client: Any, guest: Guest) -> None:
    response = client.get("/v1/personas", headers=guest.headers)

    assert response.status_code == 200
    personas = response.get_json()["personas"]
    assert [p["name"] for p in personas] == ["Lua", "Elro", "Riri", "Nana"]
    assert set(personas[0]) == {"name", "title", "description", "styleSummary", "tones"}
    assert personas[0]["tones"] == ["frustrated", "anxious", "playful"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v1/personas"), ("post", "/v1/personas/route"), ("post", "/v1/personas/chat")],
)
def test_every_route_needs_a_session(client: Any, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"message": "hello"})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_route_answers_persona_scores_and_reasoning(client: Any, guest: Guest) -> None:
    response = client.post(
        "/v1/personas/route",
        json={"message": "Our conversion rate fell 2% last week; how do we find out why?"},
        headers=guest.headers,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == ROUTE_FIELDS
    assert body["persona"] == "Riri"
    assert body["confidence"] == max(body["scores"].values())
    assert abs(sum(body["scores"].values()) - 1) < 1e-9
    assert body["secondary"] in body["scores"]
    assert body["resonanceKey"].count("-") == 2
    assert body["reasoning"].startswith("Riri")


def test_route_is_deterministic(client: Any, guest: Guest) -> None:
    message = {"message": "팀원들 일정 조율 좀 같이 해줄래요?"}

    first = client.post("/v1/personas/route", json=message, headers=guest.headers).get_json()
    second = client.post("/v1/personas/route", json=message, headers=guest.headers).get_json()

    assert first == second


@pytest.mark.parametrize(
    "body",
    [{"message": ""}, {"message": "   \n\t"}, {}, {"message": "x" * 10_001}, {"message": 42}],
    ids=["empty", "whitespace", "missing", "too-long", "not-a-string"],
)
def test_route_refuses_bad_messages_with_400(client: Any, guest: Guest, body: Any) -> None:
    response = client.post("/v1/personas/route", json=body, headers=guest.headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert response.get_json()["error"]["details"][0]["field"] == "message"


def test_route_accepts_the_longest_message(client: Any, guest: Guest) -> None:
    response = client.post(
        "/v1/personas/route", json={"message": "😅" * 10_000}, headers=guest.headers
    )

    assert response.status_code == 200


def test_route_refuses_unknown_fields(client: Any, guest: Guest) -> None:
    response = client.post(
        "/v1/personas/route", json={"message": "hi", "persona": "Lua"}, headers=guest.headers
    )

    assert response.status_code == 400


def test_chat_answers_offline_in_the_routed_persona(client: Any, guest: Guest) -> None:
    response = client.post(
        "/v1/personas/chat",
        json={"message": "I'm scared my first short story is terrible"},
        headers=guest.headers,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["persona"] == "Lua"
    assert body["model"] == "offline"
    assert body["content"]
    assert 0 < body["confidence"] <= 1
    assert set(body["metadata"]) == {"rhythm", "tone", "routing"}
    assert body["metadata"]["rhythm"]["pace"] in {"fast", "medium", "slow"}
    assert body["metadata"]["tone"]["source"] == "rules"
    routing = body["metadata"]["routing"]
    assert routing["persona"] == "Lua" and routing["resonanceKey"] == body["resonanceKey"]
    assert body["usage"]["outputTokens"] > 0


def test_chat_spends_the_users_daily_token_budget(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    response = client.post(
        "/v1/personas/chat", json={"message": "How does TLS work?"}, headers=guest.headers
    )

    usage = response.get_json()["usage"]
    from shared.limits import spend

    assert spend.tokens_spent_today(guest.user_id) == usage["inputTokens"] + usage["outputTokens"]


def test_chat_sends_the_persona_style_as_system_prompt(
    client: Any, guest: Guest, messages_server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages_server.reset()
    messages_server.reply = "Let's lay out the options."
    point_model_at(monkeypatch, messages_server)

    response = client.post(
        "/v1/personas/chat",
        json={"message": "Should we split the monolith into microservices?"},
        headers=guest.headers,
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["persona"], body["content"]) == ("Elro", "Let's lay out the options.")
    sent = messages_server.requests[0].body
    assert sent["system"][0]["text"].startswith("You are Elro")
    assert sent["messages"] == [
        {"role": "user", "content": "Should we split the monolith into microservices?"}
    ]
    assert sent["model"] == body["model"]


def test_chat_shares_the_per_user_message_limit(
    client: Any, guest: Guest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MESSAGES_PER_MINUTE", "1")
    state.reset()

    first = client.post("/v1/personas/chat", json={"message": "hi"}, headers=guest.headers)
    second = client.post("/v1/personas/chat", json={"message": "hi"}, headers=guest.headers)

    assert (first.status_code, second.status_code) == (200, 429)
    assert int(second.headers["Retry-After"]) >= 1


def test_chat_maps_a_model_outage_to_503(
    client: Any, guest: Guest, messages_server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages_server.reset()
    messages_server.fail = 529
    point_model_at(monkeypatch, messages_server, ANTHROPIC_MAX_RETRIES="0")

    response = client.post("/v1/personas/chat", json={"message": "hi"}, headers=guest.headers)

    assert response.status_code == 503
    assert "Retry-After" in response.headers


def test_openapi_lists_the_persona_routes(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    assert set(document["paths"]) == {
        "/v1/personas",
        "/v1/personas/route",
        "/v1/personas/chat",
    }


# -- the chat route's own budget (PERSONA_CHAT_DEADLINE_SECONDS) --------------------------


def test_chat_with_firestore_frozen_is_503_within_its_budget(
    client: Any, guest: Guest, emulators: Emulators, settings: Callable[..., None]
) -> None:
    settings(PERSONA_CHAT_DEADLINE_SECONDS="2")

    with frozen(emulators.firestore_port):
        started = time.monotonic()
        response = client.post("/v1/personas/chat", json={"message": "hi"}, headers=guest.headers)
        elapsed = time.monotonic() - started

    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "unavailable"
    assert elapsed < 3.5


def test_chat_with_a_model_that_never_answers_is_503_within_its_budget(
    client: Any, guest: Guest, messages_server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages_server.reset()
    messages_server.fail, messages_server.first_chunk_delay = "hang", 6.0
    point_model_at(
        monkeypatch,
        messages_server,
        PERSONA_CHAT_DEADLINE_SECONDS="2",
        ANTHROPIC_TIMEOUT_SECONDS="4",
        ANTHROPIC_MAX_RETRIES="0",
    )

    started = time.monotonic()
    response = client.post("/v1/personas/chat", json={"message": "hi"}, headers=guest.headers)
    elapsed = time.monotonic() - started
    messages_server.reset()

    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < 3.5


def _persona_chat(client: Any, guest: Guest, address: str = "198.51.100.7") -> Any:
    return client.post(
        "/v1/personas/chat",
        json={"message": "How should we shard the Postgres database?"},
        headers=guest.headers,
        environ_base={"REMOTE_ADDR": address},
    )


def _global_tokens_today() -> int:
    from shared.core.models import utcnow
    from shared.limits import spend

    day = utcnow().date().isoformat()
    shards = spend.get_spend_settings().chat_token_budget_shards
    return sum(spend.count(f"global_{shard}_tokens_{day}") for shard in range(shards))


def test_chat_never_spends_past_the_deployments_daily_budget(
    client: Any, guest: Guest, settings: Callable[..., None], firestore_db: Any
) -> None:
    from shared.limits import spend

    settings(CHAT_TOKENS_PER_DAY_GLOBAL="12000", CHAT_TOKEN_BUDGET_SHARDS="1")
    first = _persona_chat(client, guest)
    spend.add(spend.token_meters(None, "", 11_000 - _global_tokens_today(), 0))

    refused = [_persona_chat(client, new_guest()) for _ in range(3)]

    assert first.status_code == 200
    assert [r.status_code for r in refused] == [429] * 3
    assert "deployment" in refused[0].get_json()["error"]["message"]
    assert _global_tokens_today() == 11_000


def test_chat_counts_on_the_client_address_message_rate(
    client: Any, guest: Guest, settings: Callable[..., None]
) -> None:
    settings(CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE="3", CHAT_MESSAGES_PER_MINUTE="0")
    others = [new_guest() for _ in range(3)]

    statuses = [_persona_chat(client, g).status_code for g in [guest, *others]]
    elsewhere = _persona_chat(client, guest, address="198.51.100.99")

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200


def test_chat_spends_the_client_addresses_daily_tokens(
    client: Any, guest: Guest, settings: Callable[..., None]
) -> None:
    from shared.core.models import utcnow
    from shared.limits import spend

    settings(CHAT_TOKENS_PER_ADDRESS_PER_DAY="1000000")
    response = _persona_chat(client, guest)

    usage = response.get_json()["usage"]
    day = utcnow().date().isoformat()
    address_meter = f"addr_{spend.address_key('198.51.100.7')}_tokens_{day}"
    assert spend.count(address_meter) == usage["inputTokens"] + usage["outputTokens"]
    assert _global_tokens_today() == usage["inputTokens"] + usage["outputTokens"]


def test_chat_refused_by_a_budget_calls_no_model(
    client: Any,
    guest: Guest,
    messages_server: FakeMessagesApi,
    monkeypatch: pytest.MonkeyPatch,
    settings: Callable[..., None],
) -> None:
    messages_server.reset()
    point_model_at(monkeypatch, messages_server)
    settings(CHAT_TOKENS_PER_ADDRESS_PER_DAY="100")

    response = _persona_chat(client, guest)

    assert response.status_code == 429
    assert "client address" in response.get_json()["error"]["message"]
    assert messages_server.requests == []


# -- the cascade: an unsure offline reading asks the model once --------------------------


@pytest.fixture
def cascade(
    messages_server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch, offline: None
) -> FakeMessagesApi:
    messages_server.reset()
    point_model_at(
        monkeypatch,
        messages_server,
        PERSONA_ROUTE_MIN_CONFIDENCE="0.99",  # every offline reading is unsure
        PERSONA_ROUTE_MODEL_TIMEOUT_SECONDS="0.5",
        ANTHROPIC_MAX_RETRIES="0",
    )
    state.reset()
    messages_server.tool_use = {"name": "choose_persona", "input": {"persona": "Riri"}}
    return messages_server


def _route(client: Any, guest: Guest, message: str = "hmm, what now?") -> Any:
    return client.post("/v1/personas/route", json={"message": message}, headers=guest.headers)


def test_an_unsure_route_asks_the_model_once_with_the_personas_as_an_enum(
    client: Any, guest: Guest, cascade: FakeMessagesApi
) -> None:
    from shared.limits import spend

    response = _route(client, guest)

    body = response.get_json()
    assert response.status_code == 200
    assert (body["persona"], body["decidedBy"], body["unsure"]) == ("Riri", "model", False)
    [request] = cascade.requests
    [tool] = request.body["tools"]
    assert tool["input_schema"]["properties"]["persona"]["enum"] == ["Lua", "Elro", "Riri", "Nana"]
    assert request.body["tool_choice"] == {"type": "tool", "name": "choose_persona"}
    assert request.body["model"] == "claude-haiku-4-5"
    assert spend.tokens_spent_today(guest.user_id) > 0  # counted on the guest's bounds


def test_a_sure_route_makes_no_model_call(
    client: Any, guest: Guest, cascade: FakeMessagesApi, settings: Callable[..., None]
) -> None:
    settings(PERSONA_ROUTE_MIN_CONFIDENCE="0")

    body = _route(client, guest, "How should we shard the Postgres database?").get_json()

    assert (body["persona"], body["decidedBy"], body["unsure"]) == ("Elro", "rules", False)
    assert cascade.requests == []


@pytest.mark.parametrize("failure", ["down", "slow", "off-enum"])
def test_a_failing_model_leaves_the_offline_answer(
    client: Any, guest: Guest, cascade: FakeMessagesApi, failure: str
) -> None:
    if failure == "down":
        cascade.fail = 529
    elif failure == "slow":
        cascade.first_chunk_delay = 3.0  # past the 0.5 s the cascade may take
    else:
        cascade.tool_use = {"name": "choose_persona", "input": {"persona": "Mallory"}}

    response = _route(client, guest)

    body = response.get_json()
    assert response.status_code == 200
    assert (body["persona"], body["decidedBy"], body["unsure"]) == ("Nana", "rules", True)
    assert "unsure" in body["reasoning"]
    assert len(cascade.requests) == 1


def test_a_spent_budget_skips_the_cascade(
    client: Any, guest: Guest, cascade: FakeMessagesApi, settings: Callable[..., None]
) -> None:
    settings(CHAT_TOKENS_PER_DAY="10")

    body = _route(client, guest).get_json()

    assert (body["decidedBy"], body["unsure"]) == ("rules", True)
    assert cascade.requests == []
