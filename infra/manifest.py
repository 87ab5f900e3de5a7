"""The function manifest (`infra/functions.yaml`) as typed objects."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "infra" / "functions.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HttpTrigger(_Strict):
    paths: list[str] = Field(min_length=1)


class PubsubTrigger(_Strict):
    topic: str = Field(min_length=3)


class Trigger(_Strict):
    http: HttpTrigger | None = None
    pubsub: PubsubTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        if (self.http is None) == (self.pubsub is None):
            raise ValueError("a trigger is either http or pubsub")
        return self


class Scaling(_Strict):
    min_instances: int = Field(alias="minInstances", ge=0)
    max_instances: int = Field(alias="maxInstances", ge=1)
    concurrency: int = Field(ge=1, le=1000)
    cpu: str
    memory: str
    timeout_seconds: int = Field(alias="timeoutSeconds", ge=1, le=3600)


class Secret(_Strict):
    env: str
    secret: str


class Entry(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,40}$")
    source: str
    entry_point: str = Field(alias="entryPoint")
    trigger: Trigger
    access: Literal["public", "operators", "pubsub"]
    scaling: Scaling
    secrets: list[Secret] = Field(default_factory=list)
    firestore: list[str] = Field(default_factory=list)
    publishes: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    # Serves the operator tools that read and act on the platform's functions: Terraform
    # grants it the Cloud Run, Logging and Monitoring roles they use
    # (infra/operator_tools.tf) and both Terraform and `make run` give it PLATFORM_FUNCTIONS.
    operator_tools: bool = Field(False, alias="operatorTools")

    @property
    def main_path(self) -> Path:
        return ROOT / self.source / "main.py"

    @property
    def is_http(self) -> bool:
        return self.trigger.http is not None

    @property
    def server_env(self) -> dict[str, str]:
        """How functions-framework's gunicorn serves this entry: one thread per request
        Cloud Run may send an instance at once. `make run`, `make bench` and Terraform
        (modules/runtime_config) all serve it this way; a test holds them together."""
        return {
            "THREADS": str(self.scaling.concurrency),
            "CLOUD_RUN_TIMEOUT_SECONDS": str(self.scaling.timeout_seconds),
        }


class Manifest(_Strict):
    defaults: dict[str, str]
    functions: list[Entry]

    def http_entries(self) -> list[Entry]:
        return [entry for entry in self.functions if entry.is_http]

    def pubsub_entries(self) -> list[Entry]:
        return [entry for entry in self.functions if not entry.is_http]

    def bounds_json(self) -> str:
        """PLATFORM_FUNCTIONS: every function's instance bounds, as Terraform writes it
        (modules/runtime_config: jsonencode, keys sorted)."""
        bounds = {
            entry.name: {
                "maxInstances": entry.scaling.max_instances,
                "minInstances": entry.scaling.min_instances,
            }
            for entry in sorted(self.functions, key=lambda entry: entry.name)
        }
        return json.dumps(bounds, separators=(",", ":"))

    def topics(self) -> list[str]:
        """Every topic something publishes to or listens on."""
        names: set[str] = set()
        for entry in self.functions:
            names.update(entry.publishes)
            if entry.trigger.pubsub is not None:
                names.add(entry.trigger.pubsub.topic)
        return sorted(names)


@cache
def load(path: Path = MANIFEST_PATH) -> Manifest:
    return Manifest.model_validate(yaml.safe_load(path.read_text()))
