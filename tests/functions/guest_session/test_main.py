"""guest_session through functions-framework against the Firestore emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.identity import sessions
from tests.conftest import LoadedFunction, load_function
from tests.support.faults import firestore_unavailable


@pytest.fixture
def function(firestore_db: Any) -> LoadedFunction:
    return load_function("functions/guest_session", "guest_session")


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


def create(client: Any) -> dict[str, Any]:
    response = client.post("/v1/sessions")
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_returns_token_and_stores_only_its_hash(client: Any, firestore_db: Any) -> None:
    body = create(client)

    assert set(body) == {"sessionId", "userId", "token", "expiresAt"}
    stored = firestore_db.collection("sessions").document(sessions.hash_token(body["token"])).get()
    assert stored.exists
    assert body["token"] not in str(stored.to_dict())
    assert stored.to_dict()["userId"] == body["userId"]
    assert set(stored.to_dict()) == {"sessionId", "userId", "createdAt", "expiresAt"}


def test_expiry_is_session_ttl_hours_from_now(client: Any) -> None:
    body = create(client)

    expires_at = datetime.fromisoformat(body["expiresAt"])
    expected = datetime.now(UTC) + timedelta(hours=24)
    assert abs((expires_at - expected).total_seconds()) < 60


def test_current_session_answers_for_a_live_token(client: Any) -> None:
    created = create(client)

    response = client.get("/v1/sessions/current", headers=bearer(created["token"]))

    assert response.status_code == 200
    assert response.get_json() == {
        "sessionId": created["sessionId"],
        "userId": created["userId"],
        "expiresAt": created["expiresAt"],
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer gst_" + "A" * 43},
    ],
    ids=["missing", "wrong-scheme", "malformed", "unknown"],
)
def test_current_session_refuses_bad_tokens_with_401(client: Any, headers: dict[str, str]) -> None:
    response = client.get("/v1/sessions/current", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_expired_session_is_refused(client: Any, firestore_db: Any) -> None:
    created = create(client)
    ref = firestore_db.collection("sessions").document(sessions.hash_token(created["token"]))
    ref.update({"expiresAt": datetime.now(UTC) - timedelta(seconds=1)})

    response = client.get("/v1/sessions/current", headers=bearer(created["token"]))

    assert response.status_code == 401


def test_delete_revokes_the_token_at_once(client: Any, firestore_db: Any) -> None:
    created = create(client)
    assert client.get("/v1/sessions/current", headers=bearer(created["token"])).status_code == 200

    deleted = client.delete("/v1/sessions/current", headers=bearer(created["token"]))

    assert deleted.status_code == 204
    assert deleted.get_data() == b""
    assert client.get("/v1/sessions/current", headers=bearer(created["token"])).status_code == 401
    stored = firestore_db.collection("sessions").document(sessions.hash_token(created["token"]))
    assert not stored.get().exists


def test_creation_is_limited_per_client_address_across_instances(
    settings: Any, firestore_db: Any
) -> None:
    settings(SESSION_CREATE_PER_MINUTE="2")
    # Two loads of the function: two instances that share nothing but Firestore.
    one = load_function("functions/guest_session", "guest_session").app.test_client()
    two = load_function("functions/guest_session", "guest_session").app.test_client()

    first = one.post("/v1/sessions", headers={"X-Forwarded-For": "203.0.113.7"})
    second = two.post("/v1/sessions", headers={"X-Forwarded-For": "203.0.113.7"})
    third = one.post("/v1/sessions", headers={"X-Forwarded-For": "203.0.113.7"})
    other = two.post("/v1/sessions", headers={"X-Forwarded-For": "203.0.113.8"})

    assert [first.status_code, second.status_code, third.status_code] == [201, 201, 429]
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert "guest sessions per client address" in third.get_json()["error"]["message"]
    assert other.status_code == 201
    assert len(list(firestore_db.collection("sessions").stream())) == 3
    assert third.headers["RateLimit-Policy"].endswith(";q=2;w=60")
    assert third.headers["RateLimit"].endswith(f";r=0;t={third.headers['Retry-After']}")


def test_two_clients_behind_one_address_with_the_same_idempotency_key_get_their_own_sessions(
    client: Any, firestore_db: Any
) -> None:
    headers = {"Idempotency-Key": "first-visit", "X-Forwarded-For": "203.0.113.9"}

    first = client.post("/v1/sessions", headers=headers)
    second = client.post("/v1/sessions", headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.get_json()["token"] != first.get_json()["token"]
    assert second.get_json()["userId"] != first.get_json()["userId"]
    assert "Idempotent-Replayed" not in second.headers
    assert len(list(firestore_db.collection("sessions").stream())) == 2


def test_malformed_json_is_a_json_400_and_creates_nothing(client: Any, firestore_db: Any) -> None:
    response = client.post("/v1/sessions", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
    assert list(firestore_db.collection("sessions").stream()) == []


def test_unknown_body_fields_are_a_400(client: Any) -> None:
    response = client.post("/v1/sessions", json={"admin": True})

    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "admin"


def test_oversized_body_is_a_413(client: Any) -> None:
    response = client.post(
        "/v1/sessions", data=b"{" + b" " * 100 * 1024 + b"}", content_type="application/json"
    )

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_non_json_body_is_a_415(client: Any) -> None:
    response = client.post("/v1/sessions", data="a=1", content_type="text/plain")

    assert response.status_code == 415


def test_unknown_path_is_a_json_404(client: Any) -> None:
    response = client.get("/v1/sessions/nowhere/else")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405_with_allow(client: Any) -> None:
    response = client.put("/v1/sessions/current")

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "DELETE"}


def test_openapi_lists_the_session_routes(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    assert set(document["paths"]) == {"/v1/sessions", "/v1/sessions/current"}
    assert set(document["paths"]["/v1/sessions/current"]) == {"get", "delete"}
    created = document["paths"]["/v1/sessions"]["post"]["responses"]["201"]
    schema_ref = created["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"sessionId", "userId", "token", "expiresAt"}


def test_firestore_outage_is_a_503_with_retry_after_and_stores_nothing(
    client: Any, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with firestore_unavailable(monkeypatch) as faults:
        response = client.post("/v1/sessions")

    assert faults["failed"] == 1
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "unavailable"
    assert list(firestore_db.collection("sessions").stream()) == []


def test_paths_the_framework_refuses_still_get_a_json_404(client: Any) -> None:
    response = client.get("/v1/sessions/a%0Ab")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_session_answer_is_never_kept_for_replay(client: Any, firestore_db: Any) -> None:
    response = client.post("/v1/sessions", headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 201
    assert list(firestore_db.collection("idempotency_keys").stream()) == []


def test_openapi_does_not_offer_an_idempotency_key_for_session_creation(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    create_operation = document["paths"]["/v1/sessions"]["post"]
    names = [parameter.get("name") for parameter in create_operation.get("parameters", [])]
    refs = [parameter.get("$ref", "") for parameter in create_operation.get("parameters", [])]
    assert "Idempotency-Key" not in names
    assert not any("Idempotency" in ref for ref in refs)
    assert "Idempotent-Replayed" not in str(create_operation["responses"])
