"""checkov passes on infra/ with the custom policies, and each policy catches what it names.

checkov runs offline (`skip-download`, settings in infra/checkov/config.yaml); a scan
takes a few seconds, so the whole tree is scanned once and the violations fixture once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.manifest import ROOT
from tests.infra.terraform_hcl import INFRA, tf_files

CHECKOV = Path(sys.executable).with_name("checkov")
POLICIES = INFRA / "checkov" / "policies"
VIOLATIONS = Path(__file__).parent / "data" / "checkov_violations"


def policy_ids() -> list[str]:
    return sorted(yaml.safe_load(p.read_text())["metadata"]["id"] for p in POLICIES.glob("*.yaml"))


def run_checkov(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(CHECKOV), *args, "--output", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    merged: dict[str, Any] = {"failed": [], "summary_failed": 0, "summary_passed": 0}
    for item in reports:
        merged["failed"] += item.get("results", {}).get("failed_checks", [])
        merged["summary_failed"] += item.get("summary", {}).get("failed", 0)
        merged["summary_passed"] += item.get("summary", {}).get("passed", 0)
    return merged


@pytest.fixture(scope="module")
def infra_report() -> dict[str, Any]:
    return run_checkov("--config-file", "infra/checkov/config.yaml")


def test_infra_has_no_failed_checks(infra_report: dict[str, Any]) -> None:
    failures = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in infra_report["failed"]
    ]

    assert failures == []
    assert infra_report["summary_failed"] == 0
    assert infra_report["summary_passed"] > 0


def test_each_custom_policy_fails_on_its_deliberate_violation() -> None:
    report = run_checkov(
        "--directory",
        str(VIOLATIONS.relative_to(ROOT)),
        "--framework",
        "terraform",
        "--skip-download",
        "--external-checks-dir",
        str(POLICIES.relative_to(ROOT)),
        "--check",
        ",".join(policy_ids()),
    )
    failed = {(c["check_id"], c["resource"]) for c in report["failed"]}

    assert failed == {
        ("CKV2_AGENTS_1", "google_cloud_run_service_iam_member.public_operator_function"),
        ("CKV2_AGENTS_2", "google_cloudfunctions2_function.open_ingress"),
        ("CKV2_AGENTS_3", "google_pubsub_subscription.push_without_retry"),
        ("CKV2_AGENTS_4", "google_cloud_scheduler_job.anonymous_call"),
        ("CKV2_AGENTS_5", "google_cloud_run_service_iam_binding.public_binding"),
    }
    assert {check_id for check_id, _ in failed} == set(policy_ids())


def test_every_skip_names_a_check_and_says_why() -> None:
    skips = [
        (path.relative_to(ROOT).as_posix(), line)
        for path in tf_files()
        for line in path.read_text().splitlines()
        if "checkov:skip" in line
    ]
    unjustified = [
        (where, line)
        for where, line in skips
        if not re.search(r"#checkov:skip=CKV2?_[A-Z0-9_]+:.{20,}", line)
    ]

    assert skips, "the public invoker grant is expected to carry justified skips"
    assert unjustified == []


def test_policy_ids_are_unique_and_described() -> None:
    policies = [yaml.safe_load(p.read_text()) for p in sorted(POLICIES.glob("*.yaml"))]
    ids = [policy["metadata"]["id"] for policy in policies]

    assert len(ids) == len(set(ids))
    assert all(policy["metadata"]["name"].startswith("Ensure") for policy in policies)
