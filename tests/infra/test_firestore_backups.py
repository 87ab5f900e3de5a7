"""Firestore keeps managed backups within its limits (docs/restore.md): a daily schedule kept
up to 7 days and a weekly one kept up to 14 weeks, on in production."""

from __future__ import annotations

from tests.infra.terraform_hcl import INFRA, module_call, one, resource, variables

FIRESTORE_MODULE = INFRA / "modules" / "firestore"


def test_daily_and_weekly_schedules_back_up_the_database() -> None:
    daily = resource(FIRESTORE_MODULE, "google_firestore_backup_schedule", "daily")
    weekly = resource(FIRESTORE_MODULE, "google_firestore_backup_schedule", "weekly")

    for schedule in (daily, weekly):
        assert one(schedule["database"]) == "${google_firestore_database.database.name}"
    assert one(daily["daily_recurrence"]) == {}
    assert one(one(weekly["weekly_recurrence"])["day"]) == "${var.backup_weekly_day}"
    assert one(daily["retention"]) == "${var.backup_daily_retention_days * 86400}s"
    assert one(weekly["retention"]) == "${var.backup_weekly_retention_weeks * 7 * 86400}s"


def test_retention_defaults_are_firestores_longest() -> None:
    declared = variables(FIRESTORE_MODULE)
    root = one(variables(INFRA)["backup_retention"]["default"])

    assert one(declared["backup_daily_retention_days"]["default"]) == 7
    assert one(declared["backup_weekly_retention_weeks"]["default"]) == 14
    assert root == {"daily_days": 7, "weekly_weeks": 14}


def test_retention_outside_firestores_limits_is_refused_at_plan() -> None:
    declared = variables(FIRESTORE_MODULE)
    daily = str(declared["backup_daily_retention_days"]["validation"])
    weekly = str(declared["backup_weekly_retention_weeks"]["validation"])

    assert "var.backup_daily_retention_days <= 7" in daily
    assert "var.backup_weekly_retention_weeks <= 14" in weekly


def test_the_root_passes_the_retention_and_production_keeps_the_defaults() -> None:
    call = module_call(INFRA, "firestore")
    prod = module_call(INFRA / "environments" / "prod", "platform")
    staging = module_call(INFRA / "environments" / "staging", "platform")

    assert one(call["backup_daily_retention_days"]) == "${var.backup_retention.daily_days}"
    assert one(call["backup_weekly_retention_weeks"]) == "${var.backup_retention.weekly_weeks}"
    assert "backup_retention" not in prod
    assert one(staging["backup_retention"]) == {"daily_days": 2, "weekly_weeks": 0}
    assert one(prod["delete_protection"]) is True
