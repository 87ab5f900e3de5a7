"""Two alert paths: the incidents topic (alerts function, Slack) and e-mail straight from
Cloud Monitoring, so a broken first path is told through the second."""

from __future__ import annotations

from tests.infra.terraform_hcl import INFRA, blocks, local, module_call, one, resource, variables

MONITORING = INFRA / "modules" / "monitoring"


def policies() -> dict[str, dict]:
    return {
        name: body
        for _, type_, name, body in blocks(MONITORING, "resource")
        if type_ == "google_monitoring_alert_policy"
    }


def test_an_email_channel_per_address() -> None:
    channel = resource(MONITORING, "google_monitoring_notification_channel", "email")

    assert one(channel["for_each"]) == "${toset(var.alert_emails)}"
    assert one(channel["type"]) == "email"
    assert one(channel["labels"]) == {"email_address": "${each.value}"}


def test_every_policy_notifies_both_paths() -> None:
    channels = local(MONITORING, "notification_channels")

    assert "google_monitoring_notification_channel.incidents.id" in channels
    assert "local.email_channels" in channels
    for name, body in policies().items():
        expected = (
            "local.email_channels" if name == "alert_delivery" else "local.notification_channels"
        )
        assert one(body["notification_channels"]) == "${" + expected + "}", name


def test_slack_failing_is_told_by_email_alone() -> None:
    policy = policies()["alert_delivery"]
    condition = one(one(policy["conditions"])["condition_matched_log"])

    assert 'jsonPayload.message=\\"slack circuit opened\\"' in one(condition["filter"])
    assert one(policy["count"]) == "${length(var.alert_emails) > 0 ? 1 : 0}"
    assert "notification_rate_limit" in one(policy["alert_strategy"])


def test_the_circuit_message_is_what_the_alerts_function_logs() -> None:
    source = (INFRA.parent / "shared" / "alerts" / "slack.py").read_text()

    assert '"slack circuit opened"' in source


def test_production_must_name_an_alert_address() -> None:
    prod = variables(INFRA / "environments" / "prod")["alert_emails"]

    assert "default" not in prod
    assert "length(var.alert_emails) > 0" in str(prod["validation"])
    assert one(module_call(INFRA, "monitoring")["alert_emails"]) == "${var.alert_emails}"
    for environment in ("staging", "prod"):
        call = module_call(INFRA / "environments" / environment, "platform")
        assert one(call["alert_emails"]) == "${var.alert_emails}"
