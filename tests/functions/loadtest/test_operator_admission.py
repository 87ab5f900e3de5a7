"""Operator routes admit exactly the configured bearer token, through the function."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import load_function

ADMIN = "operator-token-0123456789"
RUNS = "/v1/loadtests/runs"


@pytest.fixture
def client(firestore_db: Any, settings: Any) -> Any:
    settings(ADMIN_TOKEN=ADMIN, OPERATOR_AUTH="token")
    return load_function("functions/loadtest", "loadtest").app.test_client()


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "Bearer  ", "Basic "])
def test_an_empty_token_is_refused_when_no_admin_token_is_set(
    client: Any, settings: Any, header: str
) -> None:
    settings(ADMIN_TOKEN=None)

    response = client.get(RUNS, headers={"Authorization": header})

    assert response.status_code == 401
    assert "ADMIN_TOKEN is not set" in response.get_json()["error"]["message"]


def test_the_admin_token_under_another_scheme_is_refused(client: Any) -> None:
    response = client.get(RUNS, headers={"Authorization": f"Basic {ADMIN}"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_admin_token_is_admitted(client: Any) -> None:
    response = client.get(RUNS, headers={"Authorization": f"Bearer {ADMIN}"})

    assert response.status_code == 200


def test_with_iam_operator_auth_the_function_trusts_cloud_run_iam(
    client: Any, settings: Any
) -> None:
    """In production Cloud Run IAM admits only operators; no bearer token is checked."""
    settings(OPERATOR_AUTH="iam", ADMIN_TOKEN=None)

    assert client.get(RUNS).status_code == 200


def test_with_token_operator_auth_a_request_without_a_token_is_refused(client: Any) -> None:
    assert client.get(RUNS).status_code == 401
