"""The agents HTTP function through functions-framework against the Firestore emulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from google.cloud.firestore import FieldFilter

from shared.agents import stats as agent_stats
from shared.agents import store as agents
from shared.llm.settings import DEFAULT_MODEL
from shared.messaging.topics.chat_events import ChatRunData
from tests.conftest import LoadedFunction, load_function
from tests.functions.agents.payloads import golden_event
from tests.support.guests import Guest, new_guest


@pytest.fixture
def function(firestore_db: Any) -> LoadedFunction:
    return load_function("functions/agents", "agents")


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


@pytest.fixture
def guest(firestore_db: Any) -> Guest:
    return new_guest()


def create(client: Any, guest: Guest, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/agents", json={"name": "Helper", **fields}, headers=guest.headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def count_run(agent: dict[str, Any], guest: Guest, outcome: str = "completed") -> None:
    event = golden_event(
        "chat_run_completed", agent_id=agent["id"], user_id=guest.user_id, outcome=outcome
    )
    run = event.data_as(ChatRunData)
    assert agent_stats.record_run(agents.agent_ref(agent["id"]), event, run) == "counted"


def test_create_answers_201_with_defaults_and_stores_the_contract_fields(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    body = create(client, guest, systemPrompt="Be brief.", tags=["support", "support", "faq"])

    assert body["id"].startswith("agt_") and len(body["id"]) == 28
    assert body["name"] == "Helper"
    assert body["tags"] == ["support", "faq"]
    assert body["model"] == DEFAULT_MODEL
    assert body["persona"] is None
    assert body["status"] == "active"
    assert body["stats"] == {
        "totalRuns": 0,
        "successfulRuns": 0,
        "failedRuns": 0,
        "lastRunAt": None,
        "inputTokens": 0,
        "outputTokens": 0,
        "avgLatencyMs": 0.0,
    }
    stored = firestore_db.collection("agents").document(body["id"]).get().to_dict()
    assert set(stored) == {
        "userId",
        "name",
        "description",
        "tags",
        "color",
        "icon",
        "systemPrompt",
        "model",
        "persona",
        "status",
        "tools",
        "createdAt",
        "updatedAt",
        "expiresAt",  # the session's expiry + GUEST_DATA_RETENTION_DAYS (Firestore TTL)
    }
    assert stored["userId"] == guest.user_id
    assert stored["systemPrompt"] == "Be brief."


def test_get_owned_agent_reads_what_the_api_created(client: Any, guest: Guest) -> None:
    body = create(client, guest, persona="riri", model="offline", systemPrompt="Hi.")

    record = agents.get_owned_agent(guest.user_id, body["id"])

    assert (record.id, record.user_id, record.name) == (body["id"], guest.user_id, "Helper")
    assert (record.system_prompt, record.model, record.persona) == ("Hi.", "offline", "Riri")
    assert record.status == "active" and record.active


def test_persona_is_accepted_in_any_case_and_stored_canonical(client: Any, guest: Guest) -> None:
    assert create(client, guest, persona="LUA")["persona"] == "Lua"
    assert create(client, guest, persona="Auto")["persona"] == "auto"
    assert create(client, guest, persona=None)["persona"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["x" * 41]}, "tags.0"),
        ({"color": "red"}, "color"),
        ({"color": "#12345G"}, "color"),
        ({"persona": "Zed"}, "persona"),
        ({"model": ""}, "model"),
        ({"status": "deleted"}, "status"),
        ({"owner": "someone"}, "owner"),
    ],
    ids=[
        "empty-name",
        "blank-name",
        "long-name",
        "21-tags",
        "long-tag",
        "color-word",
        "color-not-hex",
        "unknown-persona",
        "empty-model",
        "unknown-status",
        "unknown-field",
    ],
)
def test_invalid_fields_are_a_400_naming_the_field(
    client: Any, guest: Guest, firestore_db: Any, fields: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/agents", json={"name": "ok", **fields}, headers=guest.headers)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert field in [detail["field"] for detail in error["details"]]
    assert list(firestore_db.collection("agents").stream()) == []


def test_routes_require_a_session(client: Any, guest: Guest) -> None:
    agent = create(client, guest)

    assert client.post("/v1/agents", json={"name": "x"}).status_code == 401
    assert client.get("/v1/agents").status_code == 401
    assert client.get(f"/v1/agents/{agent['id']}").status_code == 401
    assert client.get("/v1/dashboard/stats").status_code == 401


def test_patch_changes_only_the_fields_sent(client: Any, guest: Guest) -> None:
    agent = create(client, guest, description="first", persona="Elro", color="#aabbcc")

    response = client.patch(
        f"/v1/agents/{agent['id']}", json={"name": "Renamed"}, headers=guest.headers
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Renamed"
    assert body["description"] == "first"
    assert body["persona"] == "Elro"
    assert body["color"] == "#AABBCC"
    assert body["createdAt"] == agent["createdAt"]
    assert datetime.fromisoformat(body["updatedAt"]) > datetime.fromisoformat(agent["updatedAt"])
    assert client.get(f"/v1/agents/{agent['id']}", headers=guest.headers).get_json() == body


def test_patch_with_persona_null_clears_it_and_pause_is_stored(client: Any, guest: Guest) -> None:
    agent = create(client, guest, persona="Nana")

    response = client.patch(
        f"/v1/agents/{agent['id']}",
        json={"persona": None, "status": "paused"},
        headers=guest.headers,
    )

    assert response.status_code == 200
    assert response.get_json()["persona"] is None
    record = agents.get_owned_agent(guest.user_id, agent["id"])
    assert (record.persona, record.status, record.active) == (None, "paused", False)


def test_patch_refuses_null_for_a_required_field(client: Any, guest: Guest) -> None:
    agent = create(client, guest)

    response = client.patch(f"/v1/agents/{agent['id']}", json={"name": None}, headers=guest.headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "name"
    assert client.get(f"/v1/agents/{agent['id']}", headers=guest.headers).get_json() == agent


def test_delete_removes_the_agent_and_its_stat_shards(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    agent = create(client, guest)
    count_run(agent, guest)
    shards = firestore_db.collection("agents").document(agent["id"]).collection("statShards")
    assert len(list(shards.stream())) == 1

    response = client.delete(f"/v1/agents/{agent['id']}", headers=guest.headers)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(f"/v1/agents/{agent['id']}", headers=guest.headers).status_code == 404
    assert client.delete(f"/v1/agents/{agent['id']}", headers=guest.headers).status_code == 404
    assert list(shards.stream()) == []
    assert not firestore_db.collection("agents").document(agent["id"]).get().exists


def test_another_guest_gets_404_everywhere_and_changes_nothing(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    agent = create(client, guest, name="Mine")
    other = new_guest()
    path = f"/v1/agents/{agent['id']}"

    read = client.get(path, headers=other.headers)
    patched = client.patch(path, json={"name": "Stolen"}, headers=other.headers)
    deleted = client.delete(path, headers=other.headers)

    assert [read.status_code, patched.status_code, deleted.status_code] == [404, 404, 404]
    assert read.get_json()["error"]["code"] == "not_found"
    assert "Mine" not in read.get_data(as_text=True) + patched.get_data(as_text=True)
    assert client.get(path, headers=guest.headers).get_json() == agent
    assert client.get("/v1/agents", headers=other.headers).get_json() == {
        "agents": [],
        "nextPageToken": None,
    }
    assert client.get("/v1/dashboard/stats", headers=other.headers).get_json()["totalAgents"] == 0


@pytest.mark.parametrize("agent_id", ["nope", "agt_" + "z" * 24, "agt_" + "0" * 24])
def test_unknown_or_malformed_ids_are_404(client: Any, guest: Guest, agent_id: str) -> None:
    assert client.get(f"/v1/agents/{agent_id}", headers=guest.headers).status_code == 404


def test_list_pages_newest_first_through_every_agent_once(client: Any, guest: Guest) -> None:
    created = [create(client, guest, name=f"a{i}")["id"] for i in range(7)]
    create(client, new_guest(), name="someone else's")

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": 3} | ({"pageToken": token} if token else {})
        response = client.get("/v1/agents", query_string=query, headers=guest.headers)
        assert response.status_code == 200
        body = response.get_json()
        seen += [agent["id"] for agent in body["agents"]]
        pages += 1
        token = body["nextPageToken"]
        if token is None:
            break

    assert seen == list(reversed(created))
    assert pages == 3


def test_list_defaults_to_20(client: Any, guest: Guest) -> None:
    for i in range(21):
        create(client, guest, name=f"a{i}")

    body = client.get("/v1/agents", headers=guest.headers).get_json()

    assert len(body["agents"]) == 20
    assert body["nextPageToken"]


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 101}, {"limit": "many"}, {"pageToken": "not-a-token"}, {"x": 1}],
    ids=["limit-0", "limit-101", "limit-word", "bad-token", "unknown-param"],
)
def test_bad_list_queries_are_a_400(client: Any, guest: Guest, query: dict[str, Any]) -> None:
    response = client.get("/v1/agents", query_string=query, headers=guest.headers)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_list_and_get_include_the_summed_stats(client: Any, guest: Guest) -> None:
    agent = create(client, guest)
    count_run(agent, guest, "completed")
    count_run(agent, guest, "failed")

    listed = client.get("/v1/agents", headers=guest.headers).get_json()["agents"][0]["stats"]
    fetched = client.get(f"/v1/agents/{agent['id']}", headers=guest.headers).get_json()["stats"]

    assert listed == fetched
    assert (fetched["totalRuns"], fetched["successfulRuns"], fetched["failedRuns"]) == (2, 1, 1)
    assert (fetched["inputTokens"], fetched["outputTokens"]) == (2400, 700)
    assert fetched["avgLatencyMs"] == pytest.approx(2150.5)
    assert fetched["lastRunAt"].startswith("2026-11-22T00:00:01.2")


def test_dashboard_totals_cover_only_the_callers_agents(client: Any, guest: Guest) -> None:
    first = create(client, guest)
    create(client, guest, status="paused")
    count_run(first, guest, "completed")
    count_run(first, guest, "completed")
    count_run(first, guest, "failed")
    count_run(first, guest, "incomplete")
    other = new_guest()
    other_agent = create(client, other)
    count_run(other_agent, other, "failed")

    body = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()

    assert body == {"totalAgents": 2, "activeAgents": 1, "totalRuns": 4, "successRate": 0.5}


def test_dashboard_success_rate_is_null_before_any_run(client: Any, guest: Guest) -> None:
    create(client, guest)

    body = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()

    assert body == {"totalAgents": 1, "activeAgents": 1, "totalRuns": 0, "successRate": None}


def test_openapi_lists_every_agents_route(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    assert set(document["paths"]) == {
        "/v1/agents",
        "/v1/agents/{agentId}",
        "/v1/dashboard/stats",
        "/v1/me",
    }
    assert set(document["paths"]["/v1/agents/{agentId}"]) == {"get", "patch", "delete"}
    public = document["components"]["schemas"]["AgentPublic"]["properties"]
    assert {"systemPrompt", "createdAt", "stats"} <= set(public)


def test_the_same_idempotency_key_twice_creates_one_agent(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    headers = {**guest.headers, "Idempotency-Key": "create-helper-1"}

    first = client.post("/v1/agents", json={"name": "Helper"}, headers=headers)
    again = client.post("/v1/agents", json={"name": "Helper"}, headers=headers)
    changed = client.post("/v1/agents", json={"name": "Other"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    stored = [s.id for s in firestore_db.collection("agents").stream()]
    assert stored == [first.get_json()["id"]]


def test_a_stale_if_match_is_412_and_changes_nothing(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    agent = create(client, guest)
    url = f"/v1/agents/{agent['id']}"
    etag = client.get(url, headers=guest.headers).headers["ETag"]
    renamed = client.patch(
        url, json={"name": "Renamed"}, headers={**guest.headers, "If-Match": etag}
    )

    stale_patch = client.patch(
        url, json={"name": "Lost update"}, headers={**guest.headers, "If-Match": etag}
    )
    stale_delete = client.delete(url, headers={**guest.headers, "If-Match": etag})
    bogus = client.patch(url, json={"name": "x"}, headers={**guest.headers, "If-Match": '"bogus"'})

    assert renamed.status_code == 200 and renamed.headers["ETag"] != etag
    assert stale_patch.status_code == stale_delete.status_code == bogus.status_code == 412
    assert stale_patch.get_json()["error"]["code"] == "precondition_failed"
    stored = firestore_db.collection("agents").document(agent["id"]).get().to_dict()
    assert stored["name"] == "Renamed"
    current = {**guest.headers, "If-Match": renamed.headers["ETag"]}
    assert client.delete(url, headers=current).status_code == 204


# -- spend bounds -----------------------------------------------------------------------


def test_a_model_outside_the_allowlist_is_refused_with_400(
    client: Any, guest: Guest, settings: Any, firestore_db: Any
) -> None:
    settings(CHAT_ALLOWED_MODELS="claude-haiku-4-5")

    refused = client.post(
        "/v1/agents", json={"name": "A", "model": "claude-opus-4-1"}, headers=guest.headers
    )
    patched = client.patch(
        f"/v1/agents/{create(client, guest, model='offline')['id']}",
        json={"model": "any-model-name-at-all"},
        headers=guest.headers,
    )

    assert refused.status_code == 400
    assert "not allowed" in refused.get_data(as_text=True)
    assert patched.status_code == 400
    assert create(client, guest, model="claude-haiku-4-5")["model"] == "claude-haiku-4-5"
    assert create(client, guest)["model"] == DEFAULT_MODEL  # the default is always allowed
    assert len(list(firestore_db.collection("agents").stream())) == 3


def test_agents_per_guest_are_capped_and_deleting_one_frees_a_place(
    client: Any, guest: Guest, settings: Any, firestore_db: Any
) -> None:
    settings(AGENTS_PER_GUEST="2")
    first = create(client, guest)
    create(client, guest)

    refused = client.post("/v1/agents", json={"name": "Third"}, headers=guest.headers)
    client.delete(f"/v1/agents/{first['id']}", headers=guest.headers)
    again = client.post("/v1/agents", json={"name": "Third"}, headers=guest.headers)
    other = create(client, new_guest())

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "agents per guest" in refused.get_json()["error"]["message"]
    assert again.status_code == 201
    assert other["name"] == "Helper"


# -- dashboard totals kept as they change --------------------------------------------------


def test_dashboard_follows_pauses_resumes_deletions_and_runs(client: Any, guest: Guest) -> None:
    first = create(client, guest)
    second = create(client, guest)
    count_run(first, guest, "completed")
    count_run(second, guest, "failed")
    path = f"/v1/agents/{second['id']}"
    client.patch(path, json={"status": "paused"}, headers=guest.headers)
    client.patch(path, json={"status": "paused"}, headers=guest.headers)  # no change: no count
    paused = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()
    client.patch(path, json={"status": "active"}, headers=guest.headers)
    client.delete(f"/v1/agents/{first['id']}", headers=guest.headers)

    body = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()

    assert paused == {"totalAgents": 2, "activeAgents": 1, "totalRuns": 2, "successRate": 0.5}
    assert body == {"totalAgents": 1, "activeAgents": 1, "totalRuns": 1, "successRate": 0.0}


def test_dashboard_reads_two_documents_however_many_agents(
    client: Any, guest: Guest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud.firestore_v1.client import Client

    for n in range(30):
        create(client, guest, name=f"Agent {n}")
    read: list[int] = []
    original = Client.get_all

    def counting(self: Client, references: Any, *args: Any, **kwargs: Any) -> Any:
        references = list(references)
        read.append(len(references))
        return original(self, references, *args, **kwargs)

    monkeypatch.setattr(Client, "get_all", counting)
    body = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()

    assert body["totalAgents"] == 30
    assert read == [2]


# -- text fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "bad\x00name",
        "bell\x07",
        "line\nbreak",
        "\u202egnp.exe",
        "\u2066isolated\u2069",
        "\u200b\u200b",
    ],
)
def test_names_refuse_control_bidi_and_invisible_only_text(
    client: Any, guest: Guest, name: str, firestore_db: Any
) -> None:
    refused = client.post("/v1/agents", json={"name": name}, headers=guest.headers)

    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"][0]["field"] == "name"
    assert list(firestore_db.collection("agents").stream()) == []


def test_prompts_keep_line_breaks_and_tabs_but_refuse_nul(client: Any, guest: Guest) -> None:
    kept = create(client, guest, systemPrompt="Line one\n\tLine two", name="Ünïcödé 名前 ✓")
    refused = client.post(
        "/v1/agents", json={"name": "A", "systemPrompt": "x\x00y"}, headers=guest.headers
    )

    assert kept["systemPrompt"] == "Line one\n\tLine two"
    assert kept["name"] == "Ünïcödé 名前 ✓"
    assert refused.status_code == 400


# -- erasing a guest --------------------------------------------------------------------


def test_erasing_me_removes_my_data_and_refuses_my_tokens(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    from shared.chat import conversations, send

    other = new_guest()
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="Mine", model="offline"))
    conversation = conversations.create_conversation(guest.user_id, agent.id, "")
    send.admit(guest.user_id, conversation.id, "hello")
    kept = create(client, other)

    erased = client.delete("/v1/me", headers=guest.headers)

    assert erased.status_code == 204
    assert client.get("/v1/agents", headers=guest.headers).status_code == 401
    assert not agents.agent_ref(agent.id).get().exists
    mine = FieldFilter("userId", "==", guest.user_id)
    sessions = firestore_db.collection("sessions").where(filter=mine)
    assert list(sessions.stream()) == []
    assert client.get(f"/v1/agents/{kept['id']}", headers=other.headers).status_code == 200


def test_erasing_me_forgets_my_idempotency_keys(
    client: Any, guest: Guest, firestore_db: Any
) -> None:
    other = new_guest()
    key = {"Idempotency-Key": "create-agent-1"}
    created = client.post(
        "/v1/agents", json={"name": "Kept once"}, headers={**guest.headers, **key}
    )
    theirs = client.post("/v1/agents", json={"name": "Theirs"}, headers={**other.headers, **key})
    assert (created.status_code, theirs.status_code) == (201, 201)

    erased = client.delete("/v1/me", headers=guest.headers)

    assert erased.status_code == 204
    records = [s.to_dict() for s in firestore_db.collection("idempotency_keys").stream()]
    assert len(records) == 1  # only the other guest's key is kept
    assert "Kept once" not in str(records)


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/dashboard/stats", "/v1/agents/{id}"])
def test_a_token_naming_another_guest_reads_alongside_but_answers_401(
    client: Any, guest: Guest, path: str, settings: Any
) -> None:
    settings(SESSION_CACHE_SECONDS="0")  # every request reads its session, alongside
    victim = new_guest()
    secret = create(client, victim, name="Victim's agent")
    forged = guest.token.split(".")[0] + "." + victim.user_id
    answer = client.get(path.format(id=secret["id"]), headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert "Victim" not in answer.get_data(as_text=True)
    own = client.get(path.format(id=secret["id"]), headers=victim.headers)
    assert own.status_code == 200


def test_session_tokens_name_their_owner(firestore_db: Any) -> None:
    from shared.identity import sessions

    token, principal = sessions.create_session()
    assert token.endswith("." + principal.user_id)
    assert sessions.claimed_user_id(token) == principal.user_id
    assert sessions.claimed_user_id("gst_" + "A" * 43) is None  # older tokens still parse


def test_a_create_refused_at_the_cap_leaves_no_agent_and_no_count(
    client: Any, guest: Guest, settings: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings(AGENTS_PER_GUEST="3")

    def attempt(index: int) -> int:
        body = {"name": f"Racer {index}"}
        return int(client.post("/v1/agents", json=body, headers=guest.headers).status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))

    listed = client.get("/v1/agents", headers=guest.headers).get_json()["agents"]
    totals = client.get("/v1/dashboard/stats", headers=guest.headers).get_json()
    assert statuses == [201] * 3 + [429] * 5
    assert len(listed) == 3
    assert (totals["totalAgents"], totals["activeAgents"]) == (3, 3)


def test_erasing_me_goes_on_past_an_agent_deleted_meanwhile(
    guest: Guest, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.chat import erasure

    made = [agents.create_agent(guest.user_id, agents.AgentCreate(name=f"A{n}")) for n in range(3)]
    listed = agents.list_agents(guest.user_id, 100)
    agents.delete_agent(guest.user_id, made[1].id)  # another request deletes one first
    calls = iter([listed, ([], None)])
    monkeypatch.setattr(erasure.agents, "list_agents", lambda *_: next(calls))

    erased = erasure.erase_guest(guest.user_id)

    assert erased["agents"] == 3
    assert not any(agents.agent_ref(agent.id).get().exists for agent in made)


@pytest.mark.parametrize("if_match", ["*", '"0123456789abcdef01234567"'])
def test_if_match_on_a_create_is_412_and_creates_nothing(
    client: Any, guest: Guest, if_match: str
) -> None:
    refused = client.post(
        "/v1/agents", json={"name": "Never"}, headers={**guest.headers, "If-Match": if_match}
    )

    assert refused.status_code == 412
    assert refused.get_json()["error"]["code"] == "precondition_failed"
    assert client.get("/v1/agents", headers=guest.headers).get_json()["agents"] == []
