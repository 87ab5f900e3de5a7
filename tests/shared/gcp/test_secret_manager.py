"""Secret Manager access: resource names and the short cache."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from shared.core import state
from shared.gcp import secret_manager


class FakeClient:
    def __init__(self) -> None:
        self.names: list[str] = []

    def access_secret_version(self, request: dict[str, str]) -> Any:
        self.names.append(request["name"])
        return SimpleNamespace(payload=SimpleNamespace(data=b" value-1\n"))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClient]:
    client = FakeClient()
    monkeypatch.setattr(secret_manager, "_client", client)
    state.reset()
    yield client
    state.reset()


def test_latest_version_is_read_and_stripped(fake: FakeClient) -> None:
    assert secret_manager.access("projects/p/secrets/slack-webhook-url") == "value-1"
    assert fake.names == ["projects/p/secrets/slack-webhook-url/versions/latest"]


def test_value_is_cached_within_max_age(fake: FakeClient) -> None:
    secret_manager.access("projects/p/secrets/s/versions/3")
    secret_manager.access("projects/p/secrets/s/versions/3")

    assert fake.names == ["projects/p/secrets/s/versions/3"]


def test_value_is_read_again_after_max_age(fake: FakeClient) -> None:
    secret_manager.access("projects/p/secrets/s", max_age=0)
    secret_manager.access("projects/p/secrets/s", max_age=0)

    assert len(fake.names) == 2
