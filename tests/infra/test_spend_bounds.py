"""Cloud Armor's per-address throttles and the functions' own bounds come from one source."""

from __future__ import annotations

from shared.core.settings import Settings
from shared.limits.spend import SpendSettings
from tests.infra.terraform_hcl import INFRA, local, one, variables

# Function setting -> the field of var.rate_limits that Cloud Armor enforces too.
SHARED = {
    "SESSION_CREATE_PER_MINUTE": "session_create_per_minute",
    "CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE": "chat_post_per_minute",
}


def test_functions_get_the_cloud_armor_numbers_from_the_same_variable() -> None:
    env = local(INFRA / "modules" / "runtime_config", "common_env")

    for setting, field in SHARED.items():
        assert f"var.rate_limits.{field}" in str(env[setting])


def test_the_defaults_of_terraform_and_of_the_settings_agree() -> None:
    defaults = one(variables(INFRA)["rate_limits"]["default"])

    assert (
        defaults["session_create_per_minute"]
        == Settings.model_fields["session_create_per_minute"].default
    )
    assert (
        defaults["chat_post_per_minute"]
        == SpendSettings.model_fields["chat_messages_per_address_per_minute"].default
    )
