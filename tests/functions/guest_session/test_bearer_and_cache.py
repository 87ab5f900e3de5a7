"""Bearer tokens through the function: the scheme is checked, and a session revoked by
another instance stops working once this instance's cache of it expires."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.identity import sessions
from tests.conftest import load_function

CURRENT = "/v1/sessions/current"


@pytest.fixture
def client(firestore_db: Any, settings: Any) -> Any:
    settings(SESSION_CACHE_SECONDS="1")
    loaded = load_function("functions/guest_session", "guest_session")
    return loaded.app.test_client()


def new_token(client: Any) -> str:
    response = client.post("/v1/sessions")
    assert response.status_code == 201
    token: str = response.get_json()["token"]
    return token


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:", ""])
def test_a_live_token_under_another_scheme_is_refused(client: Any, scheme: str) -> None:
    token = new_token(client)

    response = client.get(CURRENT, headers={"Authorization": f"{scheme} {token}".strip()})

    assert response.status_code == 401


def test_the_bearer_scheme_is_case_insensitive(client: Any) -> None:
    token = new_token(client)

    assert client.get(CURRENT, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_a_session_revoked_elsewhere_is_refused_once_the_cache_expires(
    client: Any, firestore_db: Any
) -> None:
    token = new_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(CURRENT, headers=headers).status_code == 200  # now cached here

    # Another instance revokes it: the document goes, this instance's cache does not.
    firestore_db.collection(sessions.COLLECTION).document(sessions.hash_token(token)).delete()
    still_cached = client.get(CURRENT, headers=headers).status_code
    time.sleep(1.2)
    after_expiry = client.get(CURRENT, headers=headers).status_code

    assert (still_cached, after_expiry) == (200, 401)


def test_without_a_cache_a_revocation_elsewhere_is_refused_at_once(
    client: Any, firestore_db: Any, settings: Any
) -> None:
    settings(SESSION_CACHE_SECONDS="0")
    token = new_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(CURRENT, headers=headers).status_code == 200

    firestore_db.collection(sessions.COLLECTION).document(sessions.hash_token(token)).delete()

    assert client.get(CURRENT, headers=headers).status_code == 401
