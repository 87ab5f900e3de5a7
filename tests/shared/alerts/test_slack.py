"""The Slack client against a local recording server: retries, Retry-After, the breaker."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from shared.alerts import slack
from shared.core import state
from tests.support.slack_server import SlackServer, running_slack

MESSAGE = {"text": "hello", "blocks": []}


@pytest.fixture
def server() -> Iterator[SlackServer]:
    with running_slack() as running:
        yield running


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The waits the client asked for, instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr(slack, "sleep", recorded.append)
    state.reset()
    yield recorded
    state.reset()


def settings(**overrides: object) -> slack.SlackSettings:
    values: dict[str, object] = {
        "slack_max_attempts": 4,
        "slack_max_elapsed_seconds": 30,
        "slack_backoff_seconds": 0.2,
        "slack_backoff_max_seconds": 1,
        "slack_breaker_threshold": 2,
        "slack_breaker_cooldown_seconds": 60,
    }
    values.update(overrides)
    return slack.SlackSettings.model_validate(values)


def test_accepted_post_is_delivered_once(server: SlackServer, waits: list[float]) -> None:
    delivery = slack.post(server.url, MESSAGE, settings())

    assert delivery.attempts == 1
    assert server.posts == [MESSAGE]
    assert waits == []


def test_429_waits_what_retry_after_asks(server: SlackServer, waits: list[float]) -> None:
    server.fail(429, times=1, retry_after="3")

    delivery = slack.post(server.url, MESSAGE, settings())

    assert delivery.attempts == 2
    assert waits == [3.0]
    assert server.attempts == [429, 200]


def test_5xx_is_retried_with_jittered_backoff(server: SlackServer, waits: list[float]) -> None:
    server.fail(503, times=2)

    delivery = slack.post(server.url, MESSAGE, settings())

    assert delivery.attempts == 3
    assert len(waits) == 2
    assert all(0 <= wait <= 1 for wait in waits)
    assert server.posts == [MESSAGE]


def test_slack_staying_down_raises_after_the_attempts(
    server: SlackServer, waits: list[float]
) -> None:
    server.fail(500)

    with pytest.raises(slack.SlackUnavailable):
        slack.post(server.url, MESSAGE, settings(slack_breaker_threshold=10))

    assert server.attempts == [500] * 4
    assert len(waits) == 3


def test_retry_after_beyond_the_time_budget_gives_up_at_once(
    server: SlackServer, waits: list[float]
) -> None:
    server.fail(429, retry_after="120")

    with pytest.raises(slack.SlackUnavailable):
        slack.post(server.url, MESSAGE, settings(slack_max_elapsed_seconds=10))

    assert server.attempts == [429]
    assert waits == []


def test_client_error_is_not_retried(server: SlackServer, waits: list[float]) -> None:
    server.fail(400)

    with pytest.raises(slack.SlackRejected):
        slack.post(server.url, MESSAGE, settings())

    assert server.attempts == [400]


def test_unreachable_slack_raises_unavailable(waits: list[float]) -> None:
    with running_slack() as gone:
        url = gone.url

    with pytest.raises(slack.SlackUnavailable):
        slack.post(url, MESSAGE, settings(slack_max_attempts=2))


def test_breaker_opens_after_repeated_failures_and_fails_fast(
    server: SlackServer, waits: list[float]
) -> None:
    server.fail(500)
    for _ in range(2):
        with pytest.raises(slack.SlackUnavailable):
            slack.post(server.url, MESSAGE, settings(slack_max_attempts=1))
    calls_before = len(server.attempts)

    with pytest.raises(slack.SlackUnavailable, match="circuit is open"):
        slack.post(server.url, MESSAGE, settings(slack_max_attempts=1))

    assert slack.breaker.is_open
    assert len(server.attempts) == calls_before


def test_breaker_lets_a_trial_through_after_the_cooldown_and_closes(
    server: SlackServer, waits: list[float]
) -> None:
    server.fail(500)
    for _ in range(2):
        with pytest.raises(slack.SlackUnavailable):
            slack.post(server.url, MESSAGE, settings(slack_max_attempts=1))
    server.recover()

    delivery = slack.post(server.url, MESSAGE, settings(slack_breaker_cooldown_seconds=0))

    assert delivery.attempts == 1
    assert not slack.breaker.is_open


def test_the_webhook_url_is_never_logged(
    server: SlackServer, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    server.fail(503, times=1)
    caplog.set_level(logging.DEBUG)

    slack.post(server.url, MESSAGE, settings())

    assert caplog.text, "the failed attempt should have been logged"
    assert server.secret_path not in caplog.text
    assert "/services/" not in caplog.text


def test_no_url_configured_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)

    assert slack.webhook_url(slack.SlackSettings()) is None
