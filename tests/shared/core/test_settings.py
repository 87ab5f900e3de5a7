from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.core.settings import Settings


def test_origins_are_split_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example/")

    assert Settings().allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("SESSION_TTL_HOURS", "-1"), ("MAX_BODY_BYTES", "lots"), ("ENVIRONMENT", "moon")],
)
def test_bad_values_fail_at_startup(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        Settings()
