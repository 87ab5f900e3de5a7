"""`PLATFORM_*` settings: which adapter acts on the platform, the functions it knows (the
manifest's names and instance bounds), and how long it waits for Google's APIs.

The functions that serve the operator tools (`ops`, `mcp`) get `PLATFORM_FUNCTIONS` from
the manifest (`infra/functions.yaml`): Terraform computes it with `yamldecode`
(modules/runtime_config), `make run` with `infra.manifest`, and a test holds the two to
the same value. A deployed function carries no copy of the manifest itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, state
from shared.core.settings import get_settings


class Bounds(BaseModel):
    """A function's instance bounds in the manifest: scale_function stays within
    0..maxInstances (the capacity model is computed from the manifest's maximum)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    min_instances: int = Field(alias="minInstances", ge=0)
    max_instances: int = Field(alias="maxInstances", ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min_instances > self.max_instances:
            raise ValueError("minInstances is above maxInstances")
        return self


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore", frozen=True)

    adapter: Literal["local", "google"] | None = Field(
        None,
        description=(
            "What the operator tools act on: `google` (Cloud Run Admin, Logging and "
            "Monitoring APIs of GOOGLE_CLOUD_PROJECT) or `local` (the stack `make run` "
            "started). Unset: `local` when ENVIRONMENT is `local` or `test`, else `google`."
        ),
    )
    functions: dict[str, Bounds] = Field(
        default_factory=dict,
        description=(
            'The platform\'s functions and their manifest bounds, as JSON: `{"chat": '
            '{"minInstances": 1, "maxInstances": 40}, ...}`. Terraform and `make run` set '
            "it from infra/functions.yaml for the functions that serve operator tools."
        ),
    )
    region: str | None = Field(
        None, description="Region of the Cloud Run services (the `google` adapter)."
    )
    local_stack_url: str | None = Field(
        None,
        description=(
            "The control endpoint of `make run` (the `local` adapter); the stack sets it. "
            "It answers only the ADMIN_TOKEN bearer."
        ),
    )
    run_endpoint: str | None = Field(
        None,
        description=(
            "Cloud Run Admin API endpoint (REST) instead of Google's, for tests against a "
            "local server; any endpoint set here is called without credentials."
        ),
    )
    logging_endpoint: str | None = Field(
        None, description="Cloud Logging API endpoint (REST) instead of Google's, for tests."
    )
    monitoring_endpoint: str | None = Field(
        None,
        description=(
            "Cloud Monitoring API endpoint (`host:port`, gRPC without TLS) instead of "
            "Google's, for tests."
        ),
    )
    call_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=120,
        description="How long one call to a Google API may take, retries included.",
    )
    rollout_wait_seconds: float = Field(
        90.0,
        ge=0,
        le=600,
        description=(
            "How long restart_function, scale_function and rollback_function wait for the "
            "new revision (or traffic) to be ready before answering that it is still rolling out."
        ),
    )
    rollout_poll_seconds: float = Field(
        2.0, gt=0, le=30, description="How often a change's rollout is read while waiting."
    )

    @property
    def chosen_adapter(self) -> Literal["local", "google"]:
        if self.adapter is not None:
            return self.adapter
        return "local" if get_settings().environment in ("local", "test") else "google"


@state.once
def get_platform_settings() -> PlatformSettings:
    return PlatformSettings()


def known_functions() -> dict[str, Bounds]:
    """The platform's functions and their manifest bounds (`PLATFORM_FUNCTIONS`)."""
    functions = get_platform_settings().functions
    if not functions:
        raise errors.Unprocessable(
            "this function does not know the platform's functions: PLATFORM_FUNCTIONS is "
            "not set (Terraform and `make run` set it from infra/functions.yaml)"
        )
    return functions


def bounds_of(name: str) -> Bounds:
    """The named function's manifest bounds; `NotFound` naming the functions there are."""
    functions = known_functions()
    if name not in functions:
        raise errors.NotFound(
            f"no function named {name[:64]!r}; the platform's functions are "
            f"{', '.join(sorted(functions))}"
        )
    return functions[name]
