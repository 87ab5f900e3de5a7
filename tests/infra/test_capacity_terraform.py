"""Terraform derives the token meter's shard count from the manifest as the capacity model
does, so raising a maxInstances raises the shards with it (docs/capacity.md)."""

from __future__ import annotations

from infra.manifest import load
from tests.infra.terraform_hcl import INFRA, one, variables
from tests.infra.test_terraform import RUNTIME
from tools import capacity

RUNTIME_CONFIG = INFRA / "modules" / "runtime_config"


def test_every_function_gets_the_shard_count_the_model_derives() -> None:
    expected = str(capacity.token_budget_shards(load()))

    assert {env["CHAT_TOKEN_BUDGET_SHARDS"] for env in RUNTIME.environment_variables.values()} == {
        expected
    }


def test_terraform_and_the_model_plan_with_the_same_run_length_and_key() -> None:
    declared = variables(RUNTIME_CONFIG)

    assert one(declared["model_run_seconds"]["default"]) == capacity.MODEL_RUN_SECONDS
    assert one(declared["model_secret"]["default"]) == capacity.MODEL_SECRET


def test_the_setting_accepts_the_derived_shard_count() -> None:
    from shared.limits.spend import SpendSettings

    shards = capacity.token_budget_shards(load(), 100)
    settings = SpendSettings(chat_token_budget_shards=shards)

    assert settings.chat_token_budget_shards == shards
