"""Alert state: the decision table, then grouping, silences and delivery on the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.alerts import delivery as alert_delivery
from shared.alerts import silences, slack
from shared.alerts import state as alerting
from shared.alerts.state import AlertSignal, decide
from shared.core import state
from tests.support.slack_server import SlackServer, configure_alerts, running_slack

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def signal(status: str = "firing", key: str = "k1", **labels: str) -> AlertSignal:
    return AlertSignal(
        labels={"alertname": "HighLatency", "service": "chat", **labels},
        severity="critical",
        status=status,  # type: ignore[arg-type]
        summary="p95 above 2 s",
        source="test",
        starts_at=T0,
        ends_at=T0 + 2 * HOUR if status == "resolved" else None,
        key=key,
    )


# -- the decision table -----------------------------------------------------------------


def test_fingerprint_ignores_label_order() -> None:
    assert alerting.fingerprint({"a": "1", "b": "2"}) == alerting.fingerprint({"b": "2", "a": "1"})
    assert alerting.fingerprint({"a": "1"}) != alerting.fingerprint({"a": "2"})


def test_new_firing_alert_notifies() -> None:
    outcome, fields = decide(None, signal(), [], T0, HOUR)

    assert outcome == "notify"
    assert fields["status"] == "firing"


def test_repeat_within_the_interval_is_not_renotified() -> None:
    current = {
        "status": "firing",
        "startsAt": T0,
        "lastNotifiedStatus": "firing",
        "lastNotifiedAt": T0,
        "count": 1,
    }

    outcome, fields = decide(current, signal(), [], T0 + HOUR / 2, HOUR)

    assert outcome == "repeat"
    assert fields["duplicates"] == 1


def test_repeat_after_the_interval_notifies_again() -> None:
    current = {
        "status": "firing",
        "startsAt": T0,
        "lastNotifiedStatus": "firing",
        "lastNotifiedAt": T0,
    }

    assert decide(current, signal(), [], T0 + 2 * HOUR, HOUR)[0] == "notify"


def test_resolve_of_a_notified_alert_notifies() -> None:
    current = {
        "status": "firing",
        "startsAt": T0,
        "lastNotifiedStatus": "firing",
        "lastNotifiedAt": T0,
    }

    outcome, fields = decide(current, signal("resolved"), [], T0 + 2 * HOUR, HOUR)

    assert outcome == "notify"
    assert fields["endsAt"] == T0 + 2 * HOUR


def test_late_firing_never_reopens_a_resolved_alert() -> None:
    current = {"status": "resolved", "startsAt": T0, "endsAt": T0 + 2 * HOUR}

    outcome, fields = decide(current, signal(), [], T0 + 3 * HOUR, HOUR)

    assert outcome == "late"
    assert "status" not in fields


def test_firing_that_starts_after_the_end_reopens() -> None:
    current = {"status": "resolved", "startsAt": T0 - 5 * HOUR, "endsAt": T0 - HOUR}

    assert decide(current, signal(), [], T0, HOUR)[0] == "notify"


def test_resolve_of_a_never_notified_alert_is_only_recorded() -> None:
    current = {"status": "firing", "startsAt": T0, "lastNotifiedStatus": None}

    assert decide(current, signal("resolved"), ["sil_1"], T0, HOUR)[0] == "recorded"


def test_silenced_firing_is_recorded_not_notified() -> None:
    outcome, fields = decide(None, signal(), ["sil_1"], T0, HOUR)

    assert outcome == "silenced"
    assert fields["silencedBy"] == ["sil_1"]


def test_resolve_of_an_older_episode_is_stale() -> None:
    current = {"status": "firing", "startsAt": T0 + 5 * HOUR, "lastNotifiedStatus": "firing"}

    assert decide(current, signal("resolved"), [], T0 + 6 * HOUR, HOUR)[0] == "stale"


# -- on the emulator ----------------------------------------------------------------------


@pytest.fixture
def slack_server(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackServer]:
    with running_slack() as server:
        configure_alerts(monkeypatch, server.url)
        yield server
    state.reset()


def notifications(db: Any) -> list[dict[str, Any]]:
    return [s.to_dict() for s in db.collection(alerting.NOTIFICATIONS).stream()]


def test_a_burst_in_one_group_becomes_one_notification(
    slack_server: SlackServer, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_alerts(monkeypatch, slack_server.url, ALERT_GROUP_WAIT_SECONDS="30")
    now = datetime.now(UTC)
    observed = [alerting.observe(signal(key=f"k{i}", instance=f"i{i}"), now) for i in range(3)]

    early = alert_delivery.flush(observed[0].group_key, now)
    result = alert_delivery.flush(observed[0].group_key, now + timedelta(seconds=31))

    assert {o.outcome for o in observed} == {"notify"}
    assert len({o.group_key for o in observed}) == 1
    assert early.state == "wait"
    assert result.state == "sent"
    assert len(slack_server.posts) == 1
    assert slack_server.posts[0]["text"].startswith("<!channel> [FIRING:3] HighLatency")
    [record] = notifications(firestore_db)
    assert sorted(record["fingerprints"]) == sorted(o.fingerprint for o in observed)
    assert record["channel"] == "slack"


def test_same_key_twice_is_observed_once(slack_server: SlackServer) -> None:
    first = alerting.observe(signal(key="same"))
    second = alerting.observe(signal(key="same"))

    assert (first.outcome, second.outcome) == ("notify", "duplicate")


def test_open_then_closed_sends_firing_then_resolved(
    slack_server: SlackServer, firestore_db: Any
) -> None:
    alert_delivery.process(signal(key="open"))
    alert_delivery.process(signal("resolved", key="closed"))

    texts = slack_server.texts()
    assert len(texts) == 2
    assert "[FIRING:1]" in texts[0]
    assert "[RESOLVED]" in texts[1]
    assert slack_server.posts[1]["attachments"][0]["color"] == "#188038"
    alert = (
        firestore_db.collection(alerting.ALERTS)
        .document(alerting.fingerprint(signal().labels))
        .get()
    )
    assert alert.to_dict()["status"] == "resolved"


def test_silence_holds_and_expiring_it_lets_notifications_through(
    slack_server: SlackServer, firestore_db: Any
) -> None:
    created = silences.create(
        silences.SilenceCreate.model_validate(
            {
                "matchers": [{"name": "service", "value": "ch.*", "isRegex": True}],
                "endsAt": (datetime.now(UTC) + HOUR).isoformat(),
                "comment": "maintenance",
            }
        )
    )

    held = alert_delivery.process(signal(key="a"))
    silences.expire(created.id)
    released = alert_delivery.process(signal(key="b"))

    assert held.outcome == "silenced"
    assert released.outcome == "notify"
    assert len(slack_server.posts) == 1
    record = firestore_db.collection(alerting.ALERTS).document(held.fingerprint).get().to_dict()
    assert record["suppressed"] == 1


def test_silence_matches_on_severity(slack_server: SlackServer) -> None:
    silences.create(
        silences.SilenceCreate.model_validate(
            {
                "matchers": [{"name": "severity", "value": "critical"}],
                "endsAt": (datetime.now(UTC) + HOUR).isoformat(),
                "comment": "known",
            }
        )
    )

    assert alert_delivery.process(signal()).outcome == "silenced"
    assert slack_server.posts == []


def test_slack_failure_raises_and_releases_the_group_for_a_retry(
    slack_server: SlackServer, firestore_db: Any
) -> None:
    slack_server.fail(500)
    with pytest.raises(slack.SlackUnavailable):
        alert_delivery.process(signal(key="x"))
    slack_server.recover()

    alert_delivery.process(signal(key="x"))  # the redelivery: already observed, still pending

    assert len(slack_server.posts) == 1
    assert len(notifications(firestore_db)) == 1


def test_sweep_sends_groups_whose_window_passed(
    slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    observed = alerting.observe(signal(key="orphan"))

    sent = alert_delivery.sweep(datetime.now(UTC) + timedelta(minutes=5))

    assert sent == 1
    assert len(slack_server.posts) == 1
    assert alert_delivery.flush(observed.group_key).state == "empty"


def test_without_a_slack_url_the_notification_goes_to_the_log_and_is_recorded(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    configure_alerts(monkeypatch, None)

    alert_delivery.process(signal(key="log-only"))

    [record] = notifications(firestore_db)
    assert record["channel"] == "log"
    assert "[FIRING:1] HighLatency" in caplog.text


def test_mentions_and_colour_follow_severity() -> None:
    from shared.alerts import messages as alert_messages

    warning = alert_messages.render("t", [{"status": "firing", "severity": "warning"}])
    critical = alert_messages.render("t", [{"status": "firing", "severity": "critical"}])

    assert "<!" not in warning["text"]
    assert warning["attachments"][0]["color"] == alert_messages.COLOURS["warning"]
    assert critical["text"].startswith("<!channel>")
    assert critical["attachments"][0]["color"] == alert_messages.COLOURS["critical"]


def test_alert_text_cannot_mention_anyone() -> None:
    from shared.alerts import messages as alert_messages

    message = alert_messages.render(
        "t", [{"status": "firing", "severity": "info", "summary": "<!channel> hi"}]
    )

    assert "<!channel>" not in str(message["attachments"])


def test_mentions_and_group_by_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALERT_MENTIONS", "critical=<!subteam^S123>, Warning=<!here>")
    monkeypatch.setenv("ALERT_GROUP_BY", "alertname, environment")

    settings = alerting.AlertSettings()

    assert settings.alert_mentions == {"critical": "<!subteam^S123>", "warning": "<!here>"}
    assert settings.alert_group_by == ["alertname", "environment"]


def test_group_key_depends_only_on_the_group_by_labels() -> None:
    first, labels = alerting.group_of({"alertname": "A", "instance": "1"}, ["alertname"])
    second, _ = alerting.group_of({"alertname": "A", "instance": "2"}, ["alertname"])

    assert first == second
    assert labels == {"alertname": "A"}
