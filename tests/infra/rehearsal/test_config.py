"""The rehearsal reads Terraform's own values (modules/runtime_config via terraform)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.manifest import load
from infra.rehearsal import config
from infra.rehearsal.rehearse import environment_inputs
from tests.infra.terraform_hcl import INFRA, module_call, one

INPUTS = {"project_id": "demo-x", "environment": "staging", "api_url": "http://127.0.0.2:9"}


def test_every_entry_gets_terraforms_environment() -> None:
    runtime = config.evaluate(INFRA, INPUTS)

    assert set(runtime.environment_variables) == {entry.name for entry in load().functions}
    assert runtime.environment_variables["loadtest"]["GOOGLE_CLOUD_PROJECT"] == "demo-x"
    assert runtime.environment_variables["alerts"]["OPERATOR_AUTH"] == "iam"


def test_a_variable_removed_from_terraform_is_gone_from_the_rehearsal(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    main = copy / "modules" / "runtime_config" / "main.tf"
    main.write_text(main.read_text().replace("      LOADTEST_ALLOWED_TARGETS = var.api_url\n", ""))

    runtime = config.evaluate(copy, INPUTS)

    assert "LOADTEST_ALLOWED_TARGETS" not in runtime.environment_variables["loadtest"]
    assert "LOADTEST_TARGET_BASE_URL" in runtime.environment_variables["loadtest"]


def test_scheduled_calls_come_from_the_root_variable_default(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    variables = copy / "variables.tf"
    variables.write_text(
        variables.read_text().replace('body = "{\\"scenario\\": \\"light\\"}"', 'body = "{}"')
    )

    runtime = config.evaluate(copy, INPUTS)

    assert runtime.scheduled_calls["loadtest"].body == "{}"


def test_rehearsal_passes_what_the_root_module_passes() -> None:
    call = module_call(INFRA, "runtime_config")
    given = set(INPUTS) | set(config.ROOT_DEFAULTS) | {"log_level", "manifest", "source"}

    assert set(call) - {"__start_line__", "__end_line__"} - given == {"allowed_origins", "region"}
    assert one(call["allowed_origins"]) == "${var.allowed_origins}"  # [] unless set
    # The module's default (null) is the manifest's region, as local.region is unless an
    # environment sets var.region; it only names where the operator tools find Cloud Run.
    assert one(call["region"]) == "${local.region}"


def test_environment_inputs_are_the_environment_roots_literals() -> None:
    assert environment_inputs(INFRA, "staging") == {"environment": "staging", "log_level": "DEBUG"}
    assert environment_inputs(INFRA, "prod") == {"environment": "prod", "log_level": "INFO"}


def test_evaluation_errors_carry_terraforms_message(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))

    with pytest.raises(config.TerraformError, match="api_url is a scheme and host"):
        config.evaluate(copy, {**INPUTS, "api_url": "not a url"})
