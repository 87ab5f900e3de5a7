"""The `tools` field of agents: guest tools of the registry only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import load_function
from tests.support.guests import new_guest


@pytest.fixture
def client(firestore_db: Any) -> Any:
    return load_function("functions/agents", "agents").app.test_client()


def test_an_agent_is_created_with_guest_tools(client: Any) -> None:
    guest = new_guest()

    response = client.post(
        "/v1/agents", json={"name": "A", "tools": ["list_my_agents"]}, headers=guest.headers
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["tools"] == ["list_my_agents"]


@pytest.mark.parametrize("tool", ["start_loadtest", "no_such_tool"])
def test_operator_and_unknown_tools_are_refused(client: Any, tool: str) -> None:
    guest = new_guest()

    created = client.post("/v1/agents", json={"name": "A", "tools": [tool]}, headers=guest.headers)
    agent = client.post("/v1/agents", json={"name": "B"}, headers=guest.headers).get_json()
    patched = client.patch(
        f"/v1/agents/{agent['id']}", json={"tools": [tool]}, headers=guest.headers
    )

    assert (created.status_code, patched.status_code) == (400, 400)
    assert tool in created.get_json()["error"]["message"]
