"""Signature checks, secrets and the branch map (no emulator needed)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shared.github import deliveries as github


def test_signature_matches_githubs_documented_example() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert github.signature_valid(b"Hello, World!", header, [b"It's a Secret to Everybody"])


def test_signature_is_accepted_under_either_secret() -> None:
    body = b'{"zen": "x"}'
    header = github.signature_for(body, b"old")

    assert github.signature_valid(body, header, [b"new", b"old"])
    assert not github.signature_valid(body, header, [b"new"])


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha256=zz", "sha1=abc", "SHA256=00"])
def test_malformed_signature_headers_are_refused(header: str | None) -> None:
    assert not github.signature_valid(b"{}", header, [b"secret"])


def test_no_secret_means_no_signature_is_valid() -> None:
    body = b"{}"

    assert not github.signature_valid(body, github.signature_for(body, b""), [])


def test_branch_map_is_parsed_from_pairs() -> None:
    settings = github.WebhookSettings(github_branch_environments="main=staging, release=production")

    assert settings.github_branch_environments == {"main": "staging", "release": "production"}


def test_branch_map_without_an_environment_fails_fast() -> None:
    with pytest.raises(ValidationError):
        github.WebhookSettings(github_branch_environments="main")


def test_secret_manager_resource_wins_over_the_plain_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(github.secret_manager, "access", lambda name: f"from:{name}")
    settings = github.WebhookSettings(
        github_webhook_secret=SecretStr("plain"),
        github_webhook_secret_resource="projects/p/secrets/github-webhook",
    )

    assert github.signing_secrets(settings) == [b"from:projects/p/secrets/github-webhook"]
